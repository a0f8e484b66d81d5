# tools/supervise.mk - prefault-supervise, which `prefault --stats PATH` execs:
# it runs the command in its own process (same pid) and leaves a watcher that
# sums the statistics up on stderr when that process ends
# (tools/supervise/supervise.c).
#
#   make                  also builds build/prefault-supervise
#   make install          also installs it in LIBEXECDIR, where prefault finds it
#
# Included by the top Makefile; uses its CC, CPPFLAGS, CFLAGS, WARN, BUILD, SAN_FLAGS.

PREFAULT_SUPERVISE := $(BUILD)/prefault-supervise

.PHONY: install-supervise uninstall-supervise
all: $(PREFAULT_SUPERVISE)
test: $(PREFAULT_SUPERVISE)
install: install-supervise
uninstall: uninstall-supervise

$(PREFAULT_SUPERVISE): tools/supervise/supervise.c tools/supervise.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(SAN_FLAGS) $(LDFLAGS) -o $@ tools/supervise/supervise.c

install-supervise: $(PREFAULT_SUPERVISE)
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 $(PREFAULT_SUPERVISE) $(DESTDIR)$(LIBEXECDIR)/prefault-supervise

uninstall-supervise:
	rm -f $(DESTDIR)$(LIBEXECDIR)/prefault-supervise
