/*
 * attrib.h - attribution of the program's major faults to mappings, with a
 * perf software event (attrib.c).  Only when PREFAULT_STATS is set.
 *
 * One PERF_COUNT_SW_PAGE_FAULTS_MAJ event per program thread (the kernel
 * refuses to map the ring of an inherited event, so each thread gets its
 * own: attrib.c) samples its major faults (address and thread id) into a
 * ring buffer mapped in the process.  Each descriptor is closed as soon as
 * its buffer is mapped: the mapping keeps the event alive, so prefault
 * holds no descriptor the program could close or trip on.  Where
 * perf is unavailable (perf_event_paranoid 3, seccomp, no perf in the
 * kernel) the report says why instead of guessing.
 *
 * Lock rule: attrib_lock guards the counters and the ring's tail; it is
 * taken by prefault's threads (and the destructor) only, before table_lock
 * when both are held, never in a hook.
 */
#ifndef PF_ATTRIB_H
#define PF_ATTRIB_H

#include <stddef.h>
#include <stdint.h>

/* Constructor only (one thread): opens the event when statistics are on. */
void pf_attrib_init(void);
/* Reads the samples the kernel has written and charges them to mappings. */
void pf_attrib_drain(void);
/* Appends the process-wide attribution fields of a proc record:
 * ,"attribution":"perf","majflt_sampled":N,"majflt_lost":N,"majflt_untracked":N
 * or ,"attribution":"unavailable","why":"...".  Returns the length. */
size_t pf_attrib_json(char *buf, size_t size);
/* Program major faults sampled in mapping id so far, and the time (seconds
 * since the epoch, 0 when none) of the first.  Returns false when
 * attribution is unavailable. */
int pf_attrib_mapping(uint64_t id, uint64_t *majflt, double *first_t);

/* fork (init.c): attrib_lock is not taken before a fork (it is held across
 * opendir's malloc); the child makes it anew and, when the constructor
 * watched the program's threads, starts afresh with its own thread's event
 * (the parent's rings are not copied into it). */
void pf_attrib_postfork_child(void);

#endif
