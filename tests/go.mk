# tests/go.mk - the Go test programs (tests/go/NAME/ -> build/tests/go/NAME)
# for tests/go.bats: real Go programs that map files with raw system calls.
#
#   make test-go    build them
#
# GOPATH mode against Debian's packaged sources (golang-golang-x-sys-dev,
# golang-github-coreos-bbolt-dev); cgo and the external linker make them
# dynamic, so LD_PRELOAD applies (a Go binary built without cgo is static).
# tests/go/gotest is the package they share, not a program.

GO            ?= go
GOTEST_ENV    := GOPATH=/usr/share/gocode GO111MODULE=off CGO_ENABLED=1 \
                 GOCACHE=$(abspath $(BUILD))/gocache GOFLAGS=
GOTEST_NAMES  := $(filter-out gotest,$(patsubst tests/go/%/main.go,%,$(wildcard tests/go/*/main.go)))
GOTEST_PROGS  := $(GOTEST_NAMES:%=$(BUILD)/tests/go/%)

$(BUILD)/tests/go/%: tests/go/%/main.go $(wildcard tests/go/gotest/*.go) tests/go.mk
	@mkdir -p $(dir $@)
	$(GOTEST_ENV) $(GO) build -ldflags=-linkmode=external -o $@ ./tests/go/$*

.PHONY: test-go
test-go: $(GOTEST_PROGS)

test: $(GOTEST_PROGS)

# Discovery's delays and idle cost, measured (a benchmark, not a test).
.PHONY: discbench
discbench: all $(BUILD)/tests/go/discbench
	tools/discbench/run
