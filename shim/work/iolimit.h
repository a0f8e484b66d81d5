/*
 * iolimit.h - prefault's reads kept under the read limits of the program's
 * cgroup (iolimit.c).
 */
#ifndef PF_IOLIMIT_H
#define PF_IOLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Before a helper's read of a file on dev (its MADV_WILLNEED or
 * MADV_POPULATE_READ, advise.h), of which `fresh` bytes are not in memory
 * yet: returns at once where no limit applies (or PREFAULT_PACE=0, or
 * fresh is 0), else when the read's turn at the paced rate has come; and
 * sets the thread's I/O class for it. */
void pf_iolimit_before_read(dev_t dev, size_t fresh);

/* The window's queue target for reads of dev (window.h): how long a fault
 * of the program's may wait behind prefault's reads in flight. */
unsigned pf_iolimit_queue_ms(dev_t dev);

/* True while the program waits on the disk (progwait.h), unless a read
 * limit applies to dev and the program spends it by itself (faults flat
 * out, as the pacer judges): prefault's reads of dev stand back, one step
 * of PF_PROGWAIT_STEP in flight at most. */
bool pf_iolimit_stand_back(dev_t dev);

/* The step a helper should read in: `step`, or less while it stands back
 * (stand_back: what pf_iolimit_stand_back said, asked once a round) or its
 * reads of dev are paced, so that a fault of the program's waits behind one
 * small read at most. */
size_t pf_iolimit_step(dev_t dev, size_t step, bool stand_back);

/* After a helper's MADV_POPULATE_READ of a file on dev that took ns: a
 * long wait means the limit's budget is spent by others, and pacing stops
 * for a while. */
void pf_iolimit_after_populate(dev_t dev, int64_t ns);


/* Appends ,"io_limits":[...],"io_paced_ms":X,"io_gave_way_ms":X,
 * "io_unpaced_steps":N,"io_stood_back":N for the proc record; returns
 * the length written (at most size-1). */
size_t pf_iolimit_json(char *buf, size_t size);

/* The read limits found for this process, one entry a disk the limit files
 * of its cgroup or an ancestor name (v1 blkio.throttle.read_*_device, v2
 * io.max), each read exactly as the pacer reads them for a file on that
 * disk: the smallest in every group up to the root; 0 for no limit.  For
 * prefault-check, which has no mapping yet to ask about.  Stores at most
 * max (disks beyond PF_IOLIMIT_LIST_MAX are not seen); returns how many. */
#define PF_IOLIMIT_LIST_MAX 16
struct pf_io_limit {
	unsigned maj, min; /* the whole disk */
	uint64_t rbps, riops;
};
size_t pf_iolimit_list(struct pf_io_limit *out, size_t max);

/* fork (init.c): pace_lock is taken before and released after; the child
 * makes it anew. */
void pf_iolimit_prefork(void);
void pf_iolimit_postfork_parent(void);
void pf_iolimit_postfork_child(void);

#endif
