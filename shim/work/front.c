/*
 * front.c - seeing where the program reads in a followed mapping, without
 * slowing it: the sentinel blocks (front.h) and /proc/self/pagemap.
 *
 * Design: prefault maps in every page it reads ahead except one aligned
 * 64 KiB block per 1 MiB chunk.  Those sentinel pages are in the page cache
 * (MADV_WILLNEED read them) but not in the page table, so the program's
 * first touch of one is a minor fault (no I/O) that the kernel's
 * fault-around settles for the block, and pagemap's present bit records
 * it.  Reading one pagemap word costs a pread (~0.5-2 us): a poll reads one
 * word past each front, and the discovery scan goes over every chunk once
 * per SCAN_CHUNK_NS a chunk (within SCAN_PERIOD_MIN_NS..SCAN_PERIOD_NS:
 * 41 ms for 1 GiB) while fronts move or prefault reads (SCAN_IDLE_NS
 * otherwise), spread over the polls.  A front that starts where prefault
 * has read nothing waits for that scan, reading on its own meanwhile.  A sentinel can also vanish under the
 * program (a large folio reclaimed whole when prefault paged out the chunk
 * before), and the kernel maps a 2 MiB page-cache folio whole (one PMD)
 * when prefault maps part of it, sentinels included: such a chunk is blind
 * (follow.c sees its sentinel appear as it maps the chunk in).  A front
 * that has moved passes a blind chunk when one of the next SKIP_SPAN chunks
 * that can see is touched.
 *
 * A front is the end of a run of at least RUN_MIN touched chunks whose next
 * chunk is untouched; it advances while the next sentinel is present.  One
 * chunk is enough to see one: follow.c serves it as a candidate until it
 * has moved, and waiting for a longer run cost a scan that starts where
 * prefault has read nothing several MiB of its own reading.  A
 * touched chunk with both neighbours untouched is isolated: many of them
 * mean random access, and the mapping then has no fronts (sticky).  A front
 * that has not moved for STALE_NS is retired.
 *
 * Lock rule: the slots are claimed and freed under table_lock; a state in
 * use belongs to the helper that has its entry PF_ACTIVE, which polls and
 * changes it without any lock.
 */
#include "work/front.h"
#include "sys/pagemap.h"
#include "sys/alloc.h"
#include "sys/real.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_FOLLOWED 16
#define SCAN_MIN 16
#define SCAN_PERIOD_NS (200ll * 1000000ll)
#define SCAN_PERIOD_MIN_NS (40ll * 1000000ll)
#define SCAN_CHUNK_NS (40ll * 1000ll)
#define SCAN_IDLE_NS (1000ll * 1000000ll)
#define SKIP_SPAN 3
#define RUN_MIN 1
#define STALE_NS (3ll * 1000000000ll)
#define RANDOM_ISOLATED 8

static struct pf_follow slots[MAX_FOLLOWED];

struct pf_follow *pf_front_find_locked(uintptr_t start, uint64_t id)
{
	for (int i = 0; i < MAX_FOLLOWED; i++)
		if (slots[i].id == id && slots[i].start == start && id)
			return &slots[i];
	return NULL;
}

struct pf_follow *pf_front_new_locked(uintptr_t start, uint64_t id, size_t len)
{
	for (int i = 0; i < MAX_FOLLOWED; i++) {
		struct pf_follow *f = &slots[i];
		if (f->id)
			continue;
		size_t n = (len + PF_CHUNK - 1) / PF_CHUNK;
		size_t bytes = (n * sizeof(uint32_t) + 4095) & ~(size_t)4095;
		void *p = pf_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		memset(f, 0, sizeof *f);
		f->start = start;
		f->id = id;
		f->len = len;
		f->nchunks = n;
		f->chunk = p;
		f->chunk_bytes = bytes;
		return f;
	}
	return NULL;
}

void pf_front_free_locked(struct pf_follow *f)
{
	if (f->chunk)
		pf_sys_munmap(f->chunk, f->chunk_bytes);
	memset(f, 0, sizeof *f);
}

int64_t pf_front_sweep_locked(bool (*exists)(uintptr_t, uint64_t))
{
	int64_t due = 0;
	for (int i = 0; i < MAX_FOLLOWED; i++) {
		struct pf_follow *f = &slots[i];
		if (!f->id)
			continue;
		if (!exists(f->start, f->id)) {
			pf_front_free_locked(f);
			continue;
		}
		if (!due || f->next_poll_ns < due)
			due = f->next_poll_ns ? f->next_poll_ns : 1;
	}
	return due;
}

bool pf_front_sentinel(const struct pf_follow *f, size_t c, uintptr_t *a, uintptr_t *b)
{
	uintptr_t base = f->start + c * PF_CHUNK;
	uintptr_t end = c + 1 == f->nchunks ? f->start + f->len : base + PF_CHUNK;
	uintptr_t s = (base + PF_SENTINEL - 1) & ~(uintptr_t)(PF_SENTINEL - 1);
	if (s + PF_SENTINEL > end)
		return false;
	*a = s;
	*b = s + PF_SENTINEL;
	return true;
}

bool pf_front_touched_now(int fd, const struct pf_follow *f, size_t c)
{
	uintptr_t a, b;
	uint64_t e;
	if (!pf_front_sentinel(f, c, &a, &b))
		return false;
	return pf_pagemap_read(fd, a, &e, 1) == 1 && (e & PF_PM_PRESENT);
}

static bool touched(const struct pf_follow *f, size_t c)
{
	return c < f->nchunks && (f->chunk[c] & PF_CH_TOUCHED);
}

