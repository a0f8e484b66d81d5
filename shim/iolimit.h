/*
 * iolimit.h - prefault's reads kept under the read limits of the program's
 * cgroup (iolimit.c).
 */
#ifndef PF_IOLIMIT_H
#define PF_IOLIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Called by a helper before it asks the kernel to read `bytes` of a file
 * on dev: returns at once where no limit applies (or PREFAULT_PACE=0),
 * else when the request's turn at the paced rate has come. */
void pf_iolimit_pace(dev_t dev, size_t bytes);

/* The step a helper should read in: `step`, or less while its reads of
 * dev are paced, so that a fault of the program's waits behind one small
 * read on the disk at most. */
size_t pf_iolimit_step(dev_t dev, size_t step);

/* Called by a helper after a read it asked for was waited for (ns): a
 * long wait means the limit's budget is spent by others, and pacing stops
 * for a while. */
void pf_iolimit_waited(dev_t dev, int64_t ns);

/* Appends ,"io_limits":[...],"io_paced_ms":X for the proc record; returns
 * the length written (at most size-1). */
size_t pf_iolimit_json(char *buf, size_t size);

#endif
