/*
 * alloc.h - prefault's own memory for the mapping table (alloc.c).
 *
 * Never malloc: a hook may run inside a signal handler that interrupted
 * malloc.  Memory comes from raw anonymous mmap system calls.  Callers hold
 * table_lock (table.c), which is also what protects the free list here.
 * Failure returns NULL and never ends the program.
 */
#ifndef PF_ALLOC_H
#define PF_ALLOC_H

#include <stddef.h>

void *pf_alloc(size_t size);
void pf_free(void *ptr, size_t size);
/* Test knob: PREFAULT_TEST_ALLOC_FAIL=N makes every Nth allocation fail. */
void pf_alloc_set_failure_rate(unsigned every_nth);

#endif
