/*
 * budget.h - the most the helpers may bring in (budget.c).
 */
#ifndef PF_BUDGET_H
#define PF_BUDGET_H

#include <stdint.h>

/* Reads memory facts and fixes the budget; returns it.  Constructor only. */
uint64_t pf_budget_compute(void);

#endif
