/*
 * torture_race MODE ... - races against prefault's bookkeeping and helpers,
 * with a content check after every round.  A fatal signal (SIGBUS, SIGSEGV)
 * is reported on stderr and ends the program with 128+signal; at the end
 * the counts are printed as key=value lines.
 *
 *   trunc FILE ROUNDS [BIG]
 *       FILE is a pattern file.  Each round maps all of it, cold (a new
 *       tracked mapping, so a helper is at work on it), truncates it to a
 *       random length, checks the words still in the file, writes the
 *       pattern back (re-extending it), checks the whole mapping, and
 *       evicts the file.  Even rounds truncate as soon as a helper has
 *       begun on the mapping (its first page present: polled, at most
 *       TL_DEADLINE_S, testlib.h; after one wait that ran out, no more
 *       waits), odd ones at once.  BIG (optional) is
 *       mapped cold and re-mapped every 200 rounds so the helpers stay busy.
 *       -> rounds=N bad=N cut_mid=N (rounds where the truncation found the
 *          mapping partly present: a helper at work) begun_timeouts=N
 *          signals=0
 *   threads FILE ROUNDS NTHREADS
 *       NTHREADS threads each map random ranges of FILE and then munmap part
 *       of them, map anonymous memory or another part of the file over them
 *       with MAP_FIXED, or grow, shrink or move them with mremap; every
 *       range that should hold the file (or zeros) is checked.  The main
 *       thread evicts the file every 20 ms so the helpers stay busy.
 *       -> rounds=N ops=munmap:N,fixed_anon:N,fixed_file:N,grow:N,shrink:N,move:N bad=N errors=N signals=0
 *   raw FILE ROUNDS
 *       The same kinds of change, made with syscall(SYS_mmap ...) and friends
 *       so that only discovery (/proc/self/maps) can see them; every 16th
 *       mapping is kept until a map record of discovery's covers it
 *       ($PREFAULT_STATS; polled, at most TL_DEADLINE_S, after one wait that
 *       ran out no more waits; without statistics, 15 ms) so that a scan
 *       finds it.  A wait that runs out while the statistics dropped
 *       records (the other thread's churn fills them) is held_dropped: its
 *       map record may be among those dropped; the holds after it only
 *       sleep, held_unwatched.  One anonymous mmap through libc comes first: discovery
 *       starts at a hook's call.
 *       -> rounds=N ... held=N held_found=N held_dropped=N held_timeouts=N held_unwatched=N
 *   churn FILE ROUNDS
 *       Keeps 256 mappings of 64 KiB .. 1 MiB pieces of FILE alive, replacing
 *       one at random each round (a new tracked entry, an old one
 *       forgotten), reading one word of each.  prefault's own memory must
 *       not grow with the rounds: anonymous resident size (RssAnon) after
 *       10% of the rounds and at the end.
 *       -> rounds=N live=256 bad=N rss_warm_kb=N rss_end_kb=N
 *   rename DIR ROUNDS
 *       Each round writes DIR/next with the round's own pattern, renames it
 *       over DIR/cur, maps DIR/cur, and checks both the new mapping and the
 *       previous one (the replaced file, still mapped) before unmapping it.
 *       -> rounds=N bad=N signals=0
 */
#include "testlib.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>

static volatile sig_atomic_t signals_seen;

static void on_fatal(int sig)
{
	char msg[64];
	int n = snprintf(msg, sizeof msg, "torture_race: signal %d\n", sig);

	signals_seen++;
	if (write(2, msg, (size_t)n) < 0)
		_exit(128 + sig);
	_exit(128 + sig);
}

static void catch_fatal(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* xorshift, one state per thread */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t zero_words_bad(const void *addr, size_t len)
{
	const volatile uint64_t *w = addr;
	size_t bad = 0;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != 0)
			bad++;
	return bad;
}

static int open_size(const char *path, int flags, size_t *size)
{
	struct stat st;
	int fd = open(path, flags);

	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", path);
	*size = (size_t)st.st_size;
	return fd;
}

