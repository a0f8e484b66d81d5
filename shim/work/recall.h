/*
 * recall.h - working-set memory in the library (recall.c): per tracked
 * mapping of a regular file while PREFAULT_REMEMBER is on, the record of
 * its file loaded for replay, and what the program touches learned from
 * the present bits of the pagemap of the process that touches it and
 * stored back: /proc/self/pagemap at the mapping's own address (the
 * library), or a source's (the companion: its shadow of a target's
 * mapping learns from the target's pagemap, pf_recall_source).
 *
 * The engine (engine.c) starts a mapping's state when a helper first
 * reaches it (pf_recall_begin), asks for its replay reads
 * (pf_recall_next_replay) and leaves its pages unmapped while it learns (no
 * MADV_POPULATE_READ: a present bit is then the program's touch).  A helper
 * samples and stores (pf_recall_tick); the destructor stores what is left
 * (pf_recall_fini).  The counts of the done record (replayed, replay_used,
 * unremembered) are kept in the table's entry and in the state, which
 * queues the mapping's done record once its mapping is gone or at exit.
 *
 * Lock rule: recall_lock guards the states, the sources and the shared
 * buffers; it is held across a record's load or store (bounded file I/O in
 * the cache directory), never in a hook.  learn_lock, under it, guards what
 * sampling writes (the granules' first touches, the pagemap buffer) and is
 * held only across pagemap reads, so a hook may take it
 * (pf_recall_leaving); the lists of states and sources change under both
 * and are read under either.  table_lock is taken under both (an entry's
 * counts, pf_alloc).  Before a fork neither is taken, both are made anew in
 * the child, which forgets the parent's states (their memory is left; the
 * child learns nothing of the parent's mappings).
 */
#ifndef PF_RECALL_H
#define PF_RECALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The constructor, after the settings: resolves PREFAULT_REMEMBER's
 * directory; says once in the log why remembering is off when it is. */
void pf_recall_init(void);
/* True when records are read and written. */
bool pf_recall_enabled(void);

/* A helper reaches a mapping: true when it is remembered (a state exists or
 * was made now: the record loaded, or a fresh one).  No lock held. */
bool pf_recall_begin(uintptr_t start, uint64_t id, size_t len, off_t offset, dev_t dev, ino_t ino,
		     const char *path);
/* The next replay read of the mapping, [*addr, *addr + *len) within it:
 * false when there is none left.  pf_recall_replayed then says how much of
 * it was read (0 when the budget stopped it: the read is asked again). */
bool pf_recall_next_replay(uintptr_t start, uint64_t id, uintptr_t *addr, size_t *len);
void pf_recall_replayed(uintptr_t start, uint64_t id, uint64_t bytes, bool done);

/* The done record of a remembered mapping waits until its mapping leaves
 * the table or the program exits, so that replay_used and unremembered
 * say what the program then touched.  True when d was kept (a later one
 * replaces it); false: queue it now.  No lock held. */
struct pf_done;
bool pf_recall_defer_done(const struct pf_done *d, const char *result);

/* A hook, before [addr, addr + len) is unmapped or mapped over: samples
 * the remembered mappings' pages there, so their last touches are learned.
 * Takes learn_lock; no other lock held. */
void pf_recall_leaving(uintptr_t addr, size_t len);

/* A helper's turn: samples and stores what is due.  True while remembered
 * mappings live (the helper stays).  With idle, first sleeps a little. */
bool pf_recall_tick(bool idle);
/* The destructor (the companion: before it exits): a last sample and
 * store of each state, and its done record. */
void pf_recall_fini(void);

/* The companion (tools/companion/follow.c): the touches of its mapping at
 * start show in another process's pagemap, fd (its /proc/PID/pagemap,
 * open; -1: learn nothing), at addr, that process's mapping of the same
 * file range.  Set before the mapping is tracked; setting it again (the
 * line it came from went) has what was learned stored at the next sample.
 * fd stays the caller's: it calls pf_recall_unsource(start) before it
 * closes fd or unmaps start.  A mapping without a source learns from
 * /proc/self/pagemap at its own address.  Takes recall_lock: not from a
 * hook. */
void pf_recall_source(uintptr_t start, int fd, uintptr_t addr);
void pf_recall_unsource(uintptr_t start);

/* The process's sums of the done records' replayed, replay_used and
 * unremembered, mappings still served included (the proc record). */
void pf_recall_totals(uint64_t *replayed, uint64_t *used, uint64_t *unremembered);

/* fork (init.c), after pf_table_postfork_child: recall_lock made anew,
 * the states forgotten, the table's entries no longer remembered.  Not
 * for a child forked inside a hook (prefault is off there). */
void pf_recall_postfork_child(void);

#endif
