/*
 * budget.h - the most the helpers may hold (budget.c), and how a charge
 * counts what is already in memory.
 */
#ifndef PF_BUDGET_H
#define PF_BUDGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads memory facts and fixes the budget; returns it.  Constructor only. */
uint64_t pf_budget_compute(void);
/* The budget fixed (0 before pf_budget_compute). */
uint64_t pf_budget_limit(void);
/* The cgroup's memory limit minus its usage (UINT64_MAX when unlimited);
 * reads a few small files.  MemAvailable is sys/meminfo.h's. */
uint64_t pf_cgroup_headroom(void);

/* How a charge counts the pages of a mapping already in memory. */
enum pf_count {
	/* mincore(2) sees the page cache: the process may write the file,
	 * or owns it. */
	PF_COUNT_CACHE,
	/* The process may not write the file: mincore reports every page
	 * resident (Linux 5.0 on) and cachestat(2) refuses it (EPERM, 6.18
	 * here).  Only the pages this process maps count (pagemap), which
	 * errs high; the engine corrects the charge after each read from the
	 * bytes the thread caused to be read (pf_thread_read_bytes, sys/procfs.h). */
	PF_COUNT_MAPPED,
};
/* How to count for the file of a mapping: asks cachestat on the file at
 * path once it is the same file (dev, ino), or the file's owner and mode
 * where cachestat is missing; remembered per file.  Helpers only, no lock
 * held: opens and closes the file. */
enum pf_count pf_count_mode(const char *path, dev_t dev, ino_t ino);
/* Pages of [addr, addr+len) counted as in memory, or -1 with errno
 * (ENOMEM: no longer mapped). */
long pf_count_resident(enum pf_count mode, uintptr_t addr, size_t len);

/* fork (init.c): count_lock is taken before and released after; the child
 * makes it anew. */
void pf_budget_prefork(void);
void pf_budget_postfork_parent(void);
void pf_budget_postfork_child(void);

#endif
