/*
 * follow.h - the moving window: for a mapping larger than what the budget
 * has left, keep pages ahead of where the program reads and release them
 * once it is past (follow.c).
 */
#ifndef PF_FOLLOW_H
#define PF_FOLLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/budget.h"
#include "work/front.h"
#include "core/table.h"

/* With table_lock held: m's follow state, created when m should be
 * followed (larger than the budget left, MADV_POPULATE_READ available);
 * NULL when it is served the whole-mapping way. */
struct pf_follow *pf_follow_for_locked(struct pf_mapping *m);
/* With table_lock held: false while m is followed and its next poll is not
 * due yet. */
bool pf_follow_due_locked(const struct pf_mapping *m, int64_t now);
/* One round for a followed mapping (its entry PF_ACTIVE, no lock held):
 * poll the fronts, release behind them, read ahead of the neediest.
 * `count` is how its charges count what is in memory (budget.h).  Returns
 * NULL to keep following, else the done result ("complete", "unmapped"). */
const char *pf_follow_round(struct pf_follow *f, dev_t dev, const char *path, enum pf_count count);

#endif
