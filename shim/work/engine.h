/*
 * engine.h - what to bring in, and when (engine.c), run by the helper
 * threads (helpers.h).
 *
 * Sources of mappings (hooks, discovery) put entries in the table and call
 * pf_helpers_wake() (helpers.h).  Helpers pick chunks fairly across
 * mappings, step MADV_WILLNEED a bounded window ahead and
 * MADV_POPULATE_READ behind it, and stop at the budget, which caps what
 * prefault holds at once (the account: account.h; giving back what the
 * kernel evicted: remeasure.h).  A mapping larger than the budget left is
 * followed instead (follow.h).
 */
#ifndef PF_ENGINE_H
#define PF_ENGINE_H

#include <stdbool.h>

/* The policy (engine.c), run by helpers: does one slice of work and returns
 * true, or returns false when there is nothing to do. */
bool pf_engine_work_once(void);

#endif
