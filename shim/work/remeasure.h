/*
 * remeasure.h - giving back what the kernel evicted, once the budget is
 * spent (remeasure.c).
 */
#ifndef PF_REMEASURE_H
#define PF_REMEASURE_H

#include <stdbool.h>
#include <stdint.h>

/* Measures again what the entries that hold the most still have in memory
 * and gives back what the kernel evicted.  Skips followed mappings
 * (follow.c measures its own chunks when this returns >= 0) and entries
 * another helper is bringing in, except the caller's own (own_start,
 * own_id).  At most every 200 ms across helpers: -1 when not due, else the
 * bytes given back.  No lock held. */
int64_t pf_remeasure(uintptr_t own_start, uint64_t own_id);
/* True while a helper is measuring. */
bool pf_remeasure_running(void);

#endif
