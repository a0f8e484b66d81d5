/*
 * engine.h - what to bring in, and when (engine.c), run by the helper
 * threads (helpers.h).
 *
 * Sources of mappings (hooks, discovery) put entries in the table and call
 * pf_engine_wake() (helpers.h).  Helpers pick chunks fairly across
 * mappings, step MADV_WILLNEED a bounded window ahead and
 * MADV_POPULATE_READ behind it, and stop at the budget, which caps what
 * prefault holds at once.
 */
#ifndef PF_ENGINE_H
#define PF_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

/* The policy (engine.c), run by helpers: does one slice of work and returns
 * true, or returns false when there is nothing to do. */
bool pf_engine_work_once(void);

/* The budget (README "Budget"): the most prefault holds at once.  `held` is
 * what was charged and not given back since: given back when the range goes
 * (unmapped, shrunk, mapped over, moved, found gone by discovery: table.c
 * hands every such cut to pf_engine_cut_locked), when follow.c releases
 * what the program has passed, and when a re-measure finds the kernel
 * evicted it.  Each entry carries its share (pf_mapping.held); `held` is
 * their sum. */
struct pf_mapping;
/* Bytes brought in so far (charged, lifetime), what is held now, and what
 * was given back so far (lifetime). */
uint64_t pf_engine_brought_in(void);
uint64_t pf_engine_held(void);
uint64_t pf_engine_given_back(void);
/* With table_lock held: charges fresh bytes to m if the budget (and room,
 * the memory-pressure allowance) allows; false otherwise. */
bool pf_engine_charge_locked(struct pf_mapping *m, uint64_t fresh, uint64_t room);
/* With table_lock held: bytes prefault caused to be read without asking
 * (the kernel's readahead behind a populate step) are charged to m and
 * counted as brought in, whatever the budget says: they are in memory;
 * remembered in m->caused_ahead for the steps that reach them. */
void pf_engine_charge_caused_locked(struct pf_mapping *m, uint64_t bytes);
/* With table_lock held: bytes of m leave prefault's account (at most what
 * m holds); they count as given back. */
void pf_engine_release_locked(struct pf_mapping *m, uint64_t bytes);
/* With table_lock held: a charge of m's was not read after all (counted
 * high, PF_COUNT_MAPPED in budget.h, or pages whose read was in flight):
 * it was never held nor brought in; was_resident: the bytes were in memory
 * before prefault came (else a charge made twice: caused_ahead). */
void pf_engine_uncharge_locked(struct pf_mapping *m, uint64_t bytes, bool was_resident);
/* With table_lock held, from table.c only: [a, b) of m (still whole) leaves
 * the table, and the part past b, if any, is now `right` (NULL: none, or no
 * memory for it).  Gives that range's share of what m held back and splits
 * the rest between m (its part before a) and right. */
void pf_engine_cut_locked(struct pf_mapping *m, struct pf_mapping *right, uintptr_t a, uintptr_t b);
/* The budget is spent: measures again what the entries that hold the most
 * still have in memory and gives back what the kernel evicted.  Skips
 * followed mappings (follow.c measures its own chunks when this returns
 * >= 0) and entries another helper is bringing in, except the caller's own
 * (own_start, own_id).  At most every 200 ms across helpers: -1 when not
 * due, else the bytes given back.  No lock held. */
int64_t pf_engine_remeasure(uintptr_t own_start, uint64_t own_id);
/* NULL when prefault is active in this process, else why it is not. */
const char *pf_inactive_reason(void);

#endif
