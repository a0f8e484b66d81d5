/*
 * companion.h - prefault-companion: prefault for a process it cannot enter
 * (a static binary, a setuid program, a process already running).
 *
 * The companion is a separate process.  It follows the target's file
 * mappings in /proc/PID/maps, maps the same ranges of the same files itself
 * (PROT_READ, MAP_SHARED) and hands its own mappings to the library's engine
 * (shim/table.c, engine.c, helpers.c...) as PF_SRC_COMPANION entries: the
 * helpers warm them with the library's window and budget, and because the
 * page cache is shared the target's faults on them become minor.  It never
 * reads or writes the target's memory.
 *
 *   main.c      arguments, starting or attaching to the target, signals,
 *               the poll loop, the exit status
 *   follow.c    the processes followed (pidfd, /proc/PID directory), their
 *               maps, their children, and the companion's own mappings
 *   guard.c     a small process that kills the target if the companion dies
 *   procstat.c  proc records: the target's faults versus the companion's
 *
 * Threads: the main thread owns the list of processes and the mappings; the
 * engine's helper threads only see the table.  procs_lock (follow.c) guards
 * the fault counts the helpers read for proc records.
 */
#ifndef PFC_COMPANION_H
#define PFC_COMPANION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PFC_NAME "prefault"

/* One line "prefault: ..." on stderr (always: these are the companion's
 * own errors, not the library's optional log). */
void pfc_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* follow.c */
/* Starts following pid through pidfd (which the caller keeps open). 0, or an
 * errno value: EACCES/EPERM (not allowed to read its maps), ESRCH (gone). */
int pfc_follow_root(pid_t pid, int pidfd);
/* Polls what is due: stat of every process (maps again when vsize moved, or
 * every FULL_READ_MS), children every CHILD_SCAN_MS.  now_ns: CLOCK_MONOTONIC. */
void pfc_follow_poll(int64_t now_ns);
/* Number of processes followed and their pidfds (for poll). */
size_t pfc_follow_pidfds(int *fds, size_t max);
/* A pidfd became readable: that process has exited; stop following it. */
void pfc_follow_exited(int pidfd);
/* Forgets everything (the companion is about to exit). */
void pfc_follow_stop(void);

/* The fault counts of the processes followed (live ones as last read, plus
 * those that have exited), for procstat.c. */
void pfc_follow_faults(uint64_t *majflt, uint64_t *minflt, unsigned *threads);

/* guard.c: forks the guard; returns the write end of its pipe (close it to
 * let the guard go) and sets *guard_pid, or -1 when it could not start. */
int pfc_guard_start(int target_pidfd, pid_t *guard_pid);

/* Linux system calls glibc 2.36 may lack wrappers for. */
int pfc_pidfd_open(pid_t pid);
int pfc_pidfd_send_signal(int pidfd, int sig);
bool pfc_pidfd_alive(int pidfd);

#endif
