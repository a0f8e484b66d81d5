# prefault - build, test and install.
#
#   make                      build/libprefault.so
#   make test                 build everything and run the whole suite (bats)
#   make SANITIZE=address     the same with a sanitizer (address, undefined, thread)
#   make install              PREFIX (/usr/local) and DESTDIR honoured
#   make demo                 cold random reads with and without prefault
#   make bench                benchmarks (see tools/)

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
BINDIR     ?= $(PREFIX)/bin
DESTDIR    ?=
BUILD      ?= build
CC         ?= cc
SANITIZE   ?=

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
CFLAGS     ?= -O2 -g
SHIM_CFLAGS = $(CFLAGS) $(WARN) -std=gnu11 -fPIC -fvisibility=hidden \
              -ftls-model=initial-exec -pthread -D_GNU_SOURCE
LDFLAGS    ?=
SHIM_LDFLAGS = $(LDFLAGS) -shared -pthread -Wl,--version-script=shim/prefault.map \
              -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined
SHIM_LIBS  := -ldl

ifneq ($(SANITIZE),)
SAN_FLAGS  := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
SHIM_CFLAGS  += $(SAN_FLAGS)
# A sanitized preload library leaves the runtime to the program's LD_PRELOAD.
SHIM_LDFLAGS := $(filter-out -Wl$(comma)--no-undefined,$(SHIM_LDFLAGS)) $(SAN_FLAGS)
endif
comma := ,

SHIM_SRC   := $(wildcard shim/*.c)
SHIM_OBJ   := $(SHIM_SRC:shim/%.c=$(BUILD)/shim/%.o)
LIB        := $(BUILD)/libprefault.so

.PHONY: all test install uninstall clean demo bench
all: $(LIB)

$(BUILD)/shim/%.o: shim/%.c $(wildcard shim/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -MMD -c -o $@ $<

$(LIB): $(SHIM_OBJ) shim/prefault.map
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_LDFLAGS) -o $@ $(SHIM_OBJ) $(SHIM_LIBS)

-include $(SHIM_OBJ:.o=.d)

# Test programs, suites, tools and benchmarks keep their rules beside them.
include $(sort $(wildcard tests/*.mk tools/*.mk))

install: $(LIB)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR)
	install -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libprefault.so
	sed -e 's|@LIBDIR@|$(LIBDIR)|' tools/prefault > $(DESTDIR)$(BINDIR)/prefault
	chmod 0755 $(DESTDIR)$(BINDIR)/prefault

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libprefault.so $(DESTDIR)$(BINDIR)/prefault

clean:
	rm -rf $(BUILD)
