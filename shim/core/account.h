/*
 * account.h - the budget's account (account.c): what prefault brought in,
 * holds, and gave back.
 *
 * The budget (docs/design.md, "Budget"; budget.h) is the most prefault holds at
 * once.  `held` is what was charged and not given back since: given back
 * when the range goes (unmapped, shrunk, mapped over, moved, found gone by
 * discovery: table.c hands every such cut to the account), when follow.c
 * releases what the program has passed, and when a re-measure
 * (remeasure.h) finds the kernel evicted it.  Each entry carries its share
 * (pf_mapping.held); `held` is their sum.
 *
 * Lock rule: every _locked function runs with table_lock held (table.h),
 * which guards the counters; the readers below take none.
 */
#ifndef PF_ACCOUNT_H
#define PF_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/table.h"

/* Bytes brought in so far (charged, lifetime), what is held now, and what
 * was given back so far (lifetime).  Lock-free. */
uint64_t pf_account_brought_in(void);
uint64_t pf_account_held(void);
uint64_t pf_account_given_back(void);

/* With table_lock held: `bytes` more would still be within the budget. */
bool pf_account_fits_locked(uint64_t bytes);
/* With table_lock held: charges fresh bytes to m if the budget (and room,
 * the memory-pressure allowance) allows; false otherwise. */
bool pf_account_charge_locked(struct pf_mapping *m, uint64_t fresh, uint64_t room);
/* With table_lock held: a read-ahead step of m about to read `fresh`
 * bytes, `there` bytes of its range counted in memory: charges fresh
 * (pf_account_charge_locked, false when it may not) and counts them as
 * brought in, and `there` as resident before prefault came, except what
 * earlier populate steps caused to be read (caused_ahead): prefault's own. */
bool pf_account_charge_step_locked(struct pf_mapping *m, uint64_t fresh, uint64_t there,
				   uint64_t room);
/* With table_lock held: `over` bytes of a step's charge were not read
 * after all (counted high, PF_COUNT_MAPPED in budget.h, or pages whose
 * read was in flight): never held nor brought in.  Those the readahead
 * behind earlier populate steps read were charged twice (caused_ahead);
 * the rest were in memory before prefault came. */
void pf_account_not_read_locked(struct pf_mapping *m, uint64_t over);
/* With table_lock held: bytes prefault caused to be read without asking
 * (the kernel's readahead behind a populate step) are charged to m and
 * counted as brought in, whatever the budget says: they are in memory;
 * remembered in m->caused_ahead for the steps that reach them. */
void pf_account_charge_caused_locked(struct pf_mapping *m, uint64_t bytes);
/* With table_lock held: bytes of m leave prefault's account (at most what
 * m holds); they count as given back. */
void pf_account_release_locked(struct pf_mapping *m, uint64_t bytes);
/* With table_lock held: the end of the range m's charges were made in
 * (from m->start): whole mappings charge up to `ahead`; followed ones (or
 * ones that were) and remembered ones (their replay: work/recall.c)
 * anywhere. */
uintptr_t pf_account_charged_end_locked(const struct pf_mapping *m);

#endif
