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