/* One of the SKIP_SPAN chunks after c is touched (the program is past c). */
static bool seen_after(int fd, struct pf_follow *f, size_t c)
{
	for (size_t k = c + 1; k < f->nchunks && k <= c + SKIP_SPAN; k++) {
		if (f->chunk[k] & PF_CH_TOUCHED)
			return true;
		if (f->chunk[k] & PF_CH_BLIND)
			continue;
		if (!(f->chunk[k] & PF_CH_DROPPED) && pf_front_touched_now(fd, f, k)) {
			f->chunk[k] |= PF_CH_TOUCHED;
			return true;
		}
	}
	return false;
}

static void add_front(struct pf_follow *f, size_t pos, int64_t now)
{
	for (unsigned i = 0; i < f->nfronts; i++)
		if (f->front[i].pos == pos)
			return;
	unsigned slot = f->nfronts;
	if (slot == PF_FRONTS) {
		slot = 0;
		for (unsigned i = 1; i < f->nfronts; i++)
			if (f->front[i].t_moved < f->front[slot].t_moved)
				slot = i;
	} else {
		f->nfronts++;
	}
	struct pf_front *fr = &f->front[slot];
	memset(fr, 0, sizeof *fr);
	fr->pos = fr->origin = pos;
	fr->t_seen = fr->t_moved = now;
	fr->lead_min = -1;
	size_t c = pos / PF_CHUNK;
	while (c > 0 && touched(f, c - 1))
		c--;
	fr->drop_next = c;
	fr->run_from = c * PF_CHUNK;
}

static void drop_front(struct pf_follow *f, unsigned i)
{
	f->front[i] = f->front[--f->nfronts];
}

long pf_front_poll(struct pf_follow *f, int64_t now)
{
	int fd = pf_pagemap_open();
	if (fd < 0)
		return -1;
	long newly = 0;
	uintptr_t a, b;

	for (unsigned i = 0; i < f->nfronts; i++) {
		struct pf_front *fr = &f->front[i];
		size_t c = fr->pos / PF_CHUNK, c0 = c;
		while (c < f->nchunks) {
			if (!(f->chunk[c] & PF_CH_TOUCHED)) {
				/* Only a blind chunk may be passed unseen, and only by a
				 * front that has moved on its own: random touches must
				 * not carry a front along. */
				bool blind = f->chunk[c] & PF_CH_BLIND;
				bool moved = fr->pos - fr->origin >= 2 * PF_CHUNK;
				if (pf_front_sentinel(f, c, &a, &b) &&
				    (blind ? !moved || !seen_after(fd, f, c) : !pf_front_touched_now(fd, f, c)))
					break;
				f->chunk[c] |= PF_CH_TOUCHED;
				newly++;
			}
			c++;
		}
		if (c > c0) {
			double dt = (double)(now - fr->t_moved) / 1e9;
			double inst = dt > 0 ? (double)((c - c0) * PF_CHUNK) / dt : 0;
			fr->rate = fr->rate > 0 ? 0.7 * fr->rate + 0.3 * inst : inst;
			fr->pos = c * PF_CHUNK < f->len ? c * PF_CHUNK : f->len;
			fr->t_moved = now;
			f->last_busy_ns = now;
		}
	}

	int64_t busy = (int64_t)f->nchunks * SCAN_CHUNK_NS;
	busy = busy < SCAN_PERIOD_MIN_NS ? SCAN_PERIOD_MIN_NS : busy > SCAN_PERIOD_NS ? SCAN_PERIOD_NS : busy;
	int64_t period = now - f->last_busy_ns < SCAN_IDLE_NS ? busy : SCAN_IDLE_NS;
	int64_t dt = f->last_scan_ns ? now - f->last_scan_ns : period;
	size_t scan = (size_t)((double)f->nchunks * (double)(dt < period ? dt : period) / (double)period);
	f->last_scan_ns = now;
	if (scan < SCAN_MIN)
		scan = SCAN_MIN;
	if (scan > f->nchunks)
		scan = f->nchunks;
	for (size_t k = 0; k < scan; k++) {
		size_t c = f->scan_next;
		f->scan_next = (f->scan_next + 1) % f->nchunks;
		uint32_t w = f->chunk[c];
		if (w & PF_CH_PAGEDOUT) {
			/* The program is back in what was paged out behind it. */
			if (pf_front_touched_now(fd, f, c)) {
				f->retouched++;
				f->no_drop = true;
				f->chunk[c] &= ~PF_CH_PAGEDOUT;
			}
			continue;
		}
		if (w & (PF_CH_DROPPED | PF_CH_BLIND))
			continue;
		if (!(w & PF_CH_TOUCHED) && pf_front_touched_now(fd, f, c)) {
			f->chunk[c] |= PF_CH_TOUCHED;
			newly++;
		}
	}
	close(fd);

	/* Runs, isolated chunks, new fronts. */
	size_t touched_total = 0, run = 0;
	unsigned isolated = 0;
	for (size_t c = 0; c < f->nchunks; c++) {
		if (!touched(f, c)) {
			run = 0;
			continue;
		}
		touched_total++;
		run++;
		bool next = touched(f, c + 1);
		if (run == 1 && !next)
			isolated++;
		if (!f->random && run >= RUN_MIN && !next && c + 1 < f->nchunks)
			add_front(f, (c + 1) * PF_CHUNK, now);
	}
	f->isolated = isolated;
	if (isolated >= RANDOM_ISOLATED && isolated * 4 >= touched_total) {
		f->random = true;
		f->nfronts = 0;
	}
	for (unsigned i = 0; i < f->nfronts;) {
		struct pf_front *fr = &f->front[i];
		bool dup = false;
		for (unsigned k = 0; k < i; k++)
			dup |= f->front[k].pos == fr->pos;
		if (dup || fr->pos >= f->len || now - fr->t_moved > STALE_NS)
			drop_front(f, i);
		else
			i++;
	}
	return newly;
}
