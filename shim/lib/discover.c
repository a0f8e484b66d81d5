/*
 * discover.c - the discovery thread: finds file mappings made by raw system
 * calls (Go's syscall.Mmap, golang.org/x/sys/unix.Mmap) by watching
 * /proc/thread-self/maps, and decides when to look (see discover.h).  What
 * a look does is elsewhere: scan.c (all of maps), recordcheck.c (the range a
 * perf record names), newmap.c (a mapping no entry covers), rejected.c.
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
 *   record's range alone is looked up (recordcheck.c).  Without it, a
 *   record asks for a scan.
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
 *   Only the discovery thread touches the pacing state and bucket (and,
 *   through the files above, the scan state); query_ok is set by the hook
 *   that starts it, before pthread_create.  disc_state is the only state
 *   shared with the hooks.  No lock of its own.
 */
#include "lib/discover.h"
#include "work/helpers.h"
#include "lib/gonote.h"
#include "core/log.h"
#include "lib/mapwatch.h"
#include "core/options.h"
#include "lib/recordcheck.h"
#include "lib/rejected.h"
#include "lib/scan.h"
#include "sys/clock.h"
#include "sys/procmap.h"
#include "sys/threads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
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
/* The thread                                                          */

static bool query_ok; /* the kernel answers PROCMAP_QUERY (set at start) */

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
		return query_ok && pf_recordcheck(recs, n) ? WAIT_TRACKED : WAIT_SCAN;
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
	if (access(maps_path, R_OK) != 0) {
		statm_path = "/proc/self/statm";
		maps_path = "/proc/self/maps";
	}

	int64_t now = pf_now_ns();
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
		now = pf_now_ns();
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
		int rc = pf_scan_maps(maps_path);
		int64_t took = thread_cpu_ns() - c0;
		now = pf_now_ns();
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
	pf_rejected_after_fork_child();
	atomic_store_explicit(&disc_tid, 0, memory_order_relaxed);
	pf_mapwatch_after_fork_child();
	atomic_store_explicit(&disc_state, disc_wanted ? DISC_WANTED : DISC_OFF, memory_order_relaxed);
}
