/*
 * stats.c - the JSON Lines report (format: README, "Statistics format").
 *
 * Hooks and the table queue events into a fixed ring; prefault's own threads
 * format and write them.  Records are written as they happen, never at exit
 * only: Go programs leave without running exit handlers.
 *
 * Bounds: map, unmap, skip and warning records pass a token bucket (RATE a
 * second, BURST at once); what it refuses, or what finds the ring full, is
 * counted in records_dropped.  progress records come at most every
 * PROGRESS_NS per mapping being brought in, proc records about every
 * PROC_NS while helpers run.  Past MAX_BYTES in one process, one warning
 * says so and nothing more is written.  A destination that cannot be
 * written is reported once on stderr and the report stops; the program
 * runs on.
 *
 * Lock rules: ring_lock guards the ring, the bucket and the drop count, is
 * held only to copy records, and is taken after table_lock when a caller
 * holds both.  proc_lock guards the big line buffer of proc records and is
 * taken first (before attrib_lock, table_lock, ring_lock).  The cadence
 * clocks and the byte count are atomics.
 */
#include "stats.h"
#include "stdio_locks.h"
#include "iolimit.h"
#include "discover.h"
#include "advise.h"
#include "engine.h"
#include "log.h"
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE 128
#define RATE 200                               /* records a second, sustained */
#define BURST 1000
#define PROGRESS_NS (250ll * 1000000ll)
#define PROC_NS (1000ll * 1000000ll)
#define MAX_BYTES (256ull << 20)
#define PROC_LINE 16384

/* attrib.c, library only (the companion has none). */
extern void pf_attrib_drain(void) __attribute__((weak));

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pf_event ring[RING_SIZE];
static unsigned ring_head, ring_len;
static uint64_t dropped;
static double tokens = BURST;                  /* ring_lock */
static int64_t tokens_ns;                      /* ring_lock */
static int64_t last_progress_ns, last_proc_ns; /* atomics */
static uint64_t written;                       /* atomic: bytes so far */
static int broken;                             /* atomic: 1 once a write failed */
static char proc_line[PROC_LINE];              /* proc_lock */

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
	return pf_opt.stats_dest[0] != '\0' && !__atomic_load_n(&broken, __ATOMIC_RELAXED);
}

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

void pf_stats_queue(const struct pf_event *ev)
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

void pf_stats_queue_skip(enum pf_source src, const char *path, uintptr_t addr, size_t len,
			 off_t offset, const char *reason)
{
	if (!pf_stats_enabled())
		return;
	struct pf_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = PF_EV_SKIP;
	ev.t = pf_now();
	ev.addr = addr;
	ev.len = len;
	ev.offset = offset;
	ev.source = src;
	ev.reason = reason;
	snprintf(ev.path, sizeof ev.path, "%s", path);
	pf_stats_queue(&ev);
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
	return snprintf(buf, size, "{\"v\":2,\"ev\":\"%s\",\"t\":%.6f,\"pid\":%d", ev, t, (int)getpid());
}

/* The reason a path destination cannot be appended to, or NULL. */
static const char *open_error(const char *dest)
{
	if (!strcmp(dest, "stderr") || !strncmp(dest, "fd:", 3))
		return NULL;
	char path[512];
	size_t o = 0;
	for (const char *p = dest; *p && o + 24 < sizeof path; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += (size_t)snprintf(path + o, sizeof path - o, "%d", (int)getpid());
			p++;
		} else {
			path[o++] = *p;
		}
	}
	path[o] = '\0';
	int f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (f >= 0) {
		close(f);
		return NULL;
	}
	return strerror(errno);
}

