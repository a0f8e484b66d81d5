/*
 * events.c - the records about single happenings (map, unmap, skip, done,
 * warning): hooks, discovery and the table queue them into a fixed ring;
 * prefault's own threads format and write them (pf_stats_flush).
 *
 * Bounds: map, unmap, skip and warning records pass a token bucket (RATE a
 * second, BURST at once); what it refuses, or what finds the ring full, is
 * counted in records_dropped (the proc record's, work/stats.c).
 *
 * Lock rules: ring_lock guards the ring, the bucket and the drop count, is
 * held only to copy records, and is taken after table_lock when a caller
 * holds both.  event_lock guards the line buffers of the records while one
 * is formatted and written; nothing is taken under it.
 */
#include "core/events.h"
#include "core/options.h"
#include "core/report.h"
#include "sys/clock.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RING_SIZE 128
#define RATE 200                               /* records a second, sustained */
#define BURST 1000

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t event_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pf_event ring[RING_SIZE];
static unsigned ring_head, ring_len;
static uint64_t dropped;
static double tokens = BURST;                  /* ring_lock */
static int64_t tokens_ns;                      /* ring_lock */

/* One token, if the bucket has one; ring_lock held. */
static bool take_token_locked(void)
{
	int64_t now = pf_now_ns();
	tokens += (double)(now - tokens_ns) * RATE / 1e9;
	if (tokens > BURST)
		tokens = BURST;
	tokens_ns = now;
	if (tokens < 1) {
		dropped++;
		return false;
	}
	tokens -= 1;
	return true;
}

void pf_events_queue(const struct pf_event *ev)
{
	if (!pf_stats_enabled())
		return;
	pthread_mutex_lock(&ring_lock);
	if (take_token_locked()) { /* else counted as dropped */
		if (ring_len == RING_SIZE) {
			dropped++;
		} else {
			ring[(ring_head + ring_len) % RING_SIZE] = *ev;
			ring_len++;
		}
	}
	pthread_mutex_unlock(&ring_lock);
}

void pf_event_start(struct pf_event *ev, enum pf_ev_type type)
{
	memset(ev, 0, sizeof *ev);
	ev->type = type;
	ev->t = pf_now();
}

void pf_events_queue_skip(enum pf_source src, const char *path, uintptr_t addr, size_t len,
			 off_t offset, const char *reason)
{
	if (!pf_stats_enabled())
		return;
	struct pf_event ev;
	pf_event_start(&ev, PF_EV_SKIP);
	ev.addr = addr;
	ev.len = len;
	ev.offset = offset;
	ev.source = src;
	ev.reason = reason;
	snprintf(ev.path, sizeof ev.path, "%s", path);
	pf_events_queue(&ev);
}

void pf_events_queue_entry(enum pf_ev_type type, uint64_t id, const char *path, enum pf_source src,
			   uintptr_t addr, size_t len, off_t offset)
{
	if (!pf_stats_enabled())
		return;
	struct pf_event ev;
	pf_event_start(&ev, type);
	ev.id = id;
	ev.addr = addr;
	ev.len = len;
	ev.offset = offset;
	ev.source = src;
	memcpy(ev.path, path, sizeof ev.path);
	pf_events_queue(&ev);
}

static const char *source_name(enum pf_source s)
{
	switch (s) {
	case PF_SRC_DISCOVER: return "discover";
	case PF_SRC_COMPANION: return "companion";
	default: return "hook";
	}
}

static void write_event(const struct pf_event *e)
{
	/* Static, not on the stack: 10 KiB would be much for a destructor on a
	 * thread with a small stack. */
	static char line[6144], path[PF_JSON_MAX(PF_PATH_MAX) + PF_HEX_MAX(PF_PATH_MAX) + 24];
	size_t n;
	pthread_mutex_lock(&event_lock);
	pf_json_name_field(path, sizeof path, "path", e->path, strnlen(e->path, sizeof e->path));
	switch (e->type) {
	case PF_EV_MAP:
		n = (size_t)pf_report_head(line, sizeof line, "map", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",\"addr\":\"0x%" PRIxPTR "\",\"len\":%zu,"
				      "\"offset\":%lld,%s,\"source\":\"%s\"",
				      e->id, e->addr, e->len, (long long)e->offset, path,
				      source_name(e->source));
		break;
	case PF_EV_UNMAP:
		n = (size_t)pf_report_head(line, sizeof line, "unmap", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",\"addr\":\"0x%" PRIxPTR "\",\"len\":%zu,%s",
				      e->id, e->addr, e->len, path);
		break;
	case PF_EV_SKIP:
		n = (size_t)pf_report_head(line, sizeof line, "skip", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",%s,\"len\":%zu,\"reason\":\"%s\",\"source\":\"%s\"",
				      path, e->len, e->reason, source_name(e->source));
		break;
	case PF_EV_DONE:
	default:
		n = (size_t)pf_report_head(line, sizeof line, "done", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",%s,\"len\":%zu,\"bytes_in\":%" PRIu64
				      ",\"resident_before\":%" PRIu64 ",\"ms\":%.3f,\"result\":\"%s\","
				      "\"errors\":%u,\"last_error\":\"%s\"",
				      e->id, path, e->len, e->bytes_in, e->resident_before, e->ms,
				      e->reason, e->errors, e->last_err ? strerrorname_np(e->last_err) : "");
		if (e->remembered && n < sizeof line)
			n += (size_t)snprintf(line + n, sizeof line - n,
					      ",\"replayed\":%" PRIu64 ",\"replay_used\":%" PRIu64
					      ",\"unremembered\":%" PRIu64,
					      e->replayed, e->replay_used, e->unremembered);
		break;
	}
	pf_report_emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
	pthread_mutex_unlock(&event_lock);
}

void pf_stats_flush(void)
{
	if (!pf_stats_enabled())
		return;
	for (;;) {
		struct pf_event e;
		pthread_mutex_lock(&ring_lock);
		if (ring_len == 0) {
			pthread_mutex_unlock(&ring_lock);
			return;
		}
		e = ring[ring_head];
		ring_head = (ring_head + 1) % RING_SIZE;
		ring_len--;
		pthread_mutex_unlock(&ring_lock);
		write_event(&e);
	}
}

void pf_events_write_warning(const char *msg)
{
	if (!pf_opt.stats_dest[0])
		return;
	pthread_mutex_lock(&ring_lock);
	bool ok = take_token_locked();
	pthread_mutex_unlock(&ring_lock);
	if (!ok)
		return;
	char line[768], m[600];
	pf_json_string(m, sizeof m, msg);
	size_t n = (size_t)pf_report_head(line, sizeof line, "warning", pf_now());
	n += (size_t)snprintf(line + n, sizeof line - n, ",\"msg\":%s", m);
	pf_report_emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
}

uint64_t pf_events_dropped(void)
{
	pthread_mutex_lock(&ring_lock);
	uint64_t lost = dropped;
	pthread_mutex_unlock(&ring_lock);
	return lost;
}

void pf_events_prefork(void)
{
	pthread_mutex_lock(&ring_lock);
}

void pf_events_postfork_parent(void)
{
	pthread_mutex_unlock(&ring_lock);
}

void pf_events_postfork_child(void)
{
	pthread_mutex_init(&ring_lock, NULL);
	pthread_mutex_init(&event_lock, NULL);
	ring_head = ring_len = 0;
	dropped = 0;
}
