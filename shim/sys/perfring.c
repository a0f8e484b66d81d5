/*
 * perfring.c - the reader of a perf ring buffer (see perfring.h).  No state,
 * no lock.
 */
#include "sys/perfring.h"

#include <string.h>

void pf_perfring_begin(struct pf_perfring *r, struct perf_event_mmap_page *meta)
{
	r->meta = meta;
	r->data = (const unsigned char *)meta + meta->data_offset;
	r->size = meta->data_size;
	r->head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	r->tail = meta->data_tail;
	r->at = r->tail;
}

bool pf_perfring_next(struct pf_perfring *r, struct perf_event_header *h)
{
	if (r->tail >= r->head)
		return false;
	r->at = r->tail;
	pf_perfring_copy(r, 0, h, sizeof *h);
	if (h->size < sizeof *h)
		return false; /* cannot happen; never loop on it */
	r->tail += h->size;
	return true;
}

void pf_perfring_copy(const struct pf_perfring *r, size_t off, void *dst, size_t len)
{
	size_t at = (size_t)((r->at + off) % r->size);
	size_t first = r->size - at < len ? (size_t)(r->size - at) : len;
	memcpy(dst, r->data + at, first);
	memcpy((char *)dst + first, r->data, len - first);
}

void pf_perfring_end(struct pf_perfring *r)
{
	/* The head, not the tail: a malformed record is dropped with the
	 * rest rather than read again at every drain. */
	__atomic_store_n(&r->meta->data_tail, r->head, __ATOMIC_RELEASE);
}
