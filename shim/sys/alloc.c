/*
 * alloc.c - a small-object free list over raw anonymous mappings.
 *
 * Blocks of one size (the table entry, the most frequent request) are carved
 * from 64 KiB slabs that are never returned; anything else is one mapping of
 * its own.  Lock rule: every call is made with table_lock held.
 */
#include "sys/alloc.h"
#include "sys/real.h"

#include <stdint.h>
#include <sys/mman.h>

#define SLAB_BYTES (64u * 1024u)
#define SMALL_MAX 1024u

struct free_block {
	struct free_block *next;
};

/* Free lists per 64-byte size class up to SMALL_MAX. */
static struct free_block *free_lists[SMALL_MAX / 64];
static unsigned fail_every;
static unsigned long alloc_calls;

void pf_alloc_set_failure_rate(unsigned every_nth)
{
	fail_every = every_nth;
}

static size_t round_class(size_t size)
{
	return (size + 63u) & ~(size_t)63u;
}

static void *map_anon(size_t size)
{
	void *p = pf_sys_mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int refill(size_t cls)
{
	char *slab = map_anon(SLAB_BYTES);
	if (!slab)
		return -1;
	for (size_t off = 0; off + cls <= SLAB_BYTES; off += cls) {
		struct free_block *b = (struct free_block *)(slab + off);
		b->next = free_lists[cls / 64 - 1];
		free_lists[cls / 64 - 1] = b;
	}
	return 0;
}

void *pf_alloc(size_t size)
{
	if (fail_every && ++alloc_calls % fail_every == 0)
		return NULL;
	if (size == 0)
		size = 1;
	if (size > SMALL_MAX)
		return map_anon(size);
	size_t cls = round_class(size);
	struct free_block **head = &free_lists[cls / 64 - 1];
	if (!*head && refill(cls) < 0)
		return NULL;
	struct free_block *b = *head;
	*head = b->next;
	return b;
}

void pf_free(void *ptr, size_t size)
{
	if (!ptr)
		return;
	if (size == 0)
		size = 1;
	if (size > SMALL_MAX) {
		pf_sys_munmap(ptr, size);
		return;
	}
	size_t cls = round_class(size);
	struct free_block *b = ptr;
	b->next = free_lists[cls / 64 - 1];
	free_lists[cls / 64 - 1] = b;
}
