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
 * Strings: every string written is valid JSON and valid UTF-8 (json_string):
 * quotes, backslashes and control characters are escaped, valid UTF-8 is
 * written as it is, and a byte that is not part of valid UTF-8 becomes
 * U+FFFD.  Then, for a file name or an argument (paths, "exe", "argv"), a
 * sibling field NAME_hex holds the original bytes in hex, so that the name
 * can be had back exactly (README, "Statistics format").
 *
 * Lock rules: ring_lock guards the ring, the bucket and the drop count, is
 * held only to copy records, and is taken after table_lock when a caller
 * holds both.  proc_lock guards the big line buffer of proc records and is
 * taken first (before attrib_lock, table_lock, ring_lock).  event_lock
 * guards the line buffers of the other records while one is formatted and
 * written; nothing is taken under it.  The cadence clocks and the byte
 * count are atomics.
 */
#include "work/stats.h"
#include "core/account.h"
#include "lib/stdio_locks.h"
#include "work/iolimit.h"
#include "lib/discover.h"
#include "sys/advise.h"
#include "core/budget.h"
#include "work/engine.h"
#include "core/log.h"
#include "core/options.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define RING_SIZE 128
#define RATE 200                               /* records a second, sustained */
#define BURST 1000
#define PROGRESS_NS (250ll * 1000000ll)
#define PROC_NS (1000ll * 1000000ll)
#define MAX_BYTES (256ull << 20)
#define PROC_LINE 16384
/* The start record names the program, bounded: */
#define ARGV_MAX 8          /* arguments */
#define ARG_MAX_BYTES 256   /* bytes of one argument */
#define ARGV_MAX_BYTES 1024 /* bytes of them all */
#define EXE_MAX_BYTES 512   /* bytes of the executable's path */
/* A string of n bytes as JSON: each byte at most 6 characters ("\u001f"),
 * and the quotes; its _hex twin: 2 a byte and the quotes. */
#define JSON_MAX(n) (6 * (n) + 3)
#define HEX_MAX(n) (2 * (n) + 3)

/* attrib.c, library only (the companion has none). */
extern void pf_attrib_drain(void) __attribute__((weak));

static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t event_lock = PTHREAD_MUTEX_INITIALIZER;
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

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when the byte
 * at p starts none: no overlong form, no surrogate, nothing past U+10FFFF. */