/* ---- trunc ---- */

static void write_pattern(int fd, uint64_t from, uint64_t to)
{
	static uint64_t buf[1 << 14];

	for (uint64_t off = from; off < to;) {
		size_t n = to - off < sizeof buf ? (size_t)(to - off) : sizeof buf;

		for (size_t i = 0; i < n / 8; i++)
			buf[i] = tl_word(off + i * 8);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			tl_die("pwrite");
		off += n;
	}
}

static void *map_big(const char *path, size_t *len)
{
	int fd = open_size(path, O_RDONLY, len);
	void *p;

	tl_evict_fd(fd);
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap %s", path);
	close(fd);
	return p;
}

static int mode_trunc(int argc, char **argv)
{
	size_t size, page = tl_page(), big_len = 0, bad = 0, cut_mid = 0, timeouts = 0;
	long rounds = atol(argv[3]);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	void *big = NULL;
	int fd = open_size(argv[2], O_RDWR, &size);

	for (long r = 0; r < rounds; r++) {
		if (argc > 4 && r % 200 == 0) {
			if (big)
				munmap(big, big_len);
			big = map_big(argv[4], &big_len);
		}
		char *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			tl_die("mmap");
		size_t cut = (size_t)(rnd(&seed) % (size / page)) * page;

		size_t present = tl_present(p, size);
		if (r % 2 == 0 && !timeouts) { /* as soon as a helper is into it */
			double until = tl_now() + TL_DEADLINE_S;
			while (present == 0 && tl_now() < until) {
				sched_yield();
				present = tl_present(p, size);
			}
			timeouts += present == 0;
		}

		if (ftruncate(fd, (off_t)cut) != 0)
			tl_die("ftruncate");
		/* A helper had begun and not finished: it is being cut. */
		if (present > 0 && present < size / page)
			cut_mid++;
		bad += tl_bad_words(p, cut, 0);
		write_pattern(fd, cut, size);
		bad += tl_bad_words(p, size, 0);
		if (munmap(p, size) != 0)
			tl_die("munmap");
		tl_evict_fd(fd); /* cold again: the next helper reads the disk */
	}
	printf("rounds=%ld\nbad=%zu\ncut_mid=%zu\nbegun_timeouts=%zu\nsignals=%d\n", rounds, bad,
	       cut_mid, timeouts, (int)signals_seen);
	return 0;
}

/* ---- threads ---- */

enum { OP_MUNMAP, OP_FIXED_ANON, OP_FIXED_FILE, OP_GROW, OP_SHRINK, OP_MOVE, NOPS };
static const char *op_names[NOPS] = { "munmap", "fixed_anon", "fixed_file", "grow", "shrink", "move" };

struct shared {
	int fd;
	size_t size;
	long rounds;
	atomic_long ops[NOPS];
	atomic_long bad, errors, done, held, held_found, held_dropped, held_timeouts, held_unwatched;
	bool raw;
};

/* Whether a map record of discovery's in the statistics covers addr. */
static bool discovered(uintptr_t addr)
{
	const char *path = tl_stats_path();
	static __thread char line[4096];
	bool found = false;
	FILE *f = path ? fopen(path, "r") : NULL;

	while (f && !found && fgets(line, sizeof line, f)) {
		const char *a = strstr(line, "\"addr\":\"0x"), *l = strstr(line, "\"len\":");
		if (!strstr(line, "\"ev\":\"map\"") || !strstr(line, "\"source\":\"discover\"") || !a || !l)
			continue;
		uintptr_t start = (uintptr_t)strtoull(a + 8, NULL, 16);
		uintptr_t len = (uintptr_t)strtoull(l + 6, NULL, 10);
		found = start <= addr && addr < start + len;
	}
	if (f)
		fclose(f);
	return found;
}

