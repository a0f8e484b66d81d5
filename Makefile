# prefault - build, test and install.
#
#   make                      build/libprefault.so
#   make test                 build everything and run the whole suite (bats)
#   make SANITIZE=address     the same with a sanitizer (address, undefined, thread)
#   make install              into PREFIX (/usr/local), DESTDIR honoured; see below
#   make demo                 cold random reads with and without prefault
#   make bench                benchmarks (see tools/)

# Where `make install` puts things (README, Install).  Only the wrapper goes in
# BINDIR; the programs it runs (prefault-companion, -check, -options, -stat,
# -report) are internal and go in LIBEXECDIR.  Nothing is stripped here:
# packagers strip (dh_strip), and the test suite wants the symbols.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec/prefault
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
DESTDIR    ?=
INSTALL    ?= install
BUILD      ?= build
CC         ?= cc
SANITIZE   ?=

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
CFLAGS     ?= -O2 -g
# CPPFLAGS (e.g. Debian's -D_FORTIFY_SOURCE=2) goes to every C compile, here
# and in tools/*.mk and tests/*.mk.
CPPFLAGS   ?=
SHIM_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -Ishim -fPIC -fvisibility=hidden \
              -ftls-model=initial-exec -pthread -D_GNU_SOURCE
LDFLAGS    ?=
# The library's SONAME.  Nothing links against it (it is preloaded), but a
# shared library in a distribution's library directory carries one, and the
# installed file bears that name: LD_PRELOAD=libprefault.so.0 finds it there.
SONAME     := libprefault.so.0
SHIM_LDFLAGS = $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -pthread -Wl,--version-script=shim/prefault.map \
              -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined
SHIM_LIBS  := -ldl

ifneq ($(SANITIZE),)
SAN_FLAGS  := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
SHIM_CFLAGS  += $(SAN_FLAGS)
# A sanitized preload library leaves the runtime to the program's LD_PRELOAD.
SHIM_LDFLAGS := $(filter-out -Wl$(comma)--no-undefined,$(SHIM_LDFLAGS)) $(SAN_FLAGS)
endif
comma := ,

# The layers (shim/README.md): sys, core and work are what the companion and
# the tools link too; lib is what only the preloaded library has.
SHIM_LAYER_OBJ = $(patsubst shim/%.c,$(BUILD)/shim/%.o,$(wildcard $(addsuffix /*.c,$(addprefix shim/,$(1)))))
SHIM_OBJ   := $(call SHIM_LAYER_OBJ,sys core work lib)
SHIM_HDR   := $(wildcard shim/*/*.h)
LIB        := $(BUILD)/libprefault.so

.PHONY: all test install uninstall clean demo bench
all: $(LIB)

$(BUILD)/shim/%.o: shim/%.c $(SHIM_HDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -MMD -c -o $@ $<

$(LIB): $(SHIM_OBJ) shim/prefault.map
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_LDFLAGS) -o $@ $(SHIM_OBJ) $(SHIM_LIBS)

-include $(SHIM_OBJ:.o=.d)

# Test programs, suites, tools and benchmarks keep their rules beside them.
include $(sort $(wildcard tests/*.mk tools/*.mk))

# The wrapper learns where the library and its helpers are from the
# placeholders install substitutes (tools/prefault, find_library, find_tool);
# the helpers' own rules are in tools/*.mk (install-check, install-companion...).
MAN1       := man/prefault.1 man/prefault-report.1 man/prefault-stat.1
MAN7       := man/libprefault.7

install: $(LIB)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/$(SONAME)
	sed -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|' -e 's|@SONAME@|$(SONAME)|' \
	    tools/prefault > $(DESTDIR)$(BINDIR)/prefault
	chmod 0755 $(DESTDIR)$(BINDIR)/prefault
	$(INSTALL) -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7
	$(INSTALL) -m 0644 tools/prefault.bash-completion $(DESTDIR)$(BASHCOMPDIR)/prefault

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(BINDIR)/prefault \
	    $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7))) \
	    $(DESTDIR)$(BASHCOMPDIR)/prefault
	[ ! -d $(DESTDIR)$(LIBEXECDIR) ] || rmdir --ignore-fail-on-non-empty $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -rf $(BUILD)