static size_t utf8_length(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Writes the n bytes at s into buf as a JSON string (with quotes; at most
 * JSON_MAX(n) characters and a NUL); returns its length.  *lossy becomes
 * true when a byte was not valid UTF-8 (written as U+FFFD). */
static size_t json_string_n(char *buf, size_t size, const char *s, size_t n, bool *lossy)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t o = 0;
	if (size < 3)
		return 0;
	buf[o++] = '"';
	while (p < end && o + 8 < size) {
		size_t k = utf8_length(p, (size_t)(end - p));
		if (k == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			*lossy = true;
			p++;
		} else if (k > 1) {
			memcpy(buf + o, p, k);
			o += k;
			p += k;
		} else if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\u%04x", *p++);
		} else {
			buf[o++] = (char)*p++;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return o;
}

/* s (a C string) as a JSON string, lossy or not: for messages. */
static size_t json_string(char *buf, size_t size, const char *s)
{
	bool lossy = false;
	return json_string_n(buf, size, s, strlen(s), &lossy);
}

size_t pf_json_string(char *buf, size_t size, const char *s)
{
	return json_string(buf, size, s);
}

/* The n bytes at s as a JSON string of hex digits (HEX_MAX(n)). */
static size_t json_hex(char *buf, size_t size, const char *s, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	if (size < 3)
		return 0;
	buf[o++] = '"';
	for (size_t i = 0; i < n && o + 3 < size; i++) {
		buf[o++] = digits[(unsigned char)s[i] >> 4];
		buf[o++] = digits[(unsigned char)s[i] & 15];
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return o;
}

/* "name":"s", and ,"name_hex":"..." when s is not valid UTF-8: a file
 * name, had back exactly from the record.  At most
 * JSON_MAX(n) + HEX_MAX(n) + 2 * strlen(name) + 10 characters. */
static size_t json_name_field(char *buf, size_t size, const char *name, const char *s, size_t n)
{
	bool lossy = false;
	size_t o = (size_t)snprintf(buf, size, "\"%s\":", name);
	if (o >= size)
		return size ? size - 1 : 0;
	o += json_string_n(buf + o, size - o, s, n, &lossy);
	if (lossy && o < size) {
		int k = snprintf(buf + o, size - o, ",\"%s_hex\":", name);
		if (k > 0 && (size_t)k < size - o)
			o += (size_t)k + json_hex(buf + o + k, size - o - (size_t)k, s, n);
	}
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
	/* Static, not on the stack: 10 KiB would be much for a destructor on a
	 * thread with a small stack. */
	static char line[6144], path[JSON_MAX(PF_PATH_MAX) + HEX_MAX(PF_PATH_MAX) + 24];
	size_t n;
	pthread_mutex_lock(&event_lock);
	json_name_field(path, sizeof path, "path", e->path, strnlen(e->path, sizeof e->path));
	switch (e->type) {
	case PF_EV_MAP:
		n = (size_t)head(line, sizeof line, "map", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",\"addr\":\"0x%" PRIxPTR "\",\"len\":%zu,"
				      "\"offset\":%lld,%s,\"source\":\"%s\"",
				      e->id, e->addr, e->len, (long long)e->offset, path,
				      source_name(e->source));
		break;
	case PF_EV_UNMAP:
		n = (size_t)head(line, sizeof line, "unmap", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",\"addr\":\"0x%" PRIxPTR "\",\"len\":%zu,%s",
				      e->id, e->addr, e->len, path);
		break;
	case PF_EV_SKIP:
		n = (size_t)head(line, sizeof line, "skip", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",%s,\"len\":%zu,\"reason\":\"%s\",\"source\":\"%s\"",
				      path, e->len, e->reason, source_name(e->source));
		break;
	case PF_EV_DONE:
	default:
		n = (size_t)head(line, sizeof line, "done", e->t);
		n += (size_t)snprintf(line + n, sizeof line - n,
				      ",\"id\":%" PRIu64 ",%s,\"len\":%zu,\"bytes_in\":%" PRIu64
				      ",\"resident_before\":%" PRIu64 ",\"ms\":%.3f,\"result\":\"%s\","
				      "\"errors\":%u,\"last_error\":\"%s\"",
				      e->id, path, e->len, e->bytes_in, e->resident_before, e->ms,
				      e->reason, e->errors, e->last_err ? strerrorname_np(e->last_err) : "");
		break;
	}
	emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
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

/* n bytes of s cut to at most max, not inside a UTF-8 sequence. */
static size_t cut_at(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t k = max;
	while (k > 0 && k + 3 > max && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return ((unsigned char)s[k] & 0xc0) == 0x80 ? max : k;
}

static char program_raw[4096]; /* proc_lock */

/* The start record's ,"exe":...,"exe_cut":b,"argv":[...],"argv_cut":b of
 * process pid (0: this one), bounded (ARGV_MAX...), from /proc without
 * malloc; null for what cannot be read.  proc_lock held. */
static size_t program_json(char *buf, size_t size, pid_t pid)
{
	char path[64], who[24] = "self";
	if (pid)
		snprintf(who, sizeof who, "%d", (int)pid);
	size_t o = 0;
	snprintf(path, sizeof path, "/proc/%s/exe", who);
	ssize_t n = readlink(path, program_raw, sizeof program_raw);
	if (n < 0) {
		o += (size_t)snprintf(buf + o, size - o, ",\"exe\":null,\"exe_cut\":false");
	} else {
		size_t keep = cut_at(program_raw, (size_t)n, EXE_MAX_BYTES);
		buf[o++] = ',';
		o += json_name_field(buf + o, size - o, "exe", program_raw, keep);
		o += (size_t)snprintf(buf + o, size - o, ",\"exe_cut\":%s",
				      keep < (size_t)n || (size_t)n == sizeof program_raw ? "true" : "false");
	}

	snprintf(path, sizeof path, "/proc/%s/cmdline", who);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return o + (size_t)snprintf(buf + o, size - o, ",\"argv\":null,\"argv_cut\":false");
	size_t r = 0;
	for (ssize_t k; r < sizeof program_raw &&
	     (k = read(fd, program_raw + r, sizeof program_raw - r)) != 0;) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		r += (size_t)k;
	}
	close(fd);
	struct { size_t at, len; } arg[ARGV_MAX];
	unsigned nargs = 0;
	size_t pos = 0, total = 0;
	/* A cmdline that fills the buffer is longer than the bounds allow. */
	bool cut = r == sizeof program_raw;
	while (pos < r) {
		if (nargs == ARGV_MAX || total == ARGV_MAX_BYTES) {
			cut = true;
			break;
		}
		size_t len = strnlen(program_raw + pos, r - pos);
		size_t max = ARGV_MAX_BYTES - total < ARG_MAX_BYTES ? ARGV_MAX_BYTES - total : ARG_MAX_BYTES;
		size_t keep = cut_at(program_raw + pos, len, max);
		cut |= keep < len;
		arg[nargs].at = pos;
		arg[nargs].len = keep;
		nargs++;
		total += keep;
		pos += len + 1;
	}
	bool lossy = false;
	o += (size_t)snprintf(buf + o, size - o, ",\"argv\":[");
	for (unsigned i = 0; i < nargs && o < size; i++) {
		if (i)
			buf[o++] = ',';
		o += json_string_n(buf + o, size - o, program_raw + arg[i].at, arg[i].len, &lossy);
	}
	o += (size_t)snprintf(buf + o, size - o, "]");
	if (lossy) {
		o += (size_t)snprintf(buf + o, size - o, ",\"argv_hex\":[");
		for (unsigned i = 0; i < nargs && o < size; i++) {
			if (i)
				buf[o++] = ',';
			o += json_hex(buf + o, size - o, program_raw + arg[i].at, arg[i].len);
		}
		o += (size_t)snprintf(buf + o, size - o, "]");
	}
	o += (size_t)snprintf(buf + o, size - o, ",\"argv_cut\":%s", cut ? "true" : "false");
	return o < size ? o : size - 1;
}

void pf_stats_write_start(pid_t program)
{
	if (!pf_stats_enabled())
		return;
	pthread_mutex_lock(&proc_lock);
	char *line = proc_line;
	size_t size = sizeof proc_line;
	size_t n = (size_t)head(line, size, "start", pf_now());
	const char *why = pf_inactive_reason();
	n += (size_t)snprintf(line + n, size - n,
			      ",\"active\":%s,\"reason\":\"%s\",\"budget\":%" PRIu64 ",\"window\":%" PRIu64
			      ",\"threads\":%u,\"populate_read\":%s,\"version\":\"0.1.0\",\"prefetch\":%s",
			      why ? "false" : "true", why ? why : "", pf_engine_budget(), pf_opt.window,
			      pf_opt.threads, pf_populate_read_supported() ? "true" : "false",
			      !why && pf_opt.prefetch ? "true" : "false");
	if (pf_discover_wanted && n < size) {
		const char *dwhy;
		bool on = pf_discover_wanted(&dwhy);
		n += (size_t)snprintf(line + n, size - n, ",\"discover\":%s,\"discover_why\":\"%s\"",
				      on ? "true" : "false", dwhy);
	}
	/* Worst case, well within PROC_LINE: 1 KiB of arguments and 512 bytes
	 * of path, every byte escaped and in hex. */
	if (n < size)
		n += program_json(line + n, size - n, program);
	emit(line, n < size ? n : size - 1, size);
	pthread_mutex_unlock(&proc_lock);
}

void pf_stats_keep_up(void)
{
	if (!pf_stats_enabled())
		return;
	pf_stats_flush();
	if (pf_attrib_drain)
		pf_attrib_drain();
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

void pf_stats_proc_prefork(void)
{
	pthread_mutex_lock(&proc_lock);
}

void pf_stats_proc_postfork_parent(void)
{
	pthread_mutex_unlock(&proc_lock);
}

void pf_stats_proc_postfork_child(void)
{
	pthread_mutex_init(&proc_lock, NULL);
}

void pf_stats_prefork(void)
{
	pthread_mutex_lock(&ring_lock);
	pthread_mutex_lock(&event_lock);
}

void pf_stats_postfork_parent(void)
{
	pthread_mutex_unlock(&event_lock);
	pthread_mutex_unlock(&ring_lock);
}

void pf_stats_postfork_child(void)
{
	pthread_mutex_init(&ring_lock, NULL);
	pthread_mutex_init(&event_lock, NULL);
	written = 0;
	last_progress_ns = last_proc_ns = 0;
	ring_head = ring_len = 0;
	dropped = 0;
}
