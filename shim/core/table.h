/*
 * table.h - the table of tracked file mappings.
 *
 * Every file mapping prefault may bring in is one entry, keyed by its start
 * address in a uthash table.  Two sources feed it: the mmap hooks (hooks.c)
 * and discovery of mappings made by raw system calls (discover.c).  Both go
 * through pf_table_track(); both remove through pf_table_forget().
 *
 * Lock rules: one mutex, table_lock, guards the table and every field of
 * every entry.  It is held only for bookkeeping (no system call, no I/O, no
 * allocation from libc) so a hook never waits behind a helper's I/O.  Code
 * that holds it must not call anything that may take it again.  Entries are
 * allocated from alloc.c, never from malloc, so a hook running in a signal
 * handler cannot deadlock inside malloc.
 */
#ifndef PF_TABLE_H
#define PF_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/source.h"
#include "sys/alloc.h"
/* uthash allocates from alloc.c and reports running out instead of calling
 * exit(); the flag it sets is table.c's. */
#define uthash_malloc(sz) pf_alloc(sz)
#define uthash_free(ptr, sz) pf_free(ptr, sz)
#define uthash_nonfatal_oom(obj) (table_oom = 1)
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/* What a source knows about a new mapping. */
struct pf_desc {
	uintptr_t start;
	size_t len;
	off_t offset;
	dev_t dev;
	ino_t ino;
	enum pf_source source;
	const char *path;
};

enum pf_state {
	PF_QUEUED,   /* waiting for a helper */
	PF_ACTIVE,   /* a helper is bringing it in */
	PF_FINISHED, /* nothing left to do: complete, error */
	PF_WAITING,  /* stopped at the budget: the engine picks it again when
			the budget has room (engine.c) */
};

/* One tracked mapping.  Every field is guarded by table_lock. */
struct pf_mapping {
	uintptr_t start;           /* the key */
	size_t len;
	uint64_t id;               /* never reused; a split-off part gets a new one */
	off_t offset;              /* file offset of start */
	dev_t dev;
	ino_t ino;
	enum pf_source source;
	enum pf_state state;
	size_t ahead;              /* bytes from start given MADV_WILLNEED
				      (engine.c; 0 while followed: follow.c) */
	size_t done;               /* bytes from start populated or passed over */
	uint64_t bytes_in;         /* brought in from disk */
	uint64_t resident_before;  /* already in memory when reached */
	uint64_t caused_ahead;     /* read by the kernel's readahead behind the
				      populate steps, charged as bytes_in, not
				      reached by `ahead` yet (account.c) */
	uint64_t held;             /* bytes charged for it and still counted as
				      held (account.c); when a range leaves the
				      table, cut_locked hands it to the cut
				      handler */
	int64_t t_begin_ns;        /* a helper first reached it (0: not yet) */
	int64_t found_ns;          /* CLOCK_MONOTONIC when tracked: the mapping
				      existed then (see pf_table_clear_stale) */
	unsigned errors;
	int last_err;
	bool passed_by;            /* a populate step passed pages in memory by
				      (work/prior.h): they are mapped in once
				      it is complete */
	/* Working-set memory (work/recall.c): the mapping is remembered (its
	 * pages are never mapped in by prefault), the bytes its replay read,
	 * and of the 64 KiB granules the program touched, the bytes in
	 * remembered extents and not. */
	bool remembered;
	uint64_t replayed, replay_used, unremembered;
	UT_hash_handle hh;
	char path[PF_PATH_MAX];
};

/* Returns 0, or -1 when the entry could not be allocated (nothing tracked). */
int pf_table_track(const struct pf_desc *d);
/* Drops [start, start+len) from the table, splitting entries it cuts. */
void pf_table_forget(uintptr_t start, size_t len);
/* Drops [start, start+len) from one entry only, if it is still the entry
 * with this start, id and length (discovery forgets what it found, and
 * never what a hook tracked meanwhile).  Returns true when it did. */
bool pf_table_forget_from(uintptr_t entry, uint64_t id, size_t entry_len, uintptr_t start,
			  size_t len);
/* A perf record says [start, start+len) was mapped anew at t_ns
 * (CLOCK_MONOTONIC): entries overlapping it that were tracked before then
 * describe what that mapping replaced, and are forgotten.  Returns true when
 * an entry tracked since still overlaps it (a hook's, or discovery's own). */
bool pf_table_clear_stale(uintptr_t start, size_t len, int64_t t_ns);
/* After mremap: the tracked part of the old range now lives at new_addr. */
void pf_table_moved(uintptr_t old_addr, size_t old_len, uintptr_t new_addr,
		    size_t new_len);
/* Lock-free: false when [start, start+len) cannot touch a tracked range. */
bool pf_table_may_overlap(uintptr_t start, size_t len);
/* True when the entry at start, with this length and identity, is tracked. */
bool pf_table_contains(uintptr_t start, size_t len, dev_t dev, ino_t ino);
/* Number of entries (lock-free, approximate). */
size_t pf_table_count(void);

/* For the engine: the table's head, to walk with table_lock held. */
struct pf_mapping *pf_table_head_locked(void);
/* With table_lock held: the entry that still has this start and id. */
struct pf_mapping *pf_table_find_locked(uintptr_t start, uint64_t id);
/* The cut handler: with table_lock held, [a, b) of m (still whole) leaves
 * the table, and the part past b, if any, is now `right` (NULL: none, or no
 * memory for it).  The account's (account.c), which gives back what that
 * range held. */
typedef void pf_table_cut_fn(struct pf_mapping *m, struct pf_mapping *right, uintptr_t a,
			     uintptr_t b);
/* With table_lock held: fn hears of every cut from now on. */
void pf_table_set_cut_handler_locked(pf_table_cut_fn *fn);
/* Take and release table_lock. */
void pf_table_lock(void);
void pf_table_unlock(void);

/* fork (init.c): table_lock is taken before and released after; the child
 * makes it anew and queues again the work a parent's helper had in hand. */
void pf_table_prefork(void);
void pf_table_postfork_parent(void);
void pf_table_postfork_child(void);

#endif
