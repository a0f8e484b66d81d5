/*
 * prior.c - pages in memory before prefault read them, passed by when
 * populating (see prior.h).  The notes are a ring of bits, a page each,
 * indexed by the page's offset in the mapping modulo the span.
 *
 * Lock rule: none; the ring is thread-local (each helper its own), the
 * total an atomic.
 */
#include "work/prior.h"
#include "sys/advise.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SPAN_PAGES 8192u  /* 32 MiB of 4 KiB pages, in 1 KiB of bits */
#define VEC_PAGES 512u

static __thread unsigned char ring[SPAN_PAGES / 8];
static uint64_t passed_total; /* atomic: bytes passed by */

size_t pf_prior_span(void)
{
	return SPAN_PAGES * (size_t)sysconf(_SC_PAGESIZE);
}

static void set_bit(size_t pg, bool on)
{
	size_t b = pg % SPAN_PAGES;
	if (on)
		ring[b / 8] |= (unsigned char)(1u << (b % 8));
	else
		ring[b / 8] &= (unsigned char)~(1u << (b % 8));
}

static bool bit(size_t pg)
{
	size_t b = pg % SPAN_PAGES;
	return ring[b / 8] & (1u << (b % 8));
}

void pf_prior_note(uintptr_t base, size_t off, size_t len)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char vec[VEC_PAGES];
	for (size_t o = 0; o < len; o += VEC_PAGES * page) {
		size_t n = len - o < VEC_PAGES * page ? len - o : VEC_PAGES * page;
		size_t pages = (n + page - 1) / page;
		if (mincore((void *)(base + off + o), n, vec) != 0)
			memset(vec, 0, pages);
		for (size_t i = 0; i < pages; i++)
			set_bit((off + o) / page + i, vec[i] & 1);
	}
}

/* Is every page of [base+from, base+to) in memory?  Looked at in small
 * pieces, stopping at the first page that is not: behind a step that is
 * usually the window's reads in flight, found at once.  A look at all of
 * the reach (4096 pages at read_ahead_kb 8192) before every step that
 * passed a page by slowed the helper enough that the throttled random reads
 * (tools/bench/run) took 2.7-5.1 s against 2.3-2.4 s.  What was found in
 * memory is remembered, so a file wholly in memory is looked at once. */
static bool in_memory(uintptr_t base, size_t from, size_t to)
{
	static __thread uintptr_t seen_base;
	static __thread size_t seen_from, seen_to; /* all in memory */
	if (seen_base == base && seen_from <= from && seen_to > from)
		from = seen_to;
	else
		seen_from = from;
	seen_base = base;
	if (from >= to) {
		seen_to = from;
		return true;
	}
	size_t got = pf_resident_prefix(base + from, to - from);
	seen_to = from + got;
	return got == to - from;
}

uint64_t pf_prior_passed(void)
{
	return __atomic_load_n(&passed_total, __ATOMIC_RELAXED);
}

int pf_prior_populate(uintptr_t base, size_t off, size_t len, size_t map_len, size_t reach,
		      size_t *passed)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t first = off / page, pages = (len + page - 1) / page, i = 0;
	*passed = 0;
	while (i < pages && !bit(first + i))
		i++;
	if (i == pages)
		return pf_advise_populate(base + off, len);
	size_t end = off + len;
	size_t after = map_len - end < reach ? map_len - end : reach;
	if (!after || in_memory(base, end, end + after))
		return pf_advise_populate(base + off, len);

	int err = 0;
	for (i = 0; i < pages;) {
		bool prior = bit(first + i);
		size_t from = i;
		while (i < pages && bit(first + i) == prior)
			i++;
		size_t a = off + from * page, b = off + i * page < end ? off + i * page : end;
		if (prior) {
			*passed += b - a;
		} else {
			int e = pf_advise_populate(base + a, b - a);
			if (e && !err)
				err = e;
		}
	}
	if (*passed)
		__atomic_add_fetch(&passed_total, (uint64_t)*passed, __ATOMIC_RELAXED);
	return err;
}

void pf_prior_finish(uintptr_t base, size_t len)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char vec[VEC_PAGES];
	for (size_t o = 0; o < len; o += VEC_PAGES * page) {
		size_t n = len - o < VEC_PAGES * page ? len - o : VEC_PAGES * page;
		size_t pages = (n + page - 1) / page;
		if (mincore((void *)(base + o), n, vec) != 0)
			return; /* unmapped meanwhile */
		for (size_t i = 0; i < pages;) {
			while (i < pages && !(vec[i] & 1))
				i++;
			size_t from = i;
			while (i < pages && (vec[i] & 1))
				i++;
			if (i > from) {
				size_t b = i * page < n ? i * page : n;
				if (pf_advise_populate(base + o + from * page, b - from * page) == ENOMEM)
					return;
			}
		}
	}
}
