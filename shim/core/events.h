/*
 * events.h - the map, unmap, skip, done and warning records (events.c):
 * queued from any thread into a fixed ring, written by prefault's own
 * threads (pf_stats_flush), never on a hook's path.
 *
 * Lock rules: ring_lock guards the ring, the token bucket and the drop
 * count, is held only to copy one record, and is taken after table_lock
 * when a caller holds both.  event_lock guards the line buffers while one
 * record is formatted and written; nothing is taken under it.
 */
#ifndef PF_EVENTS_H
#define PF_EVENTS_H

#include "core/source.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
	bool remembered;           /* done: the three below are written */
	uint64_t replayed, replay_used, unremembered;
	char path[PF_PATH_MAX];
};

/* A record of that type about to be filled: zeroed, stamped now. */
void pf_event_start(struct pf_event *ev, enum pf_ev_type type);
/* Queue one record; drops it (and counts the drop) when the ring is full. */
void pf_events_queue(const struct pf_event *ev);
/* Queue a skip record: a file mapping from source src that is not tracked,
 * and why (a static string). */
void pf_events_queue_skip(enum pf_source src, const char *path, uintptr_t addr, size_t len,
			 off_t offset, const char *reason);
/* Queue a record of type about [addr, addr+len) of table entry id, whose
 * file is path (PF_PATH_MAX bytes, an entry's) at offset. */
void pf_events_queue_entry(enum pf_ev_type type, uint64_t id, const char *path, enum pf_source src,
			   uintptr_t addr, size_t len, off_t offset);
/* The same for [addr, addr+len) of entry m (a struct pf_mapping *,
 * table_lock held).  A macro: the table calls down to this module, which
 * therefore knows no struct pf_mapping; the caller's fields are read where
 * the table's header is included. */
#define pf_events_queue_mapping(type, m, addr, len)                                          \
	pf_events_queue_entry((type), (m)->id, (m)->path, (m)->source, (addr), (len),        \
			      (m)->offset + (off_t)((addr) - (m)->start))
/* Write what is queued.  Called by prefault's threads only. */
void pf_stats_flush(void);
/* A warning record, bounded as the other records here; nothing when
 * PREFAULT_STATS is unset.  The log's warning sink (pf_log_set_warning_sink). */
void pf_events_write_warning(const char *msg);
/* Records dropped so far (bucket empty or ring full): the proc record's
 * records_dropped. */
uint64_t pf_events_dropped(void);

/* fork: ring_lock around fork; the child drops what the parent queued and
 * makes event_lock anew (a helper of the parent's may have held it). */
void pf_events_prefork(void);
void pf_events_postfork_parent(void);
void pf_events_postfork_child(void);

#endif
