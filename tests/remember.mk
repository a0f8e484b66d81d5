# tests/remember.mk - build/tests/remember_store, which drives working-set
# memory's record store for tests/remember.bats.  Unlike the other test
# programs (tests/tests.mk) it links the library's objects: the record
# format (core/remember.o) and the cache directory (sys/cachedir.o), with
# the library's flags and sanitizer.  Included by the top Makefile.

REMEMBER_STORE := $(BUILD)/tests/remember_store
REMEMBER_SHIM  := $(BUILD)/shim/core/remember.o $(BUILD)/shim/sys/cachedir.o

$(REMEMBER_STORE): tests/progs/remember_store.c $(REMEMBER_SHIM) $(SHIM_HDR) tests/remember.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -Ishim -D_GNU_SOURCE $(SAN_FLAGS) $(LDFLAGS) \
	    -o $@ tests/progs/remember_store.c $(REMEMBER_SHIM)
