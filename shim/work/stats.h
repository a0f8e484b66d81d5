/*
 * stats.h - the diagnostic report: JSON Lines records (stats.c) and the
 * fault counts of the program's threads versus prefault's (procstat.c).
 *
 * Events are queued from any thread into a fixed ring (ring_lock, held only
 * to copy one record; taken after table_lock when both are held) and written
 * by prefault's own threads, never on a hook's path.  Progress and proc
 * records are written by the helper at work (pf_stats_tick) under
 * proc_lock, which is taken before attrib_lock, table_lock and ring_lock.
 * Everything is a no-op when PREFAULT_STATS is unset.
 */
#ifndef PF_STATS_H
#define PF_STATS_H

#include "core/table.h"

#include <stdbool.h>
#include <stdint.h>

enum pf_ev_type { PF_EV_MAP, PF_EV_UNMAP, PF_EV_SKIP, PF_EV_DONE };

struct pf_event {
	enum pf_ev_type type;
	double t;                  /* seconds since the epoch */
	uint64_t id;
	uintptr_t addr;
	size_t len;
	off_t offset;
	enum pf_source source;
	const char *reason;        /* skip reason or done result: static strings */
	uint64_t bytes_in;
	uint64_t resident_before;
	double ms;
	unsigned errors;
	int last_err;
	char path[PF_PATH_MAX];
};

bool pf_stats_enabled(void);
/* Queue one record; drops it (and counts the drop) when the ring is full. */
void pf_stats_queue(const struct pf_event *ev);
/* Queue a skip record: a file mapping from source src that is not tracked,
 * and why (a static string). */
void pf_stats_queue_skip(enum pf_source src, const char *path, uintptr_t addr, size_t len,
			 off_t offset, const char *reason);
/* Queue a record about [addr, addr+len) of entry m (table_lock held). */
void pf_stats_queue_mapping(enum pf_ev_type type, const struct pf_mapping *m, uintptr_t addr,
			    size_t len);
/* Write what is queued.  Called by prefault's threads only. */
void pf_stats_flush(void);
/* Called by a helper between steps (no lock held): at most every 250 ms,
 * writes what is queued and a progress record per mapping being brought
 * in; at most every second, a proc record.  Cheap when it has nothing due. */
void pf_stats_tick(void);
/* PREFAULT_STATS is malformed or cannot be written: says so in one line on
 * stderr.  Returns true when that line also stands for the log's (the log
 * is off, or is stderr). */
bool pf_stats_bad_dest(const char *value);
/* The start record: the settings, and the program (pid's /proc entries, 0
 * for this process: the companion names its target); called once, by the
 * constructor or the companion's main. */
void pf_stats_write_start(pid_t program);
/* Writes what is queued and reads the program's fault samples (attrib.c),
 * as a helper does between steps; called every 250 ms by a helper that
 * only measures (PREFAULT_PREFETCH=0). */
void pf_stats_keep_up(void);
/* A proc record: the program's and the helpers' fault counts. */
void pf_stats_write_proc(void);
/* A record of kind ev whose fields (",\"k\":v..." JSON, without the
 * braces) the caller formatted; prefault's own threads only. */
void pf_stats_write_record(const char *ev, const char *fields);
/* A warning record (log.c). */
void pf_stats_write_warning(const char *msg);

/* procstat.c: fault counters. */
struct pf_faults {
	unsigned threads;
	uint64_t majflt;
	uint64_t minflt;
	double offcpu_ms;
	bool blkio;                /* blkio_ms is known (delay accounting on) */
	double blkio_ms;           /* time waiting for block I/O, faults included */
};
void pf_procstat_read(struct pf_faults *program, struct pf_faults *helpers);
/* A helper about to exit adds its own counts to the helpers' total. */
void pf_procstat_helper_exiting(void);

/* procstat.c, library only (weak: the companion has none): appends the
 * proc record's per-mapping residency and fault attribution. */
size_t pf_procstat_diag_json(char *buf, size_t size) __attribute__((weak));

double pf_now(void);
int64_t pf_now_ns(void);

/* s as a JSON string (quotes included; at most 6 * strlen(s) + 3 bytes and
 * a NUL), by the rule every record follows: valid UTF-8 as it is, a byte
 * that is not as U+FFFD, controls escaped.  Returns its length.  For
 * prefault-check's JSON. */
size_t pf_json_string(char *buf, size_t size, const char *s);

/* fork (init.c), in two places of the lock order: proc_lock among the
 * first, ring_lock and event_lock last.  Each is taken before and released
 * after; the child makes them anew and drops what the parent queued, its
 * byte count and its cadence clocks. */
void pf_stats_proc_prefork(void);
void pf_stats_proc_postfork_parent(void);
void pf_stats_proc_postfork_child(void);
void pf_stats_prefork(void);
void pf_stats_postfork_parent(void);
void pf_stats_postfork_child(void);

#endif
