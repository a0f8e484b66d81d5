# tools/stat.mk - prefault-stat, the page-cache residency of files
# (`prefault stat FILE...`; tools/stat/stat.c).
#
#   make                  also builds build/prefault-stat
#   make install          also installs it in LIBEXECDIR, where prefault finds it
#
# Included by the top Makefile; uses its CC, CFLAGS, WARN, BUILD.

PREFAULT_STAT := $(BUILD)/prefault-stat

.PHONY: install-stat uninstall-stat
all: $(PREFAULT_STAT)
test: $(PREFAULT_STAT)
install: install-stat
uninstall: uninstall-stat

$(PREFAULT_STAT): tools/stat/stat.c tools/stat.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(LDFLAGS) -o $@ tools/stat/stat.c

install-stat: $(PREFAULT_STAT)
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 $(PREFAULT_STAT) $(DESTDIR)$(LIBEXECDIR)/prefault-stat
	$(INSTALL) -m 0755 tools/prefault-report $(DESTDIR)$(LIBEXECDIR)/prefault-report

uninstall-stat:
	rm -f $(DESTDIR)$(LIBEXECDIR)/prefault-stat $(DESTDIR)$(LIBEXECDIR)/prefault-report
