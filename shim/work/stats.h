/*
 * stats.h - the report's records that need the engine: start, progress and
 * proc records (stats.c), and the fault counts of the program's threads
 * versus prefault's (procstat.c).  The writing is core/report.h's, the
 * event records core/events.h's.
 *
 * What only the program that links this knows (the library's init.c, the
 * companion's main.c) it registers once, before any thread of ours exists,
 * in a struct pf_stats_host: why prefault is off, discovery's state, the
 * stdio locks' state, per-mapping residency and how to read fault counts.
 * A field left NULL writes what a program without that part writes.
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

struct pf_stats_host {
	/* start record: why prefault is inactive, NULL when active ("active":
	 * true when the field is NULL). */
	const char *(*inactive_reason)(void);
	/* start record: whether discovery runs, and why ("discover",
	 * "discover_why"; no such fields when NULL). */
	bool (*discover_wanted)(const char **why);
	/* proc record: "discovery" ("off" when NULL), "discovery_lookup"
	 * ("scan"), "stdio" ("glibc"). */
	const char *(*discover_how)(void);
	const char *(*discover_lookup)(void);
	const char *(*stdio_state)(void);
	/* proc record: the fault counts (pf_procstat_read, this process's
	 * threads, when NULL). */
	void (*read_faults)(struct pf_faults *program, struct pf_faults *helpers);
	/* proc record: the per-mapping part, appended to buf ("...,\"k\":v");
	 * returns its length (nothing when NULL).  Under proc_lock. */
	size_t (*mappings_json)(char *buf, size_t size);
	/* Between records: takes in the program's fault samples, whose rings
	 * are bounded (nothing when NULL). */
	void (*drain)(void);
};

/* Registers what the program knows (host is copied), and the warning
 * records as the log's sink (pf_log_set_warning_sink); once, before
 * pf_options_load, so that a malformed setting becomes a record too. */
void pf_stats_init(const struct pf_stats_host *host);
/* Called by a helper between steps (no lock held): at most every 250 ms,
 * writes what is queued and a progress record per mapping being brought
 * in; at most every second, a proc record.  Cheap when it has nothing due. */
void pf_stats_tick(void);
/* The start record: the settings, and the program (pid's /proc entries, 0
 * for this process: the companion names its target); called once, by the
 * constructor or the companion's main. */
void pf_stats_write_start(pid_t program);
/* Writes what is queued and takes in the program's fault samples (host's
 * drain), as a helper does between steps; called every 250 ms by a helper
 * that only measures (PREFAULT_PREFETCH=0). */
void pf_stats_keep_up(void);
/* A proc record: the program's and the helpers' fault counts. */
void pf_stats_write_proc(void);

/* fork (init.c): proc_lock is not taken before a fork (a helper may hold
 * it across a write that blocks); the child makes it anew, starts the
 * report's byte count and the records' cadence anew. */
void pf_stats_postfork_child(void);

/* procstat.c: this process's fault counts, its threads split between the
 * program's and prefault's helpers. */
void pf_procstat_read(struct pf_faults *program, struct pf_faults *helpers);
/* A helper about to exit adds its own counts to the helpers' total. */
void pf_procstat_helper_exiting(void);

#endif
