/*
 * done.c - the "done" record of a mapping, built in one place for the
 * whole-mapping way (engine.c) and the followed one (follow.c); see done.h.
 *
 * Lock rule: none of its own; the snapshot is taken under table_lock by
 * the caller, and the record goes to the statistics' queue (stats.c).
 */
#include "work/done.h"
#include "core/events.h"
#include "core/report.h"
#include "sys/clock.h"

#include <string.h>

void pf_done_snapshot_locked(struct pf_done *d, const struct pf_mapping *m)
{
	d->len = m->len;
	d->bytes_in = m->bytes_in;
	d->resident_before = m->resident_before;
	d->errors = m->errors;
	d->last_err = m->last_err;
	d->remembered = m->remembered;
	d->replayed = m->replayed;
	d->replay_used = m->replay_used;
	d->unremembered = m->unremembered;
}

void pf_done_queue(const struct pf_done *d, const char *result)
{
	if (!pf_stats_enabled())
		return;
	struct pf_event ev;
	pf_event_start(&ev, PF_EV_DONE);
	ev.id = d->id;
	ev.addr = d->start;
	ev.len = d->len;
	ev.reason = result;
	ev.bytes_in = d->bytes_in;
	ev.resident_before = d->resident_before;
	ev.ms = (double)(pf_now_ns() - d->t_begin_ns) / 1e6;
	ev.errors = d->errors;
	ev.last_err = d->last_err;
	ev.remembered = d->remembered;
	ev.replayed = d->replayed;
	ev.replay_used = d->replay_used;
	ev.unremembered = d->unremembered;
	memcpy(ev.path, d->path, sizeof ev.path);
	pf_events_queue(&ev);
}
