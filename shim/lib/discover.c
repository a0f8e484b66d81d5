/*
 * discover.c - finds file mappings made by raw system calls (Go's
 * syscall.Mmap, golang.org/x/sys/unix.Mmap) by watching /proc/thread-self/maps,
 * and feeds them to the table as PF_SRC_DISCOVER entries.
 *
 * Design
 *   One plain pthread, "prefault-disc", every signal blocked, registered as
 *   one of prefault's threads.  It is started by the first hook call after
 *   pf_discover_init() decided discovery is wanted (pf_discover_poke), never
 *   from the constructor.  It loops:
 *
 *     1. sleep one period (below);
 *     2. activity test: did any other thread of the process run since the
 *        last poll?  (process CPU clock minus this thread's: two system
 *        calls, no file.)  Only a running thread can change the address
 *        space, so an idle process costs nothing more than the wakeup;
 *     3. if it ran, change test: VmSize from /proc/thread-self/statm (open,
 *        read, close: prefault holds no descriptor between uses);
 *     4. scan maps when VmSize changed (but for growth that perf records
 *        explained), or when the program ran and the backstop is due (every
 *        second, or 500 times the last scan's cost if more: munmap + mmap of
 *        the same size leaves VmSize unchanged).
 *
 *   With mapwatch.c's records, the sleep of step 1 ends at each record of a
 *   file mapping; where the kernel has PROCMAP_QUERY (procmap.c) the
 *   record's range alone is looked up and admitted by the same consider()
 *   as a scan's lines, and what the table held there from before the
 *   record's time is forgotten (pf_table_clear_stale).  Without it, a record
 *   asks for a scan.
 *
 *   A scan snapshots the table (entry ranges, sources, identities), then
 *   reads maps in chunks into a static buffer (no malloc, any size; a line
 *   may span two reads) and walks lines and snapshot together in address
 *   order:
 *     - a discovered entry stays as long as lines of its file, at the right
 *       offsets, cover it; what they no longer cover is forgotten;
 *     - a readable line of a regular file that no entry covers is tracked,
 *       unless it belongs to a program or library (a file with an executable
 *       mapping among its consecutive lines), is smaller than
 *       PREFAULT_MIN_SIZE, is excluded by PREFAULT_INCLUDE/EXCLUDE, or its
 *       path no longer names it (deleted, replaced: "special").  A rejected
 *       line is remembered (so it is reported once and never stat'ed again).
 *
 * Pacing
 *   A wakeup costs this thread 10-100 us of CPU on a virtual machine (it
 *   varies with the host's load), the rest of an idle poll ~1 us.  While
 *   the program runs, the period is PERIOD_ACTIVE (2 ms); once it stops,
 *   the period grows with the time it has been idle (idle time / DECAY) up
 *   to the idle period, which the thread paces from its own CPU time,
 *   every half second, towards IDLE_SHARE
 *   (0.12% of a core), within [PERIOD_IDLE_MIN, PERIOD_IDLE_MAX].  Scans
 *   spend CPU from a bucket filled at SCAN_SHARE of a core (bucket_allows),
 *   so a program that maps and unmaps all the time costs at most ~5% of a
 *   core, and a single change is scanned at once.  The price: the first mapping after a long idle spell
 *   waits for the next idle poll (half the idle period, median).  With
 *   mapwatch.c's records, new mappings need no poll: polling is left only
 *   to notice munmaps (which make no record), so the period grows six
 *   times faster (DECAY_WATCHED), up to a second, paced towards 0.02%.
 *   Other threads' CPU counts as work, not housekeeping (Go's sysmon, a
 *   timer), only above BUSY_NS or with a change of VmSize.
 *
 * Lock rules
 *   Only the discovery thread touches the scan state below (buffer, snapshot,
 *   rejected set, pacing, bucket); query_ok is set by the hook that starts
 *   it, before pthread_create.  table_lock is taken through pf_table_lock() only
 *   to copy the snapshot and to re-check an entry before forgetting it; no
 *   system call is made while it is held.  disc_state is the only state
 *   shared with the hooks.
 */
