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
bool pf_mapwatch_active(void);
/* Would perf give this process its mmap records?  0, or the errno of the
 * refusal (EACCES: perf_event_paranoid; EPERM, ENOSYS: seccomp).  Opens and
 * closes one event; keeps errno. */
int pf_mapwatch_probe(void);
int pf_mapwatch_error(void);

/* Discovery thread: wait up to ns for a record.  0: none; 1: records, none
 * calling for a scan; 2: a file was mapped (or records were lost). */
int pf_mapwatch_wait(int64_t ns);

void pf_mapwatch_after_fork_child(void);

#endif
