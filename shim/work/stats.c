/*
 * stats.c - the records that need the engine (format: docs/stats-format.md):
 * the start record (settings, the program), progress records of
 * the mappings being brought in, proc records (fault counts, the engine's
 * totals, what the host registered), and their cadence.
 *
 * Bounds: progress records come at most every PROGRESS_NS per mapping being
 * brought in, proc records about every PROC_NS while helpers run.
 *
 * Lock rules: proc_lock guards the big line buffer of start and proc records
 * and is taken first (before attrib_lock, table_lock, ring_lock).  The
 * cadence clocks are atomics.  host is written by pf_stats_init before any
 * thread of ours exists, read without a lock.
 */
#include "work/stats.h"
#include "work/recall.h"
#include "core/account.h"
#include "core/budget.h"
#include "core/events.h"
#include "core/log.h"
#include "core/options.h"
#include "core/report.h"
#include "core/table.h"
#include "sys/advise.h"
#include "sys/clock.h"
#include "work/iolimit.h"
#include "work/prior.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define PROGRESS_NS (250ll * 1000000ll)
#define PROC_NS (1000ll * 1000000ll)
#define PROC_LINE 16384
/* The start record names the program, bounded: */
#define ARGV_MAX 8          /* arguments */
#define ARG_MAX_BYTES 256   /* bytes of one argument */
#define ARGV_MAX_BYTES 1024 /* bytes of them all */
#define EXE_MAX_BYTES 512   /* bytes of the executable's path */

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_progress_ns, last_proc_ns; /* atomics */
static char proc_line[PROC_LINE];              /* proc_lock */
static struct pf_stats_host host;

void pf_stats_init(const struct pf_stats_host *h)
{
	host = *h;
	pf_log_set_warning_sink(pf_events_write_warning);
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
		o += pf_json_name_field(buf + o, size - o, "exe", program_raw, keep);
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
		o += pf_json_string_n(buf + o, size - o, program_raw + arg[i].at, arg[i].len, &lossy);
	}
	o += (size_t)snprintf(buf + o, size - o, "]");
	if (lossy) {
		o += (size_t)snprintf(buf + o, size - o, ",\"argv_hex\":[");
		for (unsigned i = 0; i < nargs && o < size; i++) {
			if (i)
				buf[o++] = ',';
			o += pf_json_hex(buf + o, size - o, program_raw + arg[i].at, arg[i].len);
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
	size_t n = (size_t)pf_report_head(line, size, "start", pf_now());
	const char *why = host.inactive_reason ? host.inactive_reason() : NULL;
	n += (size_t)snprintf(line + n, size - n,
			      ",\"active\":%s,\"reason\":\"%s\",\"budget\":%" PRIu64 ",\"window\":%" PRIu64
			      ",\"threads\":%u,\"populate_read\":%s,\"version\":\"0.1.0\",\"prefetch\":%s",
			      why ? "false" : "true", why ? why : "", pf_budget_limit(), pf_opt.window,
			      pf_opt.threads, pf_populate_read_supported() ? "true" : "false",
			      !why && pf_opt.prefetch ? "true" : "false");
	if (host.discover_wanted && n < size) {
		const char *dwhy;
		bool on = host.discover_wanted(&dwhy);
		n += (size_t)snprintf(line + n, size - n, ",\"discover\":%s,\"discover_why\":\"%s\"",
				      on ? "true" : "false", dwhy);
	}
	/* Worst case, well within PROC_LINE: 1 KiB of arguments and 512 bytes
	 * of path, every byte escaped and in hex. */
	if (n < size)
		n += program_json(line + n, size - n, program);
	pf_report_emit(line, n < size ? n : size - 1, size);
	pthread_mutex_unlock(&proc_lock);
}

void pf_stats_keep_up(void)
{
	if (!pf_stats_enabled())
		return;
	pf_stats_flush();
	if (host.drain)
		host.drain();
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
	if (host.read_faults)
		host.read_faults(&prog, &help);
	else
		pf_procstat_read(&prog, &help);
	char a[200], b[200];
	faults_json(a, sizeof a, &prog);
	faults_json(b, sizeof b, &help);
	pthread_mutex_lock(&proc_lock);
	char *line = proc_line;
	size_t size = sizeof proc_line;
	size_t n = (size_t)pf_report_head(line, size, "proc", pf_now());
	n += (size_t)snprintf(line + n, size - n,
			      ",\"program\":%s,\"helpers\":%s,\"brought_in\":%" PRIu64 ",\"budget\":%" PRIu64
			      ",\"held\":%" PRIu64 ",\"given_back\":%" PRIu64 ",\"passed_by\":%" PRIu64
			      ",\"tracked\":%zu,\"discovery\":\"%s\",\"discovery_lookup\":\"%s\",\"stdio\":\"%s\"",
			      a, b, pf_account_brought_in(), pf_budget_limit(), pf_account_held(),
			      pf_account_given_back(), pf_prior_passed(), pf_table_count(),
			      host.discover_how ? host.discover_how() : "off",
			      host.discover_lookup ? host.discover_lookup() : "scan",
			      host.stdio_state ? host.stdio_state() : "glibc");
	if (n < size)
		n += pf_iolimit_json(line + n, size - n);
	if (pf_recall_enabled() && n < size) {
		uint64_t r, u, x;
		pf_recall_totals(&r, &u, &x);
		n += (size_t)snprintf(line + n, size - n,
				      ",\"replayed\":%" PRIu64 ",\"replay_used\":%" PRIu64
				      ",\"unremembered\":%" PRIu64, r, u, x);
	}
	if (host.mappings_json && n < size)
		n += host.mappings_json(line + n, size - n);
	uint64_t lost = pf_events_dropped();
	if (n < size)
		n += (size_t)snprintf(line + n, size - n, ",\"records_dropped\":%" PRIu64, lost);
	pf_report_emit(line, n < size ? n : size - 1, size);
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
		size_t k = (size_t)pf_report_head(line, sizeof line, "progress", pf_now());
		k += (size_t)snprintf(line + k, sizeof line - k,
				      ",\"id\":%" PRIu64 ",\"len\":%zu,\"done\":%zu,\"bytes_in\":%" PRIu64
				      ",\"resident_before\":%" PRIu64 ",\"ms\":%.3f",
				      act[i].id, act[i].len, act[i].done, act[i].bytes_in,
				      act[i].resident_before, (double)(now - act[i].t_begin_ns) / 1e6);
		pf_report_emit(line, k, sizeof line);
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
	else if (host.drain)
		host.drain(); /* rings hold 1024 samples a thread */
}

void pf_stats_postfork_child(void)
{
	pf_report_postfork_child();
	pthread_mutex_init(&proc_lock, NULL);
	last_progress_ns = last_proc_ns = 0;
}
