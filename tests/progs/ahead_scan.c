/*
 * ahead_scan [-R] [-t N] [-S BYTES] [-w NS] [-W] [-s MS] [-D] [-x READS] [-l BYTES] [-m] PATH -
 * maps a file and reads it the way a scanning program does, reporting what
 * the reading threads saw:
 *
 *   scan (default): N threads (-t, 1) each read their own contiguous part
 *   of the mapping in order, one word a page, spinning NS nanoseconds a page
 *   (-w, 0) as "work".  Before a page is read, every 16th page is checked
 *   with mincore (resident in the page cache: truthful for a file the caller
 *   may write, so run as root or owner), and at every 1 MiB the page
 *   -l BYTES (8M) further on.  With -W, the thread then waits, after
 *   reading the page at the mark (which shows prefault where it reads),
 *   until that page further on is resident, polling, for as long as
 *   prefault brings pages of the span in (at most TL_DEADLINE_S,
 *   testlib.h): however slow the disk or the machine, the program never
 *   outruns a follower that reads ahead of it.  When no page of the span
 *   came in for NO_PROGRESS_MS (prefault's own STALE_NS: a front that has
 *   not moved that long is retired), prefault is not reading for it (a
 *   broken follower, or one that lost the thread's position among chunks
 *   the kernel mapped whole), and the thread reads on, as a real program
 *   would (unserved).  A wait that ran out at the deadline although pages
 *   kept coming is a timeout (after one, the thread waits no more).
 *   -S BYTES starts the threads after the first once the first has read
 *   BYTES of its part: its front is then seen and followed before the
 *   others show (until a front shows, reading from the mapping's start is
 *   the whole-mapping start, which waits while another front is served:
 *   a first thread waiting there, on chunks the kernel mapped whole, would
 *   wait for a front prefault cannot see).
 *   random (-x READS): one thread reads READS pages at random, no work.
 *
 *   tI_missed=N/M   checked pages not resident when thread I reached them
 *   tI_ahead=N/M    pages -l ahead resident at the 1 MiB checks, at first look
 *   tI_ahead_waits=N     -W: checks where the thread had to wait
 *   tI_ahead_unserved=N  -W: waits given up as nothing came in
 *   tI_ahead_timeouts=N  -W: waits that ran out (0 or 1)
 *   tI_ahead_wait_ms=    -W: time spent waiting
 *   tI_early_missed=N/M  the same as tI_missed, in the first 16 MiB of the part
 *                   (where a front has yet to be seen)
 *   tI_early_blocked_ms=  time blocked (below) in those first 16 MiB
 *   tI_blocked_ms=  thread I's wall time less its CPU time and its run-queue
 *                   wait (/proc/self/task/TID/schedstat): time blocked
 *   tI_wall_ms=, tI_cpu_ms=, tI_majflt=
 *   blocked_ms=     sum over threads;  wall_ms=  the whole reading phase
 *   max_resident=   -m: most of the file resident, sampled every 20 ms by a
 *                   thread of this process (mincore)
 *   sum=            a checksum of the words read (so the reads happen)
 *
 * -R sets MADV_RANDOM on the mapping (bbolt, LMDB).  -s MS pauses before
 * reading.  -D also waits, before reading, until $PREFAULT_STATS holds a
 * done record (at most TL_DEADLINE_S): the whole-mapping start is over.
 * done_waited=1 (0: the deadline passed first) is printed with -D.
 */
#include "testlib.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/syscall.h>

#define MAX_THREADS 8
#define EARLY_BYTES ((size_t)16 << 20)
#define NO_PROGRESS_MS 3000.0

static unsigned char *map;
static size_t map_len, page;
static long spin_ns;
static size_t lookahead = 8u << 20;
static long random_reads;
static bool wait_ahead;
static size_t stagger;
static size_t first_progress; /* bytes thread 0 has read of its part (atomic) */
static volatile int sampling = 1;
static size_t max_resident;

struct worker {
	int idx;
	size_t from, to;
	uint64_t sum;
	size_t missed, checked, ahead_ok, ahead_checks, early_missed, early_checked;
	size_t ahead_waits, ahead_unserved, ahead_timeouts;
	double wall_ms, cpu_ms, blocked_ms, early_blocked_ms, ahead_wait_ms;
	long majflt;
};

