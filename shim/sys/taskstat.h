/*
 * taskstat.h - the fields of a /proc/PID/stat or /proc/PID/task/TID/stat
 * line that the proc records use (taskstat.c), and the clock their times
 * count in.  No state, no lock.
 */
#ifndef PF_TASKSTAT_H
#define PF_TASKSTAT_H

#include <stdint.h>

struct pf_task_stat {
	uint64_t minflt, majflt;
	uint64_t cpu_ticks;        /* utime + stime */
	uint64_t start_ticks;      /* since boot */
	uint64_t blkio_ticks;      /* delayacct_blkio_ticks: 0 without delay accounting */
	unsigned threads;
};

/* Reads path's stat line into ts: 0, or -1 when it cannot be read. */
int pf_task_stat_read(const char *path, struct pf_task_stat *ts);
/* Now, in clock ticks since boot (what start_ticks counts from). */
double pf_task_ticks_now(void);
/* A live thread's off-CPU time in ticks at now: the wall time since it
 * started less its CPU time (0 when the counts disagree). */
double pf_task_offcpu_ticks(const struct pf_task_stat *ts, double now);

#endif
