/*
 * account.c - the budget's account: every charge, every give-back, and the
 * totals (see account.h).
 *
 * Bytes are charged before a read is issued (pf_account_charge_locked),
 * counting only pages already in memory as budget.c counts them; what a
 * read then did not need is taken back (pf_account_not_read_locked), and
 * what a populate step caused the kernel to read is charged too
 * (pf_account_charge_caused_locked).  Each entry carries what it holds
 * (pf_mapping.held); `held` is their sum.  It is given back:
 *  - when the range goes: table.c hands every cut (munmap, MAP_FIXED over,
 *    mremap, discovery finding it gone) to cut_locked, below, which
 *    spreads an entry's share evenly over the range its charges were made
 *    in (start to `ahead`; the whole mapping when followed);
 *  - behind the program in followed mappings (follow.c), and when a
 *    re-measure finds the kernel evicted it (remeasure.c):
 *    pf_account_release_locked.
 *
 * Lock rule: table_lock (table.c) guards `charged`, `held`, `given_back`
 * and every entry's share; they are also stored atomically so that the
 * readers (statistics, pressure.c) need no lock.
 */
#include "core/account.h"
#include "core/budget.h"
#include "core/table.h"

static uint64_t charged;    /* lifetime total, guarded by table_lock */
static uint64_t held;       /* sum of the entries' held, guarded by table_lock */
static uint64_t given_back; /* lifetime total, guarded by table_lock */
static bool hears_cuts;     /* cut_locked is table.c's cut handler; table_lock */

uint64_t pf_account_brought_in(void)
{
	return __atomic_load_n(&charged, __ATOMIC_RELAXED);
}

uint64_t pf_account_held(void)
{
	return __atomic_load_n(&held, __ATOMIC_RELAXED);
}

uint64_t pf_account_given_back(void)
{
	return __atomic_load_n(&given_back, __ATOMIC_RELAXED);
}

bool pf_account_fits_locked(uint64_t bytes)
{
	return held + bytes <= pf_budget_limit();
}

/* Bytes of [x0, x1) within [y0, y1). */
static uint64_t overlap(uintptr_t x0, uintptr_t x1, uintptr_t y0, uintptr_t y1)
{
	uintptr_t a = x0 > y0 ? x0 : y0, b = x1 < y1 ? x1 : y1;
	return b > a ? b - a : 0;
}

/* A followed mapping never has `ahead` (follow.c takes only mappings the
 * whole-mapping way has not started, and keeps its progress in chunks). */
uintptr_t pf_account_charged_end_locked(const struct pf_mapping *m)
{
	/* A remembered mapping's replay charged extents past `ahead`. */
	if (m->ahead && !m->remembered)
		return m->start + m->ahead;
	return m->start + m->len;
}

/* Takes bytes off the total held (guarding against a drift below 0). */
static void unhold_locked(uint64_t bytes)
{
	__atomic_store_n(&held, held > bytes ? held - bytes : 0, __ATOMIC_RELAXED);
}

/* Table.c's cut handler: [a, b) of m (still whole) leaves the table, the
 * part past b, if any, is now `right`.  Gives that range's share of what m
 * held back and splits the rest between m (its part before a) and right. */
static void cut_locked(struct pf_mapping *m, struct pf_mapping *right, uintptr_t a, uintptr_t b)
{
	if (!m->held)
		return;
	uintptr_t s = m->start, e = pf_account_charged_end_locked(m);
	uint64_t span = e - s, total = m->held;
	uint64_t left = (uint64_t)((unsigned __int128)total * overlap(s, a, s, e) / span);
	uint64_t keep = right ? (uint64_t)((unsigned __int128)total * overlap(b, m->start + m->len, s, e) / span) : 0;
	uint64_t gone = total - left - keep;
	m->held = left;
	if (right)
		right->held = keep;
	unhold_locked(gone);
	__atomic_store_n(&given_back, given_back + gone, __ATOMIC_RELAXED);
}

/* The one place an entry comes to hold bytes.  Until then every entry
 * holds nothing and a cut has nothing to give back: the account starts
 * hearing of cuts at its first charge. */
static void hold_locked(struct pf_mapping *m, uint64_t bytes)
{
	if (!hears_cuts) {
		pf_table_set_cut_handler_locked(cut_locked);
		hears_cuts = true;
	}
	__atomic_store_n(&charged, charged + bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&held, held + bytes, __ATOMIC_RELAXED);
	m->held += bytes;
}

bool pf_account_charge_locked(struct pf_mapping *m, uint64_t fresh, uint64_t room)
{
	if (!pf_account_fits_locked(fresh) || fresh > room)
		return false;
	hold_locked(m, fresh);
	return true;
}

void pf_account_charge_caused_locked(struct pf_mapping *m, uint64_t bytes)
{
	hold_locked(m, bytes);
	m->bytes_in += bytes;
	m->caused_ahead += bytes;
}

/* Of `bytes` a step found in memory (or charged and did not read), those
 * the readahead behind earlier populate steps read: charged then, so
 * prefault's own.  Takes them off caused_ahead and returns how many. */
static uint64_t take_caused_locked(struct pf_mapping *m, uint64_t bytes)
{
	uint64_t own = bytes < m->caused_ahead ? bytes : m->caused_ahead;
	m->caused_ahead -= own;
	return own;
}

bool pf_account_charge_step_locked(struct pf_mapping *m, uint64_t fresh, uint64_t there,
				   uint64_t room)
{
	if (!pf_account_charge_locked(m, fresh, room))
		return false;
	m->bytes_in += fresh;
	m->resident_before += there - take_caused_locked(m, there);
	return true;
}

void pf_account_release_locked(struct pf_mapping *m, uint64_t bytes)
{
	if (bytes > m->held)
		bytes = m->held;
	m->held -= bytes;
	unhold_locked(bytes);
	__atomic_store_n(&given_back, given_back + bytes, __ATOMIC_RELAXED);
}

/* A charge of m's was never held nor brought in; was_resident: the bytes
 * were in memory before prefault came (else a charge made twice:
 * caused_ahead). */
static void uncharge_locked(struct pf_mapping *m, uint64_t bytes, bool was_resident)
{
	if (bytes > m->held)
		bytes = m->held;
	m->held -= bytes;
	unhold_locked(bytes);
	__atomic_store_n(&charged, charged > bytes ? charged - bytes : 0, __ATOMIC_RELAXED);
	m->bytes_in -= bytes < m->bytes_in ? bytes : m->bytes_in;
	if (was_resident)
		m->resident_before += bytes;
}

void pf_account_not_read_locked(struct pf_mapping *m, uint64_t over)
{
	uint64_t own = take_caused_locked(m, over);
	uncharge_locked(m, over - own, true);
	uncharge_locked(m, own, false);
}