#include "lib/discover.h"
#include "core/admission.h"
#include "work/helpers.h"
#include "lib/gonote.h"
#include "core/log.h"
#include "lib/mapwatch.h"
#include "core/options.h"
#include "sys/procmap.h"
#include "sys/real.h"
#include "work/stats.h"
#include "core/table.h"
#include "sys/threads.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS 1000000LL
#define PERIOD_ACTIVE (2 * NS_PER_MS)
#define DECAY 25                    /* period: idle time so far / DECAY */
#define DECAY_WATCHED 4             /* ... when mapwatch.c reports new mappings */
#define ACTIVITY_NS 5000            /* others' CPU that counts as running */
#define BUSY_NS 200000              /* ... as working, not housekeeping */
#define PERIOD_IDLE_START (16 * NS_PER_MS)
#define PERIOD_IDLE_MIN (4 * NS_PER_MS)
#define PERIOD_IDLE_MAX (60 * NS_PER_MS)
#define IDLE_SHARE 0.0012           /* of one core, for idle polling */
#define PERIOD_IDLE_MAX_WATCHED (1000 * NS_PER_MS) /* with mapwatch.c */
#define IDLE_SHARE_WATCHED 0.0002
#define PACE_WINDOW (500 * NS_PER_MS)
#define BACKSTOP_MIN (1000 * NS_PER_MS)
#define BACKSTOP_FACTOR 500         /* backstop scans cost <= 0.2% */
#define BACKSTOP_IDLE_FACTOR 10     /* ... and 10 times rarer after housekeeping only */
#define SCAN_SHARE 0.05             /* scans cost <= 5% of a core ... */
#define SCAN_BURST (20 * NS_PER_MS) /* ... with bursts of this much CPU */
#define RECS_MAX 64                 /* perf records handled at one wakeup */
#define THREAD_STACK (256 * 1024)
#define SKIPS_PER_SCAN 64           /* skip records one scan may queue */

/* ------------------------------------------------------------------ */
/* State shared with the hooks                                         */