static double now_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double runqueue_ms(void)
{
	char path[64], buf[128];
	unsigned long long cpu, wait;
	snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", (long)syscall(SYS_gettid));
	if (tl_read_small(path, buf, sizeof buf) < 0 || sscanf(buf, "%llu %llu", &cpu, &wait) != 2)
		return 0;
	return (double)wait / 1e6;
}

static bool resident(size_t off)
{
	unsigned char v = 0;
	if (off >= map_len)
		return true;
	if (mincore(map + (off & ~(page - 1)), page, &v) != 0)
		tl_die("mincore");
	return v & 1;
}

/* Pages of [off, off + len) resident (mincore). */
static size_t resident_span(size_t off, size_t len)
{
	static __thread unsigned char vec[4096];
	size_t n = 0, pages;
	if (off >= map_len)
		return 0;
	if (len > map_len - off)
		len = map_len - off;
	pages = (len + page - 1) / page;
	if (pages > sizeof vec)
		pages = sizeof vec;
	if (mincore(map + off, pages * page, vec) != 0)
		tl_die("mincore");
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	return n;
}

static void spin(void)
{
	if (spin_ns <= 0)
		return;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < spin_ns);
}

static void *scan(void *arg)
{
	struct worker *w = arg;
	double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_THREAD_CPUTIME_ID), q0 = runqueue_ms();
	long f0 = tl_thread_majflt();
	if (random_reads) {
		uint64_t x = 88172645463325252ULL, pages = map_len / page;
		for (long i = 0; i < random_reads; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w->sum += *(volatile uint64_t *)(map + (x % pages) * page);
		}
	} else {
		for (size_t off = w->from; off < w->to; off += page) {
			if ((off / page) % 16 == 0) {
				bool in = resident(off);
				w->checked++;
				w->missed += !in;
				if (off - w->from < EARLY_BYTES) {
					w->early_checked++;
					w->early_missed += !in;
				}
			}
			if (off - w->from == EARLY_BYTES)
				w->early_blocked_ms = now_ms(CLOCK_MONOTONIC) - t0 -
						      (now_ms(CLOCK_THREAD_CPUTIME_ID) - c0) - (runqueue_ms() - q0);
			bool mark = off % (1u << 20) == 0 && off + lookahead < w->to, ahead_in = false;
			if (mark) {
				ahead_in = resident(off + lookahead);
				w->ahead_checks++;
				w->ahead_ok += ahead_in;
			}
			w->sum += *(volatile uint64_t *)(map + off);
			if (mark && wait_ahead && !ahead_in && !w->ahead_timeouts) {
				double t = now_ms(CLOCK_MONOTONIC), last = t;
				size_t in = resident_span(off, lookahead);
				struct timespec tick = { 0, 200000 };
				w->ahead_waits++;
				while (!resident(off + lookahead)) {
					double now = now_ms(CLOCK_MONOTONIC);
					size_t in_now = resident_span(off, lookahead);
					if (in_now > in) {
						in = in_now;
						last = now;
					} else if (now - last > NO_PROGRESS_MS) {
						w->ahead_unserved++;
						break;
					}
					if (now - t > TL_DEADLINE_S * 1000) {
						w->ahead_timeouts++;
						break;
					}
					nanosleep(&tick, NULL);
				}
				w->ahead_wait_ms += now_ms(CLOCK_MONOTONIC) - t;
			}
			spin();
			if (w->idx == 0)
				__atomic_store_n(&first_progress, off + page - w->from, __ATOMIC_RELEASE);
		}
		if (w->idx == 0)
			__atomic_store_n(&first_progress, SIZE_MAX, __ATOMIC_RELEASE);
	}
	w->majflt = tl_thread_majflt() - f0;
	w->wall_ms = now_ms(CLOCK_MONOTONIC) - t0;
	w->cpu_ms = now_ms(CLOCK_THREAD_CPUTIME_ID) - c0;
	w->blocked_ms = w->wall_ms - w->cpu_ms - (runqueue_ms() - q0);
	if (w->blocked_ms < 0)
		w->blocked_ms = 0;
	return NULL;
}

static void *sampler(void *arg)
{
	(void)arg;
	size_t n = (map_len + page - 1) / page;
	unsigned char *vec = malloc(n);
	if (!vec)
		tl_die("malloc");
	while (sampling) {
		size_t r = 0;
		if (mincore(map, map_len, vec) != 0)
			tl_die("mincore");
		for (size_t i = 0; i < n; i++)
			r += vec[i] & 1;
		if (r * page > max_resident)
			max_resident = r * page;
		tl_sleep_ms(20);
	}
	free(vec);
	return NULL;
}

