# tests/go-diag.mk - the Go program of tests/diag.bats (tests/go-diag/NAME/
# -> build/tests/go-diag/NAME), built like tests/go.mk's: GOPATH mode, cgo
# and the external linker, so the binary is dynamic and LD_PRELOAD applies.
#
#   make test-go-diag

GODIAG_NAMES := $(patsubst tests/go-diag/%/main.go,%,$(wildcard tests/go-diag/*/main.go))
GODIAG_PROGS := $(GODIAG_NAMES:%=$(BUILD)/tests/go-diag/%)

$(BUILD)/tests/go-diag/%: tests/go-diag/%/main.go tests/go-diag.mk
	@mkdir -p $(dir $@)
	GOPATH=/usr/share/gocode GO111MODULE=off CGO_ENABLED=1 GOCACHE=$(abspath $(BUILD))/gocache GOFLAGS= \
		$(or $(GO),go) build -ldflags=-linkmode=external -o $@ ./tests/go-diag/$*

.PHONY: test-go-diag
test-go-diag: $(GODIAG_PROGS)

test: $(GODIAG_PROGS)