enum { DISC_OFF, DISC_WANTED, DISC_STARTING, DISC_RUNNING };
static _Atomic int disc_state = DISC_OFF;
static bool disc_wanted; /* written by pf_discover_init() only */
static const char *disc_why = "inert"; /* ... and why */
static _Atomic pid_t disc_tid; /* the thread's id, once it runs */
static atomic_bool disc_watch_threads; /* the process had other threads at its start */

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* /proc/thread-self stays valid after the main thread exits; /proc/self
 * (the leader's) then shows no mappings. */
static const char *statm_path = "/proc/thread-self/statm";
static const char *maps_path = "/proc/thread-self/maps";

/* VmSize in pages, or 0 when statm cannot be read. */
static uint64_t read_vmsize(void)
{
	char b[64];
	int fd = open(statm_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, b, sizeof b - 1);
	close(fd);
	uint64_t v = 0;
	for (ssize_t i = 0; i < r && b[i] >= '0' && b[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(b[i] - '0');
	return v;
}

/* ------------------------------------------------------------------ */
/* The table as it was when the scan began                             */

struct snap {
	uintptr_t start, end;
	uintptr_t cursor;   /* discovered entries: covered up to here so far */
	uint64_t offset;
	uint64_t ino;
	uint64_t id;
	bool discovered;
};

static struct snap *snap;     /* pf_sys_mmap'ed, grown as the table grows */
static size_t snap_cap, snap_n;

static bool snap_reserve(size_t want)
{
	if (want <= snap_cap)
		return true;
	size_t cap = snap_cap ? snap_cap : 256;
	while (cap < want)
		cap *= 2;
	void *p = pf_sys_mmap(NULL, cap * sizeof *snap, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	if (snap)
		pf_sys_munmap(snap, snap_cap * sizeof *snap);
	snap = p;
	snap_cap = cap;
	return true;
}

/* Copies the table; false when it did not fit (try again next time). */
static bool snap_take(void)
{
	if (!snap_reserve(pf_table_count() + 16))
		return false;
	bool fit = true;
	snap_n = 0;
	pf_table_lock();
	struct pf_mapping *m, *tmp, *head = pf_table_head_locked();
	HASH_ITER(hh, head, m, tmp) {
		if (snap_n == snap_cap) {
			fit = false;
			break;
		}
		struct snap *s = &snap[snap_n++];
		s->start = s->cursor = m->start;
		s->end = m->start + m->len;
		s->offset = (uint64_t)m->offset;
		s->ino = (uint64_t)m->ino;
		s->id = m->id;
		s->discovered = m->source == PF_SRC_DISCOVER;
	}
	pf_table_unlock();
	if (!fit)
		return false;
	/* Shell sort by start: no allocation, fine for thousands of entries. */
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
		size_t gap = gaps[g];
		for (size_t i = gap; i < snap_n; i++) {
			struct snap t = snap[i];
			size_t j = i;
			for (; j >= gap && snap[j - gap].start > t.start; j -= gap)
				snap[j] = snap[j - gap];
			snap[j] = t;
		}
	}
	return true;
}

/* Does the line show the file of entry s at the offsets s expects? */
static bool line_matches(const struct pf_maps_line *l, const struct snap *s)
{
	return l->ino == s->ino &&
	       l->offset + (s->start - l->start) == s->offset;
}

/* ------------------------------------------------------------------ */
/* Ranges to forget, found by a scan and forgotten after it             */

struct gap {
	uintptr_t start, end;
	uintptr_t entry;  /* the discovered entry it was part of, as it was */
	size_t entry_len;
	uint64_t id;
};

#define GAPS_MAX 512
static struct gap gaps_buf[GAPS_MAX];
static size_t gaps_n;
static bool gaps_overflow;

static void add_gap(const struct snap *s, uintptr_t a, uintptr_t b)
{
	if (a >= b)
		return;
	if (gaps_n == GAPS_MAX) {
		gaps_overflow = true;
		return;
	}
	gaps_buf[gaps_n++] = (struct gap){ a, b, s->start, s->end - s->start, s->id };
}

static void finish_entry(struct snap *s)
{
	if (s->discovered)
		add_gap(s, s->cursor, s->end);
}

/* ------------------------------------------------------------------ */
/* Rejected lines                                                      */

/* Fingerprints (64-bit hashes of start, length, inode and offset) in two
 * open-addressing sets: this scan's and the last one's.  A rejected line
 * still mapped is carried into this scan's set when the scan meets it; one
 * that is gone is dropped after a scan without it, so the sets stay about as
 * large as the maps.  Each holds twice the lines of the last scan, rounded
 * up to a power of two (pf_sys_mmap).  A set that fills up takes no more:
 * the lines left out are rejected (and reported) again by the next scan,
 * which has room for them. */
struct fpset {
	uint64_t *slot; /* 0: empty */
	size_t cap, n;
};
static struct fpset rej_cur, rej_prev;
static size_t lines_last = 512, lines_now;
static bool rej_clear; /* fork child: forget both sets */

static uint64_t fingerprint(uintptr_t start, size_t len, uint64_t ino, uint64_t off)
{
	uint64_t h = (uint64_t)start * 0x9e3779b97f4a7c15ULL;
	h ^= (h >> 32) ^ (uint64_t)len * 0xff51afd7ed558ccdULL;
	h ^= (h >> 29) ^ ino * 0xc4ceb9fe1a85ec53ULL;
	h ^= (h >> 32) ^ off * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h ? h : 1;
}

static bool fp_has(const struct fpset *set, uint64_t h)
{
	if (!set->cap)
		return false;
	for (size_t i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (set->slot[i] == h)
			return true;
		if (!set->slot[i])
			return false;
	}
}

static void fp_put(struct fpset *set, uint64_t h)
{
	if (set->n + 1 > set->cap / 2)
		return;
	size_t i = h & (set->cap - 1);
	for (; set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (set->slot[i] == h)
			return;
	set->slot[i] = h;
	set->n++;
}

/* At the start of a scan: the current set becomes the last one, and the
 * current one is emptied, made large enough for the maps first. */
static void rej_rotate(void)
{
	struct fpset t = rej_prev;
	rej_prev = rej_cur;
	rej_cur = t;
	if (rej_clear) {
		rej_prev.n = 0;
		if (rej_prev.cap)
			memset(rej_prev.slot, 0, rej_prev.cap * sizeof *rej_prev.slot);
		rej_clear = false;
	}
	size_t want = 1024;
	while (want < 2 * lines_last)
		want *= 2;
	if (rej_cur.cap < want) {
		void *p = pf_sys_mmap(NULL, want * sizeof(uint64_t), PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			if (rej_cur.cap)
				pf_sys_munmap(rej_cur.slot, rej_cur.cap * sizeof(uint64_t));
			rej_cur.slot = p; /* fresh anonymous memory is zero */
			rej_cur.cap = want;
			rej_cur.n = 0;
			return;
		}
	}
	if (rej_cur.cap)
		memset(rej_cur.slot, 0, rej_cur.cap * sizeof *rej_cur.slot);
	rej_cur.n = 0;
}

/* Was this part of a line rejected before?  Keeps it rejected if so. */
static bool rej_has(uintptr_t start, size_t len, uint64_t ino, uint64_t off)
{
	uint64_t h = fingerprint(start, len, ino, off);
	if (fp_has(&rej_cur, h))
		return true;
	if (!fp_has(&rej_prev, h))
		return false;
	fp_put(&rej_cur, h);
	return true;
}

static void rej_add(uintptr_t start, size_t len, uint64_t ino, uint64_t off)
{
	fp_put(&rej_cur, fingerprint(start, len, ino, off));
}

/* ------------------------------------------------------------------ */
/* New mappings                                                        */

static unsigned tracked_now; /* entries tracked by the current scan */
static unsigned skips_now;   /* skip records queued by the current scan */
static long page_size = 4096;

static void reject(const struct pf_maps_line *l, uintptr_t a, size_t len, uint64_t off, const char *why)
{
	rej_add(a, len, l->ino, off);
	/* A process with thousands of tiny mappings would flood the report
	 * (and drop the records that matter): a few per scan. */
	if (!pf_stats_enabled() || skips_now >= SKIPS_PER_SCAN)
		return;
	skips_now++;
	pf_stats_queue_skip(PF_SRC_DISCOVER, l->path, a, len, (off_t)off, why);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* [a, b) of line l is mapped and tracked by no one: the rule of
 * core/admission.c decides, the path's stat only for what passes its first
 * half. */
static void consider(const struct pf_maps_line *l, uintptr_t a, uintptr_t b)
{
	size_t len = b - a;
	uint64_t off = l->offset + (a - l->start);
	struct stat st;

	if (rej_has(a, len, l->ino, off))
		return;
	const char *why = pf_admit_mapping(l->r, ends_with(l->path, " (deleted)"), len, l->path);
	if (!why)
		why = pf_admit_file(stat(l->path, &st) == 0 ? &st : NULL, l->ino, off,
				    (size_t)page_size, &len);
	if (why) {
		reject(l, a, b - a, off, why);
		return;
	}
	if (pf_table_contains(a, len, st.st_dev, st.st_ino))
		return; /* a hook tracked it since the snapshot */
	struct pf_desc d = {
		.start = a,
		.len = len,
		.offset = (off_t)off,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.source = PF_SRC_DISCOVER,
		.path = l->path,
	};
	if (pf_table_track(&d) != 0) {
		reject(l, a, len, off, PF_ADMIT_NO_MEMORY);
		return;
	}
	tracked_now++;
}

/* Consecutive lines of one file, held back until the file's last line: a
 * file with an executable mapping among them is a program or a library. */
#define GROUP_MAX 64
static struct {
	uint64_t ino;
	unsigned maj, min;
	bool x;
	size_t n;
	struct pf_maps_line lines[GROUP_MAX];
	char path[PATH_MAX + 32];
} group;
static size_t cand_i; /* snapshot cursor for candidates */

/* Sends the parts of l no entry covers to consider().  Hook entries cover
 * whatever they overlap; discovered ones only lines of their own file. */
static void candidate_line(const struct pf_maps_line *l)
{
	while (cand_i < snap_n && snap[cand_i].end <= l->start)
		cand_i++;
	uintptr_t at = l->start;
	for (size_t j = cand_i; j < snap_n && snap[j].start < l->end; j++) {
		const struct snap *s = &snap[j];
		if (s->discovered && !line_matches(l, s))
			continue;
		if (s->start > at)
			consider(l, at, s->start);
		if (s->end > at)
			at = s->end;
	}
	if (at < l->end)
		consider(l, at, l->end);
}

static void group_flush(void)
{
	if (group.n && !group.x) {
		for (size_t i = 0; i < group.n; i++) {
			group.lines[i].path = group.path;
			if (group.lines[i].r)
				candidate_line(&group.lines[i]);
		}
	}
	group.n = 0;
	group.x = false;
}

static void group_add(const struct pf_maps_line *l)
{
	if (group.n && (group.ino != l->ino || group.maj != l->maj || group.min != l->min ||
			strcmp(group.path, l->path) != 0))
		group_flush();
	if (group.n == GROUP_MAX) {
		/* A file in more pieces than we hold: decide on what we saw. */
		bool x = group.x;
		group_flush();
		group.x = x;
	}
	if (group.n == 0) {
		group.ino = l->ino;
		group.maj = l->maj;
		group.min = l->min;
		strncpy(group.path, l->path, sizeof group.path - 1);
		group.path[sizeof group.path - 1] = '\0';
	}
	group.x |= l->x;
	group.lines[group.n++] = *l;
}

/* ------------------------------------------------------------------ */
/* A scan                                                              */

static size_t cover_i; /* snapshot cursor for coverage */

/* Coverage of discovered entries by line l. */
static void cover_line(const struct pf_maps_line *l)
{
	while (cover_i < snap_n && snap[cover_i].end <= l->start)
		finish_entry(&snap[cover_i++]);
	for (size_t j = cover_i; j < snap_n && snap[j].start < l->end; j++) {
		struct snap *s = &snap[j];
		if (!s->discovered || !line_matches(l, s))
			continue;
		uintptr_t a = l->start > s->start ? l->start : s->start;
		uintptr_t b = l->end < s->end ? l->end : s->end;
		if (a > s->cursor)
			add_gap(s, s->cursor, a);
		if (b > s->cursor)
			s->cursor = b;
	}
}

static void handle_line(char *text)
{
	struct pf_maps_line l;
	lines_now++;
	if (!pf_maps_parse_line(text, &l))
		return;
	cover_line(&l);
	if (l.ino != 0 && l.path[0] == '/')
		group_add(&l);
	else
		group_flush();
}

static char scan_buf[64 * 1024];

/* Reads maps through; -1 when it cannot be read. */
static int read_maps(void)
{
	int fd = open(maps_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t have = 0;
	bool skipping = false; /* inside a line longer than the buffer */
	for (;;) {
		ssize_t r = read(fd, scan_buf + have, sizeof scan_buf - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		char *p = scan_buf, *end = scan_buf + have;
		char *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			*nl = '\0';
			if (!skipping)
				handle_line(p);
			skipping = false;
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (have == sizeof scan_buf - 1) {
			skipping = true;
			have = 0;
		} else if (have) {
			memmove(scan_buf, p, have);
		}
	}
	close(fd);
	if (have && !skipping) {
		scan_buf[have] = '\0';
		handle_line(scan_buf);
	}
	return 0;
}

/* Forgets what a scan found gone, from the discovered entry the scan saw
 * only, and only while it is unchanged: the check and the cut are one step
 * under table_lock, so an entry a hook tracked meanwhile (a new id) is never
 * lost. */
static void forget_gaps(void)
{
	for (size_t i = 0; i < gaps_n; i++) {
		const struct gap *g = &gaps_buf[i];
		pf_table_forget_from(g->entry, g->id, g->entry_len, g->start, g->end - g->start);
	}
}

/* One scan; -1 when maps could not be read (nothing changed). */
static int scan(void)
{
	bool whole = snap_take();
	cover_i = cand_i = 0;
	gaps_n = 0;
	gaps_overflow = false;
	tracked_now = skips_now = 0;
	group.n = 0;
	group.x = false;
	if (!whole)
		snap_n = 0; /* see everything as new: track only, forget nothing */
	rej_rotate();
	lines_now = 0;
	int rc = read_maps();
	if (rc == 0) {
		lines_last = lines_now;
		group_flush();
		while (cover_i < snap_n)
			finish_entry(&snap[cover_i++]);
		if (whole)
			forget_gaps();
	}
	if (tracked_now)
		pf_engine_wake();
	pf_stats_flush();
	return rc;
}

/* ------------------------------------------------------------------ */
/* New mappings from perf records, checked with PROCMAP_QUERY           */

static bool query_ok; /* the kernel answers PROCMAP_QUERY (set at start) */

static bool same_file(const struct pf_vma *v, uint64_t ino, unsigned maj, unsigned min)
{
	return v->ino == ino && v->maj == maj && v->min == min;
}

/* The rule of a scan's groups, on the mappings next to v: a file with an
 * executable mapping among its adjoining mappings is a program or a library.
 * -1 when a query failed. */
static int is_program(int fd, const struct pf_vma *v)
{
	if (v->x)
		return 1;
	for (int up = 0; up < 2; up++) {
		uintptr_t at = up ? v->end : v->start;
		for (int k = 0; k < GROUP_MAX && (up || at > 0); k++) {
			struct pf_vma n;
			int err = pf_procmap_query(fd, up ? at : at - 1, false, &n);
			if (err == ENOENT || (!err && (!same_file(&n, v->ino, v->maj, v->min) ||
						       (up ? n.start : n.end) != at)))
				break;
			if (err)
				return -1;
			if (n.x)
				return 1;
			at = up ? n.end : n.start;
		}
	}
	return 0;
}

/* One record: the parts of its range that still map its file at its
 * offsets go to consider(), after what they replaced is forgotten.  False
 * when the answer is unclear (a query failed, a name too long): scan. */
static bool check_record(int fd, const struct pf_maprec *r)
{
	uintptr_t at = r->addr, end = r->addr + r->len;
	while (at < end) {
		struct pf_vma v;
		int err = pf_procmap_query(fd, at, true, &v);
		if (err == ENOENT)
			return true; /* unmapped since */
		if (err)
			return false;
		if (v.start >= end)
			return true;
		uintptr_t a = v.start > at ? v.start : at;
		uintptr_t b = v.end < end ? v.end : end;
		if (same_file(&v, r->ino, r->maj, r->min) && v.r &&
		    v.offset + (a - v.start) == r->pgoff + (a - r->addr)) {
			if (v.path_cut)
				return false;
			int prog = is_program(fd, &v);
			if (prog < 0)
				return false;
			if (!prog && v.path[0] == '/' && !pf_table_clear_stale(a, b - a, r->t_ns)) {
				struct pf_maps_line l = {
					.start = v.start, .end = v.end, .offset = v.offset,
					.maj = v.maj, .min = v.min, .ino = v.ino,
					.r = v.r, .x = v.x, .path = v.path,
				};
				consider(&l, a, b);
			}
		}
		at = v.end;
	}
	return true;
}

/* The records of one wakeup; false when a scan must decide instead. */
static bool check_records(const struct pf_maprec *recs, size_t n)
{
	int fd = pf_procmap_open();
	if (fd < 0)
		return false;
	tracked_now = skips_now = 0;
	bool clear = true;
	for (size_t i = 0; i < n && clear; i++)
		clear = check_record(fd, &recs[i]);
	pf_procmap_close(fd);
	if (tracked_now)
		pf_engine_wake();
	pf_stats_flush();
	return clear;
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */

static int64_t process_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* What a wait brought, beyond the time passing. */
enum { WAIT_NOTHING, WAIT_RECORDS, WAIT_TRACKED, WAIT_SCAN };

/* Sleeps ns, or less if mapwatch.c has records: file mappings are checked
 * at once (WAIT_TRACKED) where PROCMAP_QUERY answers, else call for a scan
 * (WAIT_SCAN); records of anonymous memory only wake (WAIT_RECORDS). */
static int wait_ns(int64_t ns)
{
	static struct pf_maprec recs[RECS_MAX];
	if (!pf_mapwatch_active()) {
		sleep_ns(ns);
		return WAIT_NOTHING;
	}
	size_t n;
	int got = pf_mapwatch_wait(ns, recs, RECS_MAX, &n);
	if (got & MAPWATCH_LOST)
		return WAIT_SCAN;
	if (got & MAPWATCH_FILE)
		return query_ok && check_records(recs, n) ? WAIT_TRACKED : WAIT_SCAN;
	return got ? WAIT_RECORDS : WAIT_NOTHING;
}

/* Scans spend CPU from a bucket that fills at SCAN_SHARE of a core and holds
 * SCAN_BURST, or two scans if they cost more: a process that maps and
 * unmaps all the time gets its scans as often as that pays for, and a
 * single change is scanned at once however costly scans are. */
static int64_t bucket_ns = SCAN_BURST, bucket_at;

static bool bucket_allows(int64_t now, int64_t cost)
{
	int64_t cap = 2 * cost > SCAN_BURST ? 2 * cost : SCAN_BURST;
	bucket_ns += (int64_t)((double)(now - bucket_at) * SCAN_SHARE);
	bucket_at = now;
	if (bucket_ns > cap)
		bucket_ns = cap;
	return bucket_ns >= cost;
}

/* For --verbose, once the watch is open (or refused). */
static void say_how(bool watched)
{
	pf_note("discovery: %s, new mappings checked by %s", watched ? "perf" : "poll",
		watched && query_ok ? "procmap-query" : "scan");
}

static void *disc_main(void *arg)
{
	(void)arg;
	atomic_store_explicit(&disc_tid, (pid_t)syscall(SYS_gettid), memory_order_release);
	pthread_setname_np(pthread_self(), "prefault-disc");
	pf_helper_register();
	if (atomic_load_explicit(&disc_watch_threads, memory_order_acquire)) {
		if (!pf_mapwatch_open_threads())
			pf_log("discovery: no perf mmap records for the threads that ran before it (%s): polling /proc only",
			       strerror(pf_mapwatch_error()));
		say_how(pf_mapwatch_active());
	}
	page_size = sysconf(_SC_PAGESIZE);
	if (access(maps_path, R_OK) != 0) {
		statm_path = "/proc/self/statm";
		maps_path = "/proc/self/maps";
	}

	int64_t now = mono_ns();
	int64_t proc_prev = process_cpu_ns(), own_prev = thread_cpu_ns();
	int64_t last_active = now, next_full = 0, next_full_idle = 0, last_cost = 0;
	bucket_at = now;
	int64_t idle_period = PERIOD_IDLE_START, win_wall = 0, win_own = 0;
	uint64_t last_size = 0;
	bool want_scan = true, ran_since_scan = true, busy_since_scan = true, warned = false;
	bool grown_by_records = false;

	for (;;) {
		/* Fast while the program runs, slowing down as it stays idle. */
		int64_t period = (now - last_active) / (pf_mapwatch_active() ? DECAY_WATCHED : DECAY);
		bool idle = period >= idle_period;
		int woke = wait_ns(period < PERIOD_ACTIVE ? PERIOD_ACTIVE : idle ? idle_period : period);
		bool mapped = woke == WAIT_SCAN || woke == WAIT_TRACKED;
		now = mono_ns();
		/* Process first, own second: what this thread spends between
		 * the two reads cancels out from one poll to the next. */
		int64_t proc = process_cpu_ns(), own = thread_cpu_ns();
		int64_t others = (proc - proc_prev) - (own - own_prev);
		proc_prev = proc;
		own_prev = own;

		bool busy = others > BUSY_NS || mapped;
		if (woke == WAIT_SCAN)
			want_scan = true;
		if (woke == WAIT_TRACKED)
			grown_by_records = true;
		if (others > ACTIVITY_NS) {
			/* Only a running thread can change the address space. */
			ran_since_scan = true;
			uint64_t size = read_vmsize();
			if (size != last_size) {
				/* Growth the records explained needs no scan:
				 * munmaps (which make none) shrink it. */
				if (size < last_size || !grown_by_records)
					want_scan = true;
				busy = true;
			}
			last_size = size;
			grown_by_records = false;
		}
		if (busy) {
			/* A runtime's housekeeping (Go's sysmon, a timer) is
			 * not the program running: only a change or real work
			 * brings the fast period back. */
			last_active = now;
			busy_since_scan = true;
			win_wall = 0;
		} else if (idle && !want_scan) {
			/* Idle: what this thread spent over the last second
			 * paces the idle period towards IDLE_SHARE. */
			if (!win_wall) {
				win_wall = now;
				win_own = own;
			} else if (now - win_wall >= PACE_WINDOW) {
				bool watched = pf_mapwatch_active();
				double share = watched ? IDLE_SHARE_WATCHED : IDLE_SHARE;
				int64_t max = watched ? PERIOD_IDLE_MAX_WATCHED : PERIOD_IDLE_MAX;
				double ratio = (double)(own - win_own) / (double)(now - win_wall) / share;
				ratio = ratio < 0.5 ? 0.5 : ratio > 2 ? 2 : ratio;
				int64_t p = (int64_t)((double)idle_period * ratio);
				idle_period = p < PERIOD_IDLE_MIN ? PERIOD_IDLE_MIN : p > max ? max : p;
				win_wall = 0;
			}
		} else {
			win_wall = 0;
		}
		if (ran_since_scan && now >= (busy_since_scan ? next_full : next_full_idle))
			want_scan = true;
		if (!want_scan || !bucket_allows(now, last_cost))
			continue;

		int64_t c0 = thread_cpu_ns();
		int rc = scan();
		int64_t took = thread_cpu_ns() - c0;
		now = mono_ns();
		want_scan = ran_since_scan = busy_since_scan = false;
		next_full = now + (took * BACKSTOP_FACTOR > BACKSTOP_MIN ?
				   took * BACKSTOP_FACTOR : BACKSTOP_MIN);
		next_full_idle = now + (next_full - now) * BACKSTOP_IDLE_FACTOR;
		last_cost = took;
		bucket_ns -= took;
		if (rc != 0) {
			if (!warned)
				pf_log("discovery: cannot read %s: %s", maps_path, strerror(errno));
			warned = true;
			next_full = next_full_idle = now + 10 * BACKSTOP_MIN;
		}
	}
	return NULL;
}

static void disc_start(void)
{
	int expect = DISC_WANTED;
	if (!atomic_compare_exchange_strong_explicit(&disc_state, &expect, DISC_STARTING,
						     memory_order_acq_rel, memory_order_relaxed))
		return;
	int saved = errno;
	/* Only the process's one thread can have the watch cover all of it. */
	bool alone = __libc_single_threaded;
	query_ok = pf_procmap_probe() == 0; /* before the thread reads it */
	/* Otherwise the new thread watches the ones there are, one by one. */
	atomic_store_explicit(&disc_watch_threads, !alone, memory_order_release);
	int rc = pf_thread_start(disc_main, NULL, THREAD_STACK);
	if (rc == 0 && alone) {
		/* The new thread's id, for the watch's signal: it is the first
		 * thing the thread does (tens of microseconds, once). */
		pid_t tid;
		while ((tid = atomic_load_explicit(&disc_tid, memory_order_acquire)) == 0)
			sched_yield();
		if (!pf_mapwatch_open(tid))
			pf_log("discovery: no perf mmap records (%s): polling /proc only",
			       strerror(pf_mapwatch_error()));
		say_how(pf_mapwatch_active());
	}
	atomic_store_explicit(&disc_state, rc == 0 ? DISC_RUNNING : DISC_OFF, memory_order_release);
	if (rc != 0)
		pf_log("discovery: cannot start its thread: %s", strerror(rc));
	errno = saved;
}

/* ------------------------------------------------------------------ */
/* Interface                                                           */

void pf_discover_init(void)
{
	/* Go detection only where its answer matters. */
	enum pf_go_seen seen = pf_opt.enabled && pf_opt.discover == PF_DISCOVER_AUTO ?
				       pf_go_detect() : PF_GO_NO;
	bool want = pf_go_discovery_wanted(pf_opt.enabled, pf_opt.discover, seen, &disc_why);
	disc_wanted = want;
	atomic_store_explicit(&disc_state, want ? DISC_WANTED : DISC_OFF, memory_order_release);
}

bool pf_discover_wanted(const char **why)
{
	*why = disc_why;
	return disc_wanted;
}

void pf_discover_poke(void)
{
	if (__builtin_expect(atomic_load_explicit(&disc_state, memory_order_relaxed) != DISC_WANTED, 1))
		return;
	disc_start();
}

const char *pf_discover_how(void)
{
	switch (atomic_load_explicit(&disc_state, memory_order_acquire)) {
	case DISC_OFF:
		return "off";
	case DISC_RUNNING:
		return pf_mapwatch_active() ? "perf" : "poll";
	default:
		return "pending";
	}
}

const char *pf_discover_lookup(void)
{
	return atomic_load_explicit(&disc_state, memory_order_acquire) == DISC_RUNNING &&
			       pf_mapwatch_active() && query_ok ?
		       "procmap-query" : "scan";
}

void pf_discover_after_fork_child(void)
{
	/* The parent's thread may have been mid-scan: start the child's from
	 * clean rejected sets. */
	rej_clear = true;
	atomic_store_explicit(&disc_tid, 0, memory_order_relaxed);
	pf_mapwatch_after_fork_child();
	atomic_store_explicit(&disc_state, disc_wanted ? DISC_WANTED : DISC_OFF, memory_order_relaxed);
}
