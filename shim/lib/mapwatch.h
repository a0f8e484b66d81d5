/*
 * mapwatch.h - perf side-band records that wake discovery when the program
 * maps a file (mapwatch.c).  Used by discover.c only.
 */
#ifndef PF_MAPWATCH_H
#define PF_MAPWATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Sent to the discovery thread alone, which blocks it and waits for it. */
#define MAPWATCH_SIGNAL (SIGRTMAX - 3)

/* From a hook, on the process's only thread: watch it and every thread it
 * creates, signalling thread tid.  False (errno kept) when perf refuses;
 * pf_mapwatch_error() then says why. */
bool pf_mapwatch_open(pid_t tid);
/* From the discovery thread, in a process that already had other threads
 * when discovery started (a C program whose Go library, c-shared, started
 * the Go runtime in its constructor): watch each of them, and what they
 * create, one by one (at most 16 threads and 128 rings), signalling the
 * calling thread.  False (errno kept) as pf_mapwatch_open(). */
bool pf_mapwatch_open_threads(void);
bool pf_mapwatch_active(void);
/* Would perf give this process its mmap records?  0, or the errno of the
 * refusal (EACCES: perf_event_paranoid; EPERM, ENOSYS: seccomp).  Opens and
 * closes one event; keeps errno. */
int pf_mapwatch_probe(void);
int pf_mapwatch_error(void);

/* A file mapping the program made, from its PERF_RECORD_MMAP2. */
struct pf_maprec {
	uintptr_t addr;
	size_t len;
	uint64_t pgoff;  /* file offset of addr, in bytes */
	uint32_t maj, min;
	uint64_t ino;
	int64_t t_ns;    /* when it was made, CLOCK_MONOTONIC */
};

/* What pf_mapwatch_wait() saw, as flags. */
#define MAPWATCH_WOKEN 1 /* records came (any kind) */
#define MAPWATCH_FILE 2  /* readable file mappings: in recs[0..*n) */
#define MAPWATCH_LOST 4  /* records were lost, or did not fit in recs: scan */

/* Discovery thread: wait up to ns for records, then take them all. */
int pf_mapwatch_wait(int64_t ns, struct pf_maprec *recs, size_t cap, size_t *n);

void pf_mapwatch_after_fork_child(void);

#endif
