/*
 * remeasure.c - the budget is spent: what the largest holders still have
 * in memory is measured again, and what the kernel evicted leaves the
 * account (see remeasure.h).
 *
 * One helper measures at a time (the claim, `remeasuring`), at most every
 * REMEASURE_NS across helpers, the REMEASURE_MAX entries that hold the
 * most.  Only what was held when measured is given back: charges made
 * since are beyond the span measured.
 *
 * Lock rule: the claim and the time of the last measure are atomics;
 * table_lock is taken to choose the entries and to give back, never
 * across the measure (mincore, a pagemap read).
 */
#include "work/remeasure.h"
#include "core/account.h"
#include "core/budget.h"
#include "work/front.h"
#include "sys/clock.h"
#include "core/table.h"

#include <string.h>
#include <unistd.h>

#define REMEASURE_NS (200ll * 1000000ll)
#define REMEASURE_MAX 16

static int64_t last_remeasure_ns; /* atomic, set by the one measuring */
static int remeasuring;           /* atomic: a helper is measuring (the claim) */

bool pf_remeasure_running(void)
{
	return __atomic_load_n(&remeasuring, __ATOMIC_ACQUIRE);
}

int64_t pf_remeasure(uintptr_t own_start, uint64_t own_id)
{
	int idle = 0;
	if (!__atomic_compare_exchange_n(&remeasuring, &idle, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return -1;
	int64_t now = pf_now_ns(), was = __atomic_load_n(&last_remeasure_ns, __ATOMIC_RELAXED);
	if (was && now - was < REMEASURE_NS) {
		__atomic_store_n(&remeasuring, 0, __ATOMIC_RELEASE);
		return -1;
	}
	__atomic_store_n(&last_remeasure_ns, now, __ATOMIC_RELAXED);
	struct { /* ~9 KiB of the helper's 256 KiB stack */
		uintptr_t start;
		uint64_t id, held;
		size_t span;
		dev_t dev;
		ino_t ino;
		char path[PF_PATH_MAX];
	} c[REMEASURE_MAX];
	unsigned n = 0;
	pf_table_lock();
	for (struct pf_mapping *m = pf_table_head_locked(); m; m = m->hh.next) {
		if (!m->held || pf_front_find_locked(m->start, m->id))
			continue;
		if (m->state == PF_ACTIVE && !(m->start == own_start && m->id == own_id))
			continue;
		/* Keep the REMEASURE_MAX largest holders. */
		unsigned k = n;
		if (n == REMEASURE_MAX) {
			k = 0;
			for (unsigned i = 1; i < n; i++)
				if (c[i].held < c[k].held)
					k = i;
			if (c[k].held >= m->held)
				continue;
		} else {
			n++;
		}
		c[k].start = m->start;
		c[k].id = m->id;
		c[k].held = m->held;
		c[k].span = pf_account_charged_end_locked(m) - m->start;
		c[k].dev = m->dev;
		c[k].ino = m->ino;
		memcpy(c[k].path, m->path, sizeof c[k].path);
	}
	pf_table_unlock();

	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t freed = 0;
	for (unsigned i = 0; i < n; i++) {
		long res = pf_count_resident(pf_count_mode(c[i].path, c[i].dev, c[i].ino), c[i].start,
					     c[i].span);
		if (res < 0)
			continue; /* gone: its cut gives it back */
		uint64_t there = (uint64_t)res * page;
		if (there >= c[i].held)
			continue;
		/* Only what was held when measured: charges made since are
		 * beyond the span measured. */
		pf_table_lock();
		struct pf_mapping *m = pf_table_find_locked(c[i].start, c[i].id);
		if (m) {
			uint64_t r = c[i].held - there;
			if (r > m->held)
				r = m->held;
			pf_account_release_locked(m, r);
			freed += r;
		}
		pf_table_unlock();
	}
	__atomic_store_n(&remeasuring, 0, __ATOMIC_RELEASE);
	return (int64_t)freed;
}