static void complain(const char *value, const char *why)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "prefault: PREFAULT_STATS='%.200s': %s; no statistics\n", value,
			 why);
	if (n > 0)
		pf_dest_write("stderr", msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

bool pf_stats_bad_dest(const char *value)
{
	int saved = errno;
	const char *why = NULL;
	if (!strcmp(value, "") || (!strncmp(value, "fd:", 3) &&
				   (value[3] < '0' || value[3] > '9' || strspn(value + 3, "0123456789") != strlen(value + 3))))
		why = "not a path, stderr or fd:N";
	else if (strlen(value) >= sizeof pf_opt.stats_dest)
		why = "too long";
	else
		why = open_error(value);
	complain(value, why ? why : "cannot be written");
	errno = saved;
	return !pf_opt.log_dest[0] || !strcmp(pf_opt.log_dest, "stderr");
}

static void emit(char *line, size_t n, size_t size)
{
	if (n + 2 >= size)
		n = size - 3;
	line[n++] = '}';
	line[n++] = '\n';
	uint64_t before = __atomic_fetch_add(&written, n, __ATOMIC_RELAXED);
	if (before >= MAX_BYTES)
		return;
	if (before + n > MAX_BYTES) {
		static const char cap[] = ",\"msg\":\"the report reached its size cap (256 MiB): nothing more is written\"}\n";
		char w[256];
		int h = head(w, sizeof w, "warning", pf_now());
		memcpy(w + h, cap, sizeof cap);
		pf_dest_write(pf_opt.stats_dest, w, (size_t)h + sizeof cap - 1);
		return;
	}
	if (pf_dest_write(pf_opt.stats_dest, line, n) && !__atomic_exchange_n(&broken, 1, __ATOMIC_RELAXED)) {
		const char *why = open_error(pf_opt.stats_dest);
		complain(pf_opt.stats_dest, why ? why : "a write failed");
	}
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
	if (pf_discover_wanted && n < sizeof line) {
		const char *dwhy;
		bool on = pf_discover_wanted(&dwhy);
		n += (size_t)snprintf(line + n, sizeof line - n, ",\"discover\":%s,\"discover_why\":\"%s\"",
				      on ? "true" : "false", dwhy);
	}
	emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
}

static size_t faults_json(char *buf, size_t size, const struct pf_faults *f)
{
	char blk[32] = "null";
	if (f->blkio)
		snprintf(blk, sizeof blk, "%.1f", f->blkio_ms);
	return (size_t)snprintf(buf, size,
				"{\"threads\":%u,\"majflt\":%" PRIu64 ",\"minflt\":%" PRIu64
				",\"offcpu_ms\":%.1f,\"blkio_ms\":%s}",
				f->threads, f->majflt, f->minflt, f->offcpu_ms, blk);
}

void pf_stats_write_proc(void)
{
	if (!pf_stats_enabled())
		return;
	__atomic_store_n(&last_proc_ns, pf_now_ns(), __ATOMIC_RELAXED);
	struct pf_faults prog, help;
	pf_procstat_read(&prog, &help);
	char a[200], b[200];
	faults_json(a, sizeof a, &prog);
	faults_json(b, sizeof b, &help);
	pthread_mutex_lock(&proc_lock);
	char *line = proc_line;
	size_t size = sizeof proc_line;
	size_t n = (size_t)head(line, size, "proc", pf_now());
	n += (size_t)snprintf(line + n, size - n,
			      ",\"program\":%s,\"helpers\":%s,\"brought_in\":%" PRIu64 ",\"budget\":%" PRIu64
			      ",\"held\":%" PRIu64 ",\"given_back\":%" PRIu64
			      ",\"tracked\":%zu,\"discovery\":\"%s\",\"discovery_lookup\":\"%s\",\"stdio\":\"%s\"",
			      a, b, pf_engine_brought_in(), pf_engine_budget(), pf_engine_held(),
			      pf_engine_given_back(), pf_table_count(),
			      pf_discover_how ? pf_discover_how() : "off",
			      pf_discover_lookup ? pf_discover_lookup() : "scan",
			      pf_stdio_state ? pf_stdio_state() : "glibc");
	if (n < size)
		n += pf_iolimit_json(line + n, size - n);
	if (pf_procstat_diag_json && n < size)
		n += pf_procstat_diag_json(line + n, size - n);
	pthread_mutex_lock(&ring_lock);
	uint64_t lost = dropped;
	pthread_mutex_unlock(&ring_lock);
	if (n < size)
		n += (size_t)snprintf(line + n, size - n, ",\"records_dropped\":%" PRIu64, lost);
	emit(line, n < size ? n : size - 1, size);
	pthread_mutex_unlock(&proc_lock);
}

/* One progress record per mapping a helper is bringing in. */
static void write_progress(void)
{
	struct {
		uint64_t id, bytes_in, resident_before;
		size_t len, done;
		int64_t t_begin_ns;
	} act[16];
	unsigned n = 0;
	pf_table_lock();
	for (struct pf_mapping *m = pf_table_head_locked(); m && n < 16; m = m->hh.next) {
		if (m->state != PF_ACTIVE)
			continue;
		act[n].id = m->id;
		act[n].bytes_in = m->bytes_in;
		act[n].resident_before = m->resident_before;
		act[n].len = m->len;
		act[n].done = m->done;
		act[n].t_begin_ns = m->t_begin_ns;
		n++;
	}
	pf_table_unlock();
	int64_t now = pf_now_ns();
	for (unsigned i = 0; i < n; i++) {
		char line[400];
		size_t k = (size_t)head(line, sizeof line, "progress", pf_now());
		k += (size_t)snprintf(line + k, sizeof line - k,
				      ",\"id\":%" PRIu64 ",\"len\":%zu,\"done\":%zu,\"bytes_in\":%" PRIu64
				      ",\"resident_before\":%" PRIu64 ",\"ms\":%.3f",
				      act[i].id, act[i].len, act[i].done, act[i].bytes_in,
				      act[i].resident_before, (double)(now - act[i].t_begin_ns) / 1e6);
		emit(line, k, sizeof line);
	}
}

/* Claims a cadence slot: true for one caller once period has passed. */
static bool due(int64_t *last, int64_t period, int64_t now)
{
	int64_t was = __atomic_load_n(last, __ATOMIC_RELAXED);
	return now - was >= period &&
	       __atomic_compare_exchange_n(last, &was, now, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

void pf_stats_tick(void)
{
	if (!pf_stats_enabled())
		return;
	int64_t now = pf_now_ns();
	if (!due(&last_progress_ns, PROGRESS_NS, now))
		return;
	pf_stats_flush();
	write_progress();
	if (due(&last_proc_ns, PROC_NS, now))
		pf_stats_write_proc();
	else if (pf_attrib_drain)
		pf_attrib_drain(); /* rings hold 1024 samples a thread */
}

void pf_stats_write_record(const char *ev, const char *fields)
{
	if (!pf_stats_enabled())
		return;
	char line[2048];
	size_t n = (size_t)head(line, sizeof line, ev, pf_now());
	n += (size_t)snprintf(line + n, sizeof line - n, "%s", fields);
	emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
}

void pf_stats_write_warning(const char *msg)
{
	pthread_mutex_lock(&ring_lock);
	bool ok = take_token_locked();
	pthread_mutex_unlock(&ring_lock);
	if (!ok)
		return;
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
	pthread_mutex_init(&proc_lock, NULL);
	written = 0;
	last_progress_ns = last_proc_ns = 0;
	ring_head = ring_len = 0;
	dropped = 0;
}
