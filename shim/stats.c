/*
 * stats.c - the JSON Lines report (format: README, "Statistics format").
 *
 * Hooks and the table queue events into a fixed ring; prefault's own threads
 * format and write them.  Lock rule: ring_lock guards the ring and the drop
 * count, is held only to copy records, and is taken after table_lock when a
 * caller holds both.  Records are written as they happen, never at exit
 * only: Go programs leave without running exit handlers.
 */
#include "stats.h"
#include "advise.h"
#include "engine.h"
#include "log.h"
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE 128

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pf_event ring[RING_SIZE];
static unsigned ring_head, ring_len;
static uint64_t dropped;

double pf_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t pf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool pf_stats_enabled(void)
{
	return pf_opt.stats_dest[0] != '\0';
}

void pf_stats_queue(const struct pf_event *ev)
{
	if (!pf_stats_enabled())
		return;
	pthread_mutex_lock(&ring_lock);
	if (ring_len == RING_SIZE) {
		dropped++;
	} else {
		ring[(ring_head + ring_len) % RING_SIZE] = *ev;
		ring_len++;
	}
	pthread_mutex_unlock(&ring_lock);
}

void pf_stats_queue_mapping(enum pf_ev_type type, const struct pf_mapping *m, uintptr_t addr,
			    size_t len)
{
	if (!pf_stats_enabled())
		return;
	struct pf_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = type;
	ev.t = pf_now();
	ev.id = m->id;
	ev.addr = addr;
	ev.len = len;
	ev.offset = m->offset + (off_t)(addr - m->start);
	ev.source = m->source;
	memcpy(ev.path, m->path, sizeof ev.path);
	pf_stats_queue(&ev);
}

/* Appends s to buf as a JSON string (with quotes). */
static size_t json_string(char *buf, size_t size, const char *s)
{
	size_t o = 0;
	if (o + 1 < size)
		buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 7 < size; p++) {
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p < 0x20) {
			o += (size_t)snprintf(buf + o, size - o, "\\u%04x", *p);
		} else {
			buf[o++] = (char)*p;
		}
	}
	if (o + 1 < size)
		buf[o++] = '"';
	buf[o] = '\0';
	return o;
}

static int head(char *buf, size_t size, const char *ev, double t)
{
	return snprintf(buf, size, "{\"v\":1,\"ev\":\"%s\",\"t\":%.6f,\"pid\":%d", ev, t, (int)getpid());
}

static void emit(char *line, size_t n, size_t size)
{
	if (n + 2 >= size)
		n = size - 3;
	line[n++] = '}';
	line[n++] = '\n';
	pf_dest_write(pf_opt.stats_dest, line, n);
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
	char line[1536], path[1100];
	size_t n;
	json_string(path, sizeof path, e->path);
	switch (e->type) {
	case PF_EV_MAP:
		n = (size_t)head(line, sizeof line, "map", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",\"addr\":\"0x%" PRIxPTR "\",\"len\":%zu,"
				      "\"offset\":%lld,\"path\":%s,\"source\":\"%s\"",
				      e->id, e->addr, e->len, (long long)e->offset, path,
				      source_name(e->source));
		break;
	case PF_EV_UNMAP:
		n = (size_t)head(line, sizeof line, "unmap", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",\"addr\":\"0x%" PRIxPTR "\",\"len\":%zu,\"path\":%s",
				      e->id, e->addr, e->len, path);
		break;
	case PF_EV_SKIP:
		n = (size_t)head(line, sizeof line, "skip", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"path\":%s,\"len\":%zu,\"reason\":\"%s\",\"source\":\"%s\"",
				      path, e->len, e->reason, source_name(e->source));
		break;
	case PF_EV_DONE:
	default:
		n = (size_t)head(line, sizeof line, "done", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",\"path\":%s,\"len\":%zu,\"bytes_in\":%" PRIu64
				      ",\"resident_before\":%" PRIu64 ",\"ms\":%.3f,\"result\":\"%s\","
				      "\"errors\":%u,\"last_error\":\"%s\"",
				      e->id, path, e->len, e->bytes_in, e->resident_before, e->ms,
				      e->reason, e->errors, e->last_err ? strerrorname_np(e->last_err) : "");
		break;
	}
	emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
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

void pf_stats_write_start(void)
{
	if (!pf_stats_enabled())
		return;
	char line[768];
	size_t n = (size_t)head(line, sizeof line, "start", pf_now());
	const char *why = pf_inactive_reason();
	n += (size_t)snprintf(line + n, sizeof line - n,
			      ",\"active\":%s,\"reason\":\"%s\",\"budget\":%" PRIu64 ",\"window\":%" PRIu64
			      ",\"threads\":%u,\"populate_read\":%s,\"version\":\"0.1.0\"",
			      why ? "false" : "true", why ? why : "", pf_engine_budget(), pf_opt.window,
			      pf_opt.threads, pf_populate_read_supported() ? "true" : "false");
	emit(line, n, sizeof line);
}

static size_t faults_json(char *buf, size_t size, const struct pf_faults *f)
{
	return (size_t)snprintf(buf, size,
				"{\"threads\":%u,\"majflt\":%" PRIu64 ",\"minflt\":%" PRIu64 ",\"offcpu_ms\":%.1f}",
				f->threads, f->majflt, f->minflt, f->offcpu_ms);
}

void pf_stats_write_proc(void)
{
	if (!pf_stats_enabled())
		return;
	struct pf_faults prog, help;
	pf_procstat_read(&prog, &help);
	char line[768], a[200], b[200];
	faults_json(a, sizeof a, &prog);
	faults_json(b, sizeof b, &help);
	pthread_mutex_lock(&ring_lock);
	uint64_t lost = dropped;
	pthread_mutex_unlock(&ring_lock);
	size_t n = (size_t)head(line, sizeof line, "proc", pf_now());
	n += (size_t)snprintf(line + n, sizeof line - n,
			      ",\"program\":%s,\"helpers\":%s,\"brought_in\":%" PRIu64 ",\"budget\":%" PRIu64
			      ",\"tracked\":%zu,\"records_dropped\":%" PRIu64,
			      a, b, pf_engine_brought_in(), pf_engine_budget(), pf_table_count(), lost);
	emit(line, n, sizeof line);
}

void pf_stats_write_warning(const char *msg)
{
	char line[768], m[600];
	json_string(m, sizeof m, msg);
	size_t n = (size_t)head(line, sizeof line, "warning", pf_now());
	n += (size_t)snprintf(line + n, sizeof line - n, ",\"msg\":%s", m);
	emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
}

void pf_stats_lock(void)
{
	pthread_mutex_lock(&ring_lock);
}

void pf_stats_unlock(void)
{
	pthread_mutex_unlock(&ring_lock);
}

void pf_stats_after_fork_child(void)
{
	pthread_mutex_init(&ring_lock, NULL);
	ring_head = ring_len = 0;
	dropped = 0;
}
