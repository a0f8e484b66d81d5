/*
 * charge.h - one read of a mapping's range, charged to the budget
 * (charge.c): what is not in memory is charged, read, and the charge cut
 * to what the thread then read.  The whole-mapping steps (engine.c) and
 * the followed chunks (follow.c) both read this way.
 */
#ifndef PF_CHARGE_H
#define PF_CHARGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/budget.h"
#include "work/done.h"

enum pf_charge_result {
	PF_CHARGE_READ,      /* charged (maybe nothing) and read */
	PF_CHARGE_NO_BUDGET, /* the budget or the room does not allow it: nothing done */
	PF_CHARGE_GONE,      /* the range or its entry is gone */
};

struct pf_charge {
	uintptr_t start;      /* the entry charged, found again by start and id */
	uint64_t id;
	uintptr_t addr;       /* the range read, within the entry */
	size_t len;
	dev_t dev;            /* the file's */
	enum pf_count count;  /* how what is in memory is counted (budget.h) */
	uint64_t room;        /* the memory-pressure allowance */
	bool count_reads;     /* on a block device: what the thread read is known */
	size_t ahead;         /* the entry's `ahead` once charged (0: left as is) */
	struct pf_done *rec;  /* refreshed from the entry as it changes (NULL: none) */
	/* Issues the reads of [addr, addr+len), `fresh` bytes of which were
	 * charged (never 0).  No lock held. */
	void (*read)(const struct pf_charge *c, uint64_t fresh);
	void *arg;            /* for read */
	/* Set by pf_charge_read: */
	uint64_t fresh;       /* bytes charged and kept (whole pages) */
	/* The thread's read bytes (budget.h) after the reads, when they were
	 * measured (count_reads, something charged); -1 when they could not
	 * be.  Left as the caller set it otherwise. */
	int64_t read_bytes;
};

/* Charges what of c's range the count mode says is not in memory, issues
 * the reads, and cuts the charge to what the thread read meanwhile
 * (count_reads): pages counted high (PF_COUNT_MAPPED: in the page cache,
 * not mapped here) and pages mincore does not count while their read is in
 * flight (not uptodate) were not read by prefault (account.h says whose
 * they were).  No lock held on entry; takes table_lock around the
 * bookkeeping only. */
enum pf_charge_result pf_charge_read(struct pf_charge *c);

#endif