int main(int argc, char **argv)
{
	int opt, nthreads = 1, rnd = 0, sample = 0, wait_done = 0, done_waited = 0;
	long pause_ms = 0;
	while ((opt = getopt(argc, argv, "Rt:S:w:Ws:Dx:l:m")) != -1) {
		switch (opt) {
		case 'R': rnd = 1; break;
		case 't': nthreads = atoi(optarg); break;
		case 'w': spin_ns = atol(optarg); break;
		case 'W': wait_ahead = true; break;
		case 'S': stagger = (size_t)tl_size(optarg); break;
		case 'D': wait_done = 1; break;
		case 's': pause_ms = atol(optarg); break;
		case 'x': random_reads = atol(optarg); break;
		case 'l': lookahead = (size_t)tl_size(optarg); break;
		case 'm': sample = 1; break;
		default: goto usage;
		}
	}
	if (optind != argc - 1 || nthreads < 1 || nthreads > MAX_THREADS)
		goto usage;
	if (random_reads)
		nthreads = 1;
	page = tl_page();
	int fd = open(argv[optind], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[optind]);
	map_len = (size_t)st.st_size;
	map = mmap(NULL, map_len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	if (rnd && madvise(map, map_len, MADV_RANDOM) != 0)
		tl_die("madvise");
	pthread_t samp, th[MAX_THREADS];
	if (sample && pthread_create(&samp, NULL, sampler, NULL) != 0)
		tl_die("pthread_create");
	tl_sleep_ms(pause_ms);
	if (wait_done)
		done_waited = tl_wait_stats("\"ev\":\"done\"", NULL, 1);

	struct worker w[MAX_THREADS];
	memset(w, 0, sizeof w);
	double t0 = now_ms(CLOCK_MONOTONIC);
	for (int i = 0; i < nthreads; i++) {
		w[i].idx = i;
		w[i].from = map_len / (size_t)nthreads * (size_t)i / page * page;
		w[i].to = i + 1 == nthreads ? map_len : map_len / (size_t)nthreads * (size_t)(i + 1) / page * page;
		while (i > 0 && __atomic_load_n(&first_progress, __ATOMIC_ACQUIRE) < stagger)
			tl_sleep_ms(1);
		if (pthread_create(&th[i], NULL, scan, &w[i]) != 0)
			tl_die("pthread_create");
	}
	double blocked = 0;
	uint64_t sum = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		blocked += w[i].blocked_ms;
		sum += w[i].sum;
		printf("t%d_missed=%zu/%zu\nt%d_ahead=%zu/%zu\nt%d_early_missed=%zu/%zu\n"
		       "t%d_early_blocked_ms=%.1f\nt%d_blocked_ms=%.1f\n"
		       "t%d_wall_ms=%.1f\nt%d_cpu_ms=%.1f\nt%d_majflt=%ld\n",
		       i, w[i].missed, w[i].checked, i, w[i].ahead_ok, w[i].ahead_checks, i,
		       w[i].early_missed, w[i].early_checked, i, w[i].early_blocked_ms < 0 ? 0 : w[i].early_blocked_ms,
		       i, w[i].blocked_ms, i, w[i].wall_ms, i, w[i].cpu_ms, i, w[i].majflt);
		if (wait_ahead)
			printf("t%d_ahead_waits=%zu\nt%d_ahead_unserved=%zu\nt%d_ahead_timeouts=%zu\n"
			       "t%d_ahead_wait_ms=%.1f\n", i, w[i].ahead_waits, i, w[i].ahead_unserved, i,
			       w[i].ahead_timeouts, i, w[i].ahead_wait_ms);
	}
	if (wait_done)
		printf("done_waited=%d\n", done_waited);
	printf("wall_ms=%.1f\nblocked_ms=%.1f\n", now_ms(CLOCK_MONOTONIC) - t0, blocked);
	if (sample) {
		sampling = 0;
		pthread_join(samp, NULL);
		printf("max_resident=%zu\n", max_resident);
	}
	printf("sum=%llu\n", (unsigned long long)sum);
	return 0;
usage:
	fprintf(stderr, "usage: ahead_scan [-R] [-t N] [-S BYTES] [-w NS] [-W] [-s MS] [-D] [-x READS] [-l BYTES] [-m] PATH\n");
	return 2;
}
