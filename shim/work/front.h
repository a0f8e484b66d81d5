/*
 * front.h - where the program is reading in a followed mapping: the chunk
 * map and the access fronts (front.c), for follow.c's policy.
 *
 * A followed mapping is cut into 1 MiB chunks.  In each chunk prefault
 * leaves one 64 KiB block (aligned in the address space: the kernel's
 * fault-around works in aligned 64 KiB blocks) unpopulated, the sentinel:
 * it reads it ahead into the page cache (MADV_WILLNEED) but never maps it.
 * A present sentinel page (/proc/self/pagemap bit 63) then means the
 * program itself touched the block.  A front is the end of a run of
 * touched chunks that keeps growing.
 *
 * Lock rule: a pf_follow belongs to the helper that has its entry PF_ACTIVE
 * (engine.c); the slots themselves are claimed and freed under table_lock.
 */
#ifndef PF_FRONT_H
#define PF_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PF_CHUNK ((size_t)1 << 20)
#define PF_SENTINEL ((size_t)64 << 10)
#define PF_FRONTS 4

/* Per-chunk flags; the low 16 bits count the pages prefault charged. */
#define PF_CH_PAGES 0xffffu
#define PF_CH_BROUGHT (1u << 16) /* prefault read it ahead and mapped it in */
#define PF_CH_TOUCHED (1u << 17) /* its sentinel was seen present */
#define PF_CH_DROPPED (1u << 18) /* released behind a front (the account) */
#define PF_CH_CACHED (1u << 19)  /* mostly in memory before prefault followed it */
#define PF_CH_PAGEDOUT (1u << 20) /* and paged out: its sentinel was seen gone */
#define PF_CH_BLIND (1u << 21)    /* mapping its neighbours in mapped its sentinel
				   * too (a 2 MiB folio mapped whole): it says nothing */

struct pf_front {
	size_t pos;         /* offset of the first chunk the program has not reached */
	size_t origin;      /* where it was first seen */
	size_t run_from;    /* where the run of touched chunks behind it began then */
	int64_t t_seen;     /* when it was first seen */
	int64_t t_moved;    /* when it last advanced */
	double rate;        /* bytes/s, smoothed */
	int64_t lead_min;   /* least lead since the last report; -1: none yet */
	size_t drop_next;   /* first chunk behind it that may not be released yet */
};

struct pf_follow {
	uintptr_t start;    /* the entry it belongs to ... */
	uint64_t id;        /* ... and its id; 0: a free slot */
	size_t len, nchunks;
	uint32_t *chunk;    /* nchunks flags words (raw mmap) */
	size_t chunk_bytes;
	struct pf_front front[PF_FRONTS];
	unsigned nfronts;
	size_t whole_next;  /* no front: the next chunk of the whole-mapping behaviour */
	size_t scan_next;   /* the discovery scan's cursor */
	unsigned isolated;  /* touched chunks that no run explains */
	bool random;        /* access has no fronts: whole-mapping behaviour only */
	bool no_drop;       /* the program came back to a dropped chunk */
	bool cannot_drop;   /* MADV_PAGEOUT is not allowed on this file */
	unsigned pageout_ok, pageout_failed; /* sentinels gone, or still mapped, after it */
	bool budget_sent;   /* the done record for the budget was queued */
	bool started;       /* the first round has noted what was cached */
	unsigned blind_seen; /* chunks found blind; from BLIND_MANY on, fronts may
			      * run ahead of the program by the kernel's readahead */
	int64_t next_poll_ns, last_report_ns;
	int64_t last_scan_ns;  /* the discovery scan's last poll */
	int64_t last_busy_ns;  /* prefault last read for it, or a front moved */
	uint64_t held;      /* bytes charged in chunks not yet released */
	uint64_t dropped;   /* bytes released behind fronts, in total */
	uint64_t retouched; /* dropped chunks the program came back to */
	double disk_bps;    /* measured while reading ahead, smoothed */
};

/* With table_lock held: the follow state of (start, id), or NULL. */
struct pf_follow *pf_front_find_locked(uintptr_t start, uint64_t id);
/* With table_lock held: a new follow state (NULL when none is free). */
struct pf_follow *pf_front_new_locked(uintptr_t start, uint64_t id, size_t len);
/* With table_lock held: frees states whose entries are gone (exists(start,
 * id) false); returns the earliest next_poll_ns of those left, or 0. */
int64_t pf_front_sweep_locked(bool (*exists)(uintptr_t, uint64_t));
void pf_front_free_locked(struct pf_follow *f);

/* Sentinel block of chunk c: [*a, *b); false when the chunk has none. */
bool pf_front_sentinel(const struct pf_follow *f, size_t c, uintptr_t *a, uintptr_t *b);
/* Reads the sentinels through /proc/self/pagemap: advances the fronts,
 * scans for new ones, retires stale ones.  Returns chunks newly touched,
 * or -1 when pagemap cannot be read. */
long pf_front_poll(struct pf_follow *f, int64_t now);
/* True when the sentinel of chunk c is present now (pagemap fd open). */
bool pf_front_touched_now(int pagemap_fd, const struct pf_follow *f, size_t c);

#endif
