/*
 * budget.h - the most the helpers may bring in (budget.c).
 */
#ifndef PF_BUDGET_H
#define PF_BUDGET_H

#include <stdint.h>

/* Reads memory facts and fixes the budget; returns it.  Constructor only. */
uint64_t pf_budget_compute(void);
/* MemAvailable in bytes (0 when unreadable), and the cgroup's limit minus
 * its usage (UINT64_MAX when unlimited).  Each reads a few small files. */
uint64_t pf_mem_available(void);
uint64_t pf_cgroup_headroom(void);

#endif
