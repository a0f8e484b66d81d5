# tools/options.mk - prefault-options, the library's own parser of the
# PREFAULT_* values as a program, which the wrapper asks before it exports
# its options (tools/options/validate.c).
#
#   make                  also builds build/prefault-options
#   make install          also installs it in LIBEXECDIR, where prefault finds it
#
# Links the library's objects options.o, log.o and dest.o ($(BUILD)/shim/*.o,
# as tools/check.mk does).  Included by the top Makefile; uses its CC, CFLAGS,
# WARN, BUILD, SAN_FLAGS.

PREFAULT_OPTIONS   := $(BUILD)/prefault-options
OPTIONS_OBJ        := $(BUILD)/options/validate.o
OPTIONS_SHIM       := $(addprefix $(BUILD)/shim/,core/options.o core/log.o sys/dest.o)
OPTIONS_CFLAGS      = $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -Ishim -pthread -D_GNU_SOURCE $(SAN_FLAGS)

.PHONY: install-options uninstall-options
all: $(PREFAULT_OPTIONS)
test: $(PREFAULT_OPTIONS)
install: install-options
uninstall: uninstall-options

$(BUILD)/options/%.o: tools/options/%.c $(SHIM_HDR) tools/options.mk
	@mkdir -p $(dir $@)
	$(CC) $(OPTIONS_CFLAGS) -MMD -c -o $@ $<

$(PREFAULT_OPTIONS): $(OPTIONS_OBJ) $(OPTIONS_SHIM)
	$(CC) $(OPTIONS_CFLAGS) $(LDFLAGS) -o $@ $^

-include $(OPTIONS_OBJ:.o=.d)

install-options: $(PREFAULT_OPTIONS)
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 $(PREFAULT_OPTIONS) $(DESTDIR)$(LIBEXECDIR)/prefault-options

uninstall-options:
	rm -f $(DESTDIR)$(LIBEXECDIR)/prefault-options
