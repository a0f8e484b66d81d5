# tests/torture.mk - the torture suites (tests/torture*.bats, issue 7).
#
#   make test       runs the quick ones with the rest of the suite
#                   (tests/torture.bats: every race, process, signal and
#                   resource test at reduced counts, a few seconds each)
#   make torture    tests/torture.bats at full counts, then the slow suite
#                   (tests/torture-ext.bats: valgrind, the ASan order, Go's
#                   os and syscall tests and CPython's test_mmap preloaded)
#
# Counts scale with TORTURE_SCALE (1 in make test, 5 in make torture).

# Suites make test leaves out (tests.mk).
TORTURE_SLOW  := tests/torture-ext.bats
TORTURE_EXTRA := $(BUILD)/tests/torture_ctorlib.so $(BUILD)/tests/slowlock.so

# The interposer that widens every lock a helper takes, or only the one at
# SLOWLOCK_OFFSET (tests/preload/slowlock.c).
$(BUILD)/tests/slowlock.so: tests/preload/slowlock.c tests/torture.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -fPIC -shared -Wl,-soname,slowlock.so $(LDFLAGS) -o $@ $< -ldl

# A library whose constructor maps a file (torture_neigh.c built again).
$(BUILD)/tests/torture_ctorlib.so: tests/progs/torture_neigh.c tests/progs/testlib.h tests/torture.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -DTORTURE_CTORLIB -fPIC -shared -Wl,-soname,torture_ctorlib.so \
		$(LDFLAGS) -o $@ $<

.PHONY: torture
torture: all $(TEST_PROGS) $(TORTURE_EXTRA)
	BUILD=$(BUILD) TORTURE_SCALE=5 $(BATS) $(BATS_FLAGS) tests/torture.bats $(TORTURE_SLOW)

# The FUSE file system that fails every read (libfuse3-dev); its own rule,
# as the library must come after the source.
FUSE3_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null || echo -I/usr/include/fuse3)
$(BUILD)/tests/torture_eiofs: tests/progs/torture_eiofs.c tests/progs/testlib.h tests/torture.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) $(FUSE3_CFLAGS) $(LDFLAGS) -o $@ $< -lfuse3
