# tools/check.mk - prefault-check, which says before anything runs whether
# prefault can take effect on a command here (`prefault --check COMMAND`;
# tools/check/check.c).
#
#   make                  also builds build/prefault-check
#   make install          also installs it in LIBEXECDIR, where prefault finds it
#
# The answers come from the library's own functions, linked from its objects
# ($(BUILD)/shim/*.o, as tools/companion.mk does): Go's note (gonote.o), perf
# mmap records (mapwatch.o), PROCMAP_QUERY (procmap.o), MADV_POPULATE_READ
# (advise.o), the cgroup's read limits (iolimit.o), the settings and the
# budget (options.o, budget.o, pressure.o); the rest is what they need.  Not
# the hooks, the constructor or discovery.  Included by the top Makefile;
# uses its CC, CFLAGS, WARN, BUILD, SAN_FLAGS.

PREFAULT_CHECK      := $(BUILD)/prefault-check
CHECK_OBJ           := $(BUILD)/check/check.o
CHECK_SHIM          := $(call SHIM_LAYER_OBJ,sys core work) \
                       $(addprefix $(BUILD)/shim/lib/,gonote.o mapwatch.o)
CHECK_CFLAGS         = $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -Ishim -pthread -D_GNU_SOURCE $(SAN_FLAGS)

.PHONY: install-check uninstall-check
all: $(PREFAULT_CHECK)
test: $(PREFAULT_CHECK)
install: install-check
uninstall: uninstall-check

$(BUILD)/check/%.o: tools/check/%.c $(SHIM_HDR) tools/check.mk
	@mkdir -p $(dir $@)
	$(CC) $(CHECK_CFLAGS) -MMD -c -o $@ $<

$(PREFAULT_CHECK): $(CHECK_OBJ) $(CHECK_SHIM)
	$(CC) $(CHECK_CFLAGS) $(LDFLAGS) -o $@ $^

-include $(CHECK_OBJ:.o=.d)

install-check: $(PREFAULT_CHECK)
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 $(PREFAULT_CHECK) $(DESTDIR)$(LIBEXECDIR)/prefault-check

uninstall-check:
	rm -f $(DESTDIR)$(LIBEXECDIR)/prefault-check
