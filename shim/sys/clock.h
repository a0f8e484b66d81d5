/*
 * clock.h - the two clocks every record and every pace is measured by
 * (clock.c).  No state, no lock.
 */
#ifndef PF_CLOCK_H
#define PF_CLOCK_H

#include <stdint.h>

/* Seconds since the epoch (CLOCK_REALTIME): the records' "t". */
double pf_now(void);
/* Nanoseconds of CLOCK_MONOTONIC: intervals and cadences. */
int64_t pf_now_ns(void);

#endif
