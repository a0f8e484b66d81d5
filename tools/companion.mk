# tools/companion.mk - prefault-companion, the separate process that warms the
# page cache for programs a preload cannot enter (static, setuid, running), and
# the static Go programs its tests and benchmark use.
#
#   make                         also builds build/prefault-companion
#   make install                 also installs it in LIBEXECDIR, where prefault finds it
#   make companion-bench         tools/companion/bench $(COMPANION_BENCH_ARGS)
#
# The companion is the library's engine (shim/: table, engine, helpers, advise,
# budget, options, log, stats...) linked into a program of its own, with its own
# main loop and fault reader (procstat.c, registered with the statistics); not
# the hooks, the constructor or discovery.  The objects are the library's own
# ($(BUILD)/shim/*.o, every one of sys, core and work), so a SANITIZE build
# covers the companion too.  Included by the top Makefile; uses its CC, CFLAGS,
# WARN, BUILD, SAN_FLAGS.

COMPANION       := $(BUILD)/prefault-companion
COMPANION_SRC   := $(wildcard tools/companion/*.c)
COMPANION_OBJ   := $(COMPANION_SRC:tools/companion/%.c=$(BUILD)/companion/%.o)
COMPANION_SHIM  := $(call SHIM_LAYER_OBJ,sys core work)
COMPANION_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -Ishim -pthread -D_GNU_SOURCE $(SAN_FLAGS)
COMPANION_BENCH_ARGS ?=

# Static Go programs (CGO_ENABLED=0: LD_PRELOAD never applies to them).
GOSTATIC_ENV    := GOPATH=/usr/share/gocode GO111MODULE=off CGO_ENABLED=0 \
                   GOCACHE=$(abspath $(BUILD))/gocache GOFLAGS=
GOSTATIC_TEST   := $(BUILD)/tests/go-static/coldmap
# gobench's coldread (tools/gobench/coldread.go) built static: the same source
# without its runtime/cgo import, which is only there to make it dynamic.
GOSTATIC_BENCH  := $(BUILD)/companion/coldread-static

.PHONY: install-companion uninstall-companion companion-bench
all: $(COMPANION)
test: $(COMPANION) $(GOSTATIC_TEST)
install: install-companion
uninstall: uninstall-companion

$(BUILD)/companion/%.o: tools/companion/%.c $(wildcard tools/companion/*.h) $(SHIM_HDR) tools/companion.mk
	@mkdir -p $(dir $@)
	$(CC) $(COMPANION_CFLAGS) -MMD -c -o $@ $<

$(COMPANION): $(COMPANION_OBJ) $(COMPANION_SHIM)
	$(CC) $(COMPANION_CFLAGS) $(LDFLAGS) -o $@ $^

-include $(COMPANION_OBJ:.o=.d)

install-companion: $(COMPANION)
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 $(COMPANION) $(DESTDIR)$(LIBEXECDIR)/prefault-companion

uninstall-companion:
	rm -f $(DESTDIR)$(LIBEXECDIR)/prefault-companion

$(GOSTATIC_TEST): $(wildcard tests/go-static/coldmap/*.go) tools/companion.mk
	@mkdir -p $(dir $@)
	$(GOSTATIC_ENV) go build -o $@ ./tests/go-static/coldmap

$(GOSTATIC_BENCH): tools/gobench/coldread.go tools/companion.mk
	@mkdir -p $(BUILD)/companion/coldread-src
	sed '/"runtime\/cgo"/d' tools/gobench/coldread.go > $(BUILD)/companion/coldread-src/coldread.go
	$(GOSTATIC_ENV) go build -o $@ $(BUILD)/companion/coldread-src/coldread.go

companion-bench: $(COMPANION) $(GOSTATIC_BENCH)
	BUILD=$(BUILD) tools/companion/bench $(COMPANION_BENCH_ARGS)
