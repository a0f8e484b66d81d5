# tests/gomodes.mk - one Go program built every way Go makes a dynamic
# program, for tests/gomodes.bats (tests/go-modes/ -> build/tests/go-modes/):
#
#   internal   netmmap, CGO_ENABLED=1, cgo only through "net": Go links it
#              itself (NEEDED libc.so.6, no x_cgo_init in the dynamic symbols)
#   external   netmmap, -ldflags=-linkmode=external (x_cgo_init exported)
#   pie        netmmap, -buildmode=pie (ELF type DYN)
#   cshared    a C program (cshared/main.c) calling libgocold.so
#              (cshared/golib, -buildmode=c-shared) through its rpath
#
#   make test-gomodes
#
# GOPATH mode against Debian's packaged sources, as tests/go.mk; the programs
# share tests/go/gotest.

GOMODES_ENV  := GOPATH=/usr/share/gocode GO111MODULE=off CGO_ENABLED=1 \
                GOCACHE=$(abspath $(BUILD))/gocache GOFLAGS=
GOMODES_DIR  := $(BUILD)/tests/go-modes
GOMODES_DEPS := $(wildcard tests/go/gotest/*.go) tests/gomodes.mk
GOMODES_NET  := $(wildcard tests/go-modes/netmmap/*.go) $(GOMODES_DEPS)
GOMODES_PROGS := $(GOMODES_DIR)/internal $(GOMODES_DIR)/external $(GOMODES_DIR)/pie \
                 $(GOMODES_DIR)/cshared

$(GOMODES_DIR)/internal: $(GOMODES_NET)
	@mkdir -p $(dir $@)
	$(GOMODES_ENV) $(or $(GO),go) build -o $@ ./tests/go-modes/netmmap

$(GOMODES_DIR)/external: $(GOMODES_NET)
	@mkdir -p $(dir $@)
	$(GOMODES_ENV) $(or $(GO),go) build -ldflags=-linkmode=external -o $@ ./tests/go-modes/netmmap

$(GOMODES_DIR)/pie: $(GOMODES_NET)
	@mkdir -p $(dir $@)
	$(GOMODES_ENV) $(or $(GO),go) build -buildmode=pie -o $@ ./tests/go-modes/netmmap

# go build writes libgocold.h beside the library.
$(GOMODES_DIR)/libgocold.so: $(wildcard tests/go-modes/cshared/golib/*.go) $(GOMODES_DEPS)
	@mkdir -p $(dir $@)
	$(GOMODES_ENV) $(or $(GO),go) build -buildmode=c-shared -o $@ ./tests/go-modes/cshared/golib

$(GOMODES_DIR)/cshared: tests/go-modes/cshared/main.c $(GOMODES_DIR)/libgocold.so
	$(CC) $(CPPFLAGS) -Wall -Wextra -Werror -O2 $(LDFLAGS) -I$(GOMODES_DIR) -o $@ $< \
		-L$(GOMODES_DIR) -lgocold -Wl,-rpath,'$$ORIGIN'

.PHONY: test-gomodes
test-gomodes: $(GOMODES_PROGS)

test: $(GOMODES_PROGS)
