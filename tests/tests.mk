# tests/tests.mk - the test programs (tests/progs/*.c -> build/tests/) and
# the bats suites (tests/*.bats).
#
#   make test                          everything, then bats tests/
#   make test BATS_FLAGS='-f budget'   a subset
#   PREFAULT_TEST_DIR=/var/tmp make test   where big files go (a real disk,
#                                      not tmpfs; default: bats' run tmpdir)
#
# tests/docs.bats (--help, README and the man pages agree) and
# tests/install.bats (make install, run from DESTDIR in a mount namespace:
# root) are part of it; tools/package-check (the Debian packages) is not,
# .ci/run runs it after.

BATS        ?= bats
BATS_FLAGS  ?=
TEST_CFLAGS := -Wall -Wextra -Werror -O2 -D_GNU_SOURCE
TEST_PROGS  := $(patsubst tests/progs/%.c,$(BUILD)/tests/%,$(wildcard tests/progs/*.c))

$(BUILD)/tests/%: tests/progs/%.c tests/progs/testlib.h tests/tests.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $<

.PHONY: test-progs
test-progs: $(TEST_PROGS)

test: all $(TEST_PROGS)
	BUILD=$(BUILD) $(BATS) $(BATS_FLAGS) $(filter-out $(TORTURE_SLOW),$(wildcard tests/*.bats))
