/*
 * charge.c - a read charged to the budget, cut to what was read (see
 * charge.h).  The account's rules (what fits, what counts as whose) are
 * account.c's; this is the order of the steps around the read.
 *
 * Lock rule: table_lock is taken to charge and to cut, never across the
 * count (mincore, a pagemap read), the reads or a /proc read; the entry is
 * found again by start and id each time.
 */
#include "work/charge.h"
#include "core/account.h"
#include "core/table.h"
#include "core/progwait.h"
#include "sys/procfs.h"

#include <unistd.h>

/* Takes table_lock; returns the entry, or NULL (and the lock dropped). */
static struct pf_mapping *lock_entry(const struct pf_charge *c)
{
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(c->start, c->id);
	if (!m)
		pf_table_unlock();
	return m;
}

enum pf_charge_result pf_charge_read(struct pf_charge *c)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	c->fresh = 0;
	long res = pf_count_resident(c->count, c->addr, c->len);
	if (res < 0)
		return PF_CHARGE_GONE;
	uint64_t fresh = (uint64_t)((c->len + page - 1) / page - (size_t)res) * page;
	struct pf_mapping *m = lock_entry(c);
	if (!m)
		return PF_CHARGE_GONE;
	if (!pf_account_charge_step_locked(m, fresh, (uint64_t)res * page, c->room)) {
		pf_table_unlock();
		return PF_CHARGE_NO_BUDGET;
	}
	if (c->ahead)
		m->ahead = c->ahead;
	if (c->rec)
		pf_done_snapshot_locked(c->rec, m);
	pf_table_unlock();
	c->fresh = fresh;
	if (!fresh)
		return PF_CHARGE_READ;

	if (!c->count_reads) {
		c->read(c, fresh);
		return PF_CHARGE_READ;
	}
	int64_t rb0 = pf_thread_read_bytes();
	c->read(c, fresh);
	int64_t rb1 = rb0 >= 0 ? pf_thread_read_bytes() : -1;
	pf_progwait_own_read(rb1);
	c->read_bytes = rb0 >= 0 && rb1 >= rb0 ? rb1 : -1;
	if (c->read_bytes < 0)
		return PF_CHARGE_READ;
	uint64_t read = ((uint64_t)(rb1 - rb0) + page - 1) / page * page;
	if (read < fresh) {
		m = lock_entry(c);
		if (m) {
			pf_account_not_read_locked(m, fresh - read);
			if (c->rec)
				pf_done_snapshot_locked(c->rec, m);
			pf_table_unlock();
		}
		c->fresh = read;
	}
	return PF_CHARGE_READ;
}