/* The statistics' latest records_dropped (proc records), 0 when none. */
static long records_dropped(void)
{
	const char *path = tl_stats_path();
	static __thread char line[1 << 16];
	long n = 0;
	FILE *f = path ? fopen(path, "r") : NULL;

	while (f && fgets(line, sizeof line, f)) {
		const char *d = strstr(line, "\"records_dropped\":");
		if (d)
			n = atol(d + 18);
	}
	if (f)
		fclose(f);
	return n;
}

static void *sys_mmap(void *a, size_t l, int prot, int flags, int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, a, l, prot, flags, fd, off);
}

static int sys_munmap(void *a, size_t l)
{
	return (int)syscall(SYS_munmap, a, l);
}

static void *sys_mremap(void *o, size_t ol, size_t nl, int flags, void *na)
{
	return (void *)syscall(SYS_mremap, o, ol, nl, flags, na);
}

struct calls {
	void *(*map)(void *, size_t, int, int, int, off_t);
	int (*unmap)(void *, size_t);
	void *(*remap)(void *, size_t, size_t, int, void *);
};

static void *libc_mremap(void *o, size_t ol, size_t nl, int flags, void *na)
{
	return mremap(o, ol, nl, flags, na);
}

static void one_round(struct shared *sh, const struct calls *c, uint64_t *seed, long r)
{
	size_t page = tl_page(), pages = sh->size / page;
	size_t len = (16 + rnd(seed) % 1008) * page; /* 64K .. 4M */
	if (len > sh->size / 2)
		len = sh->size / 2;
	size_t off = (rnd(seed) % (pages - len / page)) * page;
	int op = (int)(rnd(seed) % NOPS);
	long bad = 0;
	char *p = c->map(NULL, len, PROT_READ, (r & 1) ? MAP_SHARED : MAP_PRIVATE, sh->fd, (off_t)off);

	if (p == MAP_FAILED) {
		sh->errors++;
		return;
	}
	size_t a = (rnd(seed) % (len / page)) * page;
	size_t b = (1 + rnd(seed) % (len / page - a / page)) * page; /* [a, a+b) inside */

	if (sh->raw && (r % 16) == 0) { /* until a discovery scan found it */
		sh->held++;
		if (!tl_stats_path() || sh->held_timeouts || sh->held_dropped) {
			sh->held_unwatched++;
			tl_sleep_ms(15);
		} else {
			double until = tl_now() + TL_DEADLINE_S;
			long dropped = records_dropped();
			while (!discovered((uintptr_t)p) && tl_now() < until)
				tl_sleep_ms(1);
			if (discovered((uintptr_t)p))
				sh->held_found++;
			else if (records_dropped() > dropped)
				sh->held_dropped++; /* its map record may be one of them */
			else
				sh->held_timeouts++;
		}
	}
	switch (op) {
	case OP_MUNMAP:
		if (c->unmap(p + a, b) != 0)
			sh->errors++;
		bad += (long)tl_bad_words(p, a, off);
		bad += (long)tl_bad_words(p + a + b, len - a - b, off + a + b);
		/* Only what is left: another thread may have mapped the hole. */
		if (a)
			c->unmap(p, a);
		if (len - a - b)
			c->unmap(p + a + b, len - a - b);
		break;
	case OP_FIXED_ANON: {
		char *q = c->map(p + a, b, PROT_READ | PROT_WRITE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q != p + a) {
			sh->errors++;
			c->unmap(p, len);
			break;
		}
		bad += (long)zero_words_bad(q, b);
		memset(q, 0xa5, b);
		bad += (long)tl_bad_words(p, a, off);
		bad += (long)tl_bad_words(p + a + b, len - a - b, off + a + b);
		c->unmap(p, len);
		break;
	}
	case OP_FIXED_FILE: {
		size_t off2 = (rnd(seed) % (pages - b / page)) * page;
		char *q = c->map(p + a, b, PROT_READ, MAP_FIXED | MAP_SHARED, sh->fd, (off_t)off2);
		if (q != p + a) {
			sh->errors++;
			c->unmap(p, len);
			break;
		}
		bad += (long)tl_bad_words(q, b, off2);
		bad += (long)tl_bad_words(p, a, off);
		bad += (long)tl_bad_words(p + a + b, len - a - b, off + a + b);
		c->unmap(p, len);
		break;
	}
	case OP_GROW: {
		size_t nlen = len + (1 + rnd(seed) % 256) * page;
		if (off + nlen > sh->size)
			nlen = sh->size - off;
		char *q = c->remap(p, len, nlen, MREMAP_MAYMOVE, NULL);
		if (q == MAP_FAILED) {
			sh->errors++;
			c->unmap(p, len);
			break;
		}
		bad += (long)tl_bad_words(q, nlen, off);
		c->unmap(q, nlen);
		break;
	}
	case OP_SHRINK: {
		size_t nlen = a ? a : page;
		char *q = c->remap(p, len, nlen, 0, NULL);
		if (q != p) {
			sh->errors++;
			c->unmap(p, len);
			break;
		}
		bad += (long)tl_bad_words(q, nlen, off);
		c->unmap(q, nlen);
		break;
	}
	case OP_MOVE: {
		char *dst = c->map(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (dst == MAP_FAILED) {
			sh->errors++;
			c->unmap(p, len);
			break;
		}
		char *q = c->remap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		if (q != dst) {
			sh->errors++;
			c->unmap(p, len);
			c->unmap(dst, len);
			break;
		}
		bad += (long)tl_bad_words(q, len, off);
		c->unmap(q, len);
		break;
	}
	}
	sh->ops[op]++;
	sh->bad += bad;
}

static struct shared sh;

static void *worker(void *arg)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL * ((uintptr_t)arg + 1);
	struct calls c = { mmap, munmap, libc_mremap };

	if (sh.raw)
		c = (struct calls){ sys_mmap, sys_munmap, sys_mremap };
	for (long r = 0; r < sh.rounds; r++)
		one_round(&sh, &c, &seed, r);
	sh.done++;
	return NULL;
}

