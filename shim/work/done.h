/*
 * done.h - the "done" record of a mapping (done.c): what prefault brought
 * in for it, once it finished or stopped at the budget.
 */
#ifndef PF_DONE_H
#define PF_DONE_H

#include <stdint.h>

#include "core/table.h"

/* What a done record says of a mapping: a helper's copy, kept while the
 * lock is dropped (the entry may be gone by the time the record is
 * queued). */
struct pf_done {
	uintptr_t start;
	uint64_t id;
	size_t len;
	uint64_t bytes_in, resident_before;
	unsigned errors;
	int last_err;
	int64_t t_begin_ns; /* a helper first reached it */
	bool remembered;    /* PREFAULT_REMEMBER: the three below are said */
	uint64_t replayed, replay_used, unremembered;
	char path[PF_PATH_MAX];
};

/* With table_lock held: d takes m's length and counts (bytes_in,
 * resident_before, errors, last_err). */
void pf_done_snapshot_locked(struct pf_done *d, const struct pf_mapping *m);
/* Queues the done record of d with its result ("complete", "budget",
 * "unmapped", "error"), its time the time since d->t_begin_ns.  Any lock
 * but the statistics' own may be held. */
void pf_done_queue(const struct pf_done *d, const char *result);

#endif
