# tools/stat.mk - prefault-stat, the page-cache residency of files
# (`prefault stat FILE...`; tools/stat/stat.c).
#
#   make                  also builds build/prefault-stat
#   make install          also installs it beside prefault in BINDIR
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
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(LDFLAGS) -o $@ tools/stat/stat.c

install-stat: $(PREFAULT_STAT)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PREFAULT_STAT) $(DESTDIR)$(BINDIR)/prefault-stat
	install -m 0755 tools/prefault-report $(DESTDIR)$(BINDIR)/prefault-report

uninstall-stat:
	rm -f $(DESTDIR)$(BINDIR)/prefault-stat $(DESTDIR)$(BINDIR)/prefault-report
