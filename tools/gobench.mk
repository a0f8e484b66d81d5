# tools/gobench.mk - Go programs built dynamic, so LD_PRELOAD applies to them:
#
#   make gobench                 the Go seed-scenario benchmark (tools/gobench/run)
#   make build/gobench/coldread  its program
#   make build/tests/bbolt.test  bbolt's own test suite as one binary (tests/bbolt.bats)
#
# Go runs in GOPATH mode against Debian's packaged sources (golang-golang-x-sys-dev,
# golang-github-coreos-bbolt-dev). -linkmode=external makes the binaries dynamic
# (a cgo binary built by the Go linker alone would be static and ignore LD_PRELOAD).
# GOBENCH_ARGS passes options to the runner: make gobench GOBENCH_ARGS=--throttle

GO             ?= go
GOBENCH_ENV    := GOPATH=/usr/share/gocode GO111MODULE=off CGO_ENABLED=1 \
                  GOCACHE=$(abspath $(BUILD))/gocache GOFLAGS=
GOBENCH_LDFLAGS := -ldflags=-linkmode=external
GOBENCH_ARGS   ?=
BBOLT_SRC      := /usr/share/gocode/src/go.etcd.io/bbolt

.PHONY: gobench
gobench: $(LIB) $(BUILD)/gobench/coldread
	BUILD=$(BUILD) tools/gobench/run $(GOBENCH_ARGS)

$(BUILD)/gobench/coldread: $(wildcard tools/gobench/*.go) tools/gobench.mk
	@mkdir -p $(dir $@)
	$(GOBENCH_ENV) $(GO) build $(GOBENCH_LDFLAGS) -o $@ ./tools/gobench

$(BUILD)/tests/bbolt.test: $(wildcard $(BBOLT_SRC)/*.go) tools/gobench.mk
	@mkdir -p $(dir $@)
	$(GOBENCH_ENV) $(GO) test -c $(GOBENCH_LDFLAGS) -o $@ go.etcd.io/bbolt