static void print_ops(void)
{
	long total = 0;

	for (int i = 0; i < NOPS; i++)
		total += sh.ops[i];
	printf("rounds=%ld\nops=", total);
	for (int i = 0; i < NOPS; i++)
		printf("%s%s:%ld", i ? "," : "", op_names[i], (long)sh.ops[i]);
	printf("\nbad=%ld\nerrors=%ld\nsignals=%d\n", (long)sh.bad, (long)sh.errors,
	       (int)signals_seen);
	if (sh.raw)
		printf("held=%ld\nheld_found=%ld\nheld_dropped=%ld\nheld_timeouts=%ld\nheld_unwatched=%ld\n",
		       (long)sh.held, (long)sh.held_found, (long)sh.held_dropped, (long)sh.held_timeouts,
		       (long)sh.held_unwatched);
}

static int mode_threads(char **argv, long nthreads, bool raw)
{
	pthread_t t[64];

	sh.fd = open_size(argv[2], O_RDONLY, &sh.size);
	sh.rounds = atol(argv[3]);
	sh.raw = raw;
	if (nthreads < 1 || nthreads > 64)
		tl_die("1..64 threads");
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0)
			tl_die("pthread_create");
	while (sh.done < nthreads) {
		tl_sleep_ms(20);
		posix_fadvise(sh.fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	for (long i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	print_ops();
	return 0;
}

/* ---- churn ---- */

/* Anonymous resident memory of the process in kB (RssAnon): prefault's
 * own memory is anonymous; the file pages it brings in are not. */
static long rss_kb(void)
{
	char buf[4096];
	const char *p;

	if (tl_read_small("/proc/self/status", buf, sizeof buf) < 0 ||
	    !(p = strstr(buf, "RssAnon:")))
		tl_die("read /proc/self/status");
	return atol(p + 8);
}

static int mode_churn(char **argv)
{
	enum { LIVE = 256 };
	size_t size, page = tl_page();
	long rounds = atol(argv[3]), warm_rss = 0;
	uint64_t seed = 0x853c49e6748fea9bULL;
	int fd = open_size(argv[2], O_RDONLY, &size);
	char *live[LIVE] = { 0 };
	size_t live_len[LIVE], bad = 0;

	for (long r = 0; r < rounds; r++) {
		int slot = (int)(rnd(&seed) % LIVE);
		size_t len = (16 + rnd(&seed) % 240) * page;
		size_t off = (rnd(&seed) % ((size - len) / page)) * page;

		if (live[slot] && munmap(live[slot], live_len[slot]) != 0)
			tl_die("munmap");
		live[slot] = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
		if (live[slot] == MAP_FAILED)
			tl_die("mmap");
		live_len[slot] = len;
		const volatile uint64_t *w = (const void *)live[slot];
		if (w[0] != tl_word(off))
			bad++;
		if (r == rounds / 10)
			warm_rss = rss_kb();
	}
	printf("rounds=%ld\nlive=%d\nbad=%zu\nrss_warm_kb=%ld\nrss_end_kb=%ld\n", rounds, LIVE, bad,
	       warm_rss, rss_kb());
	return 0;
}

/* ---- rename ---- */

static uint64_t rword(uint64_t off, long round)
{
	return tl_word(off) ^ ((uint64_t)round * 0x9e3779b97f4a7c15ULL);
}

static size_t rbad(const char *p, size_t len, long round)
{
	const volatile uint64_t *w = (const void *)p;
	size_t bad = 0;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != rword(i * 8, round))
			bad++;
	return bad;
}

static int mode_rename(char **argv)
{
	enum { LEN = 256 * 1024 };
	static uint64_t buf[LEN / 8];
	char cur[4096], next[4096];
	long rounds = atol(argv[3]);
	size_t bad = 0;
	char *prev = NULL;

	snprintf(cur, sizeof cur, "%s/cur", argv[2]);
	snprintf(next, sizeof next, "%s/next", argv[2]);
	for (long r = 0; r < rounds; r++) {
		int fd = open(next, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			tl_die("open %s", next);
		for (size_t i = 0; i < LEN / 8; i++)
			buf[i] = rword(i * 8, r);
		if (write(fd, buf, LEN) != LEN)
			tl_die("write");
		close(fd);
		if (rename(next, cur) != 0)
			tl_die("rename");
		fd = open(cur, O_RDONLY);
		if (fd < 0)
			tl_die("open %s", cur);
		char *p = mmap(NULL, LEN, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			tl_die("mmap");
		close(fd);
		bad += rbad(p, LEN, r);
		if (prev) {
			bad += rbad(prev, LEN, r - 1);
			if (munmap(prev, LEN) != 0)
				tl_die("munmap");
		}
		prev = p;
	}
	printf("rounds=%ld\nbad=%zu\nsignals=%d\n", rounds, bad, (int)signals_seen);
	return 0;
}

int main(int argc, char **argv)
{
	catch_fatal();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "trunc"))
		return mode_trunc(argc, argv);
	if (argc == 5 && !strcmp(argv[1], "threads"))
		return mode_threads(argv, atol(argv[4]), false);
	if (argc == 4 && !strcmp(argv[1], "raw")) {
		/* Discovery starts at the first call of a hook (by design), as
		 * the Go runtime's first heap mapping does in a cgo program. */
		void *a = mmap(NULL, 1 << 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (a == MAP_FAILED || munmap(a, 1 << 16) != 0)
			tl_die("mmap");
		return mode_threads(argv, 2, true);
	}
	if (argc == 4 && !strcmp(argv[1], "churn"))
		return mode_churn(argv);
	if (argc == 4 && !strcmp(argv[1], "rename"))
		return mode_rename(argv);
	fprintf(stderr, "usage: torture_race trunc FILE ROUNDS [BIG] | threads FILE ROUNDS N | churn FILE ROUNDS |"
			" raw FILE ROUNDS | rename DIR ROUNDS\n");
	return 2;
}
