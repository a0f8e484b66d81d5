/*
 * discover.h - finding file mappings that never passed through the hooks
 * (discover.c: the thread and when it looks; scan.c, recordcheck.c,
 * newmap.c and rejected.c: what a look does).
 *
 * Go's syscall.Mmap and golang.org/x/sys/unix.Mmap (bbolt, mmap-go) make the
 * system call themselves, so the mmap hook never sees their files.  A
 * discovery thread ("prefault-disc") watches /proc/thread-self/maps for them,
 * woken by perf mmap records where it can (mapwatch.c), tracks them with
 * source PF_SRC_DISCOVER and forgets them when they go.
 *
 * The thread is never started from the constructor (a thread there breaks
 * unshare(CLONE_NEWUSER) in the program): the first hook call after
 * pf_discover_init() starts it.
 */
#ifndef PF_DISCOVER_H
#define PF_DISCOVER_H

#include <stdbool.h>

/* Once, from the constructor, after pf_options_load(): decides whether this
 * process wants discovery (PREFAULT_DISCOVER, or "auto": the program is a Go
 * binary).  Starts nothing. */
void pf_discover_init(void);
/* What pf_discover_init() decided, and why: "go-note", "go-library",
 * "cgo-symbol" (auto found Go code), "not-go", "forced" (PREFAULT_DISCOVER=1),
 * "turned-off" (=0) or "inert" (PREFAULT=0). */
bool pf_discover_wanted(const char **why);
/* From every hook call: one relaxed atomic load unless discovery is wanted
 * and not yet running; then starts the thread, exactly once, and when the
 * process has only the calling thread, waits for the new thread's id (tens
 * of microseconds, once) to open mapwatch.c's records for it.  Keeps
 * errno. */
void pf_discover_poke(void);
/* fork child: the discovery thread did not survive; the next poke starts a
 * new one. */
void pf_discover_after_fork_child(void);
/* For the proc record: "off", "pending" (wanted, not started), "perf"
 * (woken by mapwatch.c's records) or "poll" (/proc alone). */
const char *pf_discover_how(void);
/* How a new mapping is checked: "procmap-query" (the range a perf record
 * names, alone) or "scan" (all of /proc/self/maps). */
const char *pf_discover_lookup(void);

#endif
