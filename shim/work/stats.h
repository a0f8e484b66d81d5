/*
 * stats.h - the report's records that need the engine: start, progress and
 * proc records (stats.c), and the fault counts of the program's threads
 * versus prefault's (procstat.c).  The writing is core/report.h's, the
 * event records core/events.h's.
 *
 * Progress and proc records are written by the helper at work
 * (pf_stats_tick) under proc_lock, which is taken before attrib_lock,
 * table_lock and ring_lock.  Everything is a no-op when PREFAULT_STATS is
 * unset.
 */
#ifndef PF_STATS_H
#define PF_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* procstat.c: fault counters. */
struct pf_faults {
	unsigned threads;
	uint64_t majflt;
	uint64_t minflt;
	double offcpu_ms;
	bool blkio;                /* blkio_ms is known (delay accounting on) */
	double blkio_ms;           /* time waiting for block I/O, faults included */
};

/* Called by a helper between steps (no lock held): at most every 250 ms,
 * writes what is queued and a progress record per mapping being brought
 * in; at most every second, a proc record.  Cheap when it has nothing due. */
void pf_stats_tick(void);
/* The start record: the settings, and the program (pid's /proc entries, 0
 * for this process: the companion names its target); called once, by the
 * constructor or the companion's main. */
void pf_stats_write_start(pid_t program);
/* Writes what is queued and reads the program's fault samples (attrib.c),
 * as a helper does between steps; called every 250 ms by a helper
 * that only measures (PREFAULT_PREFETCH=0). */
void pf_stats_keep_up(void);
/* A proc record: the program's and the helpers' fault counts. */
void pf_stats_write_proc(void);

/* fork: ring_lock (events.c) around fork; the child drops what the parent
 * queued, starts the report's byte count anew and makes proc_lock anew. */
void pf_stats_lock(void);
void pf_stats_unlock(void);
void pf_stats_after_fork_child(void);

/* procstat.c: this process's fault counts, its threads split between the
 * program's and prefault's helpers. */
void pf_procstat_read(struct pf_faults *program, struct pf_faults *helpers);
/* A helper about to exit adds its own counts to the helpers' total. */
void pf_procstat_helper_exiting(void);

/* procstat.c, library only (weak: the companion has none): appends the
 * proc record's per-mapping residency and fault attribution. */
size_t pf_procstat_diag_json(char *buf, size_t size) __attribute__((weak));

#endif
