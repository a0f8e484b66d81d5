/*
 * torture_res MODE ... - a program short of resources.
 *
 *   emfile FILE ROUNDS [PCT]
 *       Opens FILE and /proc/self/pagemap, lowers RLIMIT_NOFILE to 32 and
 *       fills every descriptor, then maps FILE through the descriptor it
 *       already had (ROUNDS times, mapping and unmapping 1 MiB pieces, then
 *       the whole file, kept).  Each call must return what libc returns;
 *       open() must still fail with EMFILE; after 500 ms (with PCT: once
 *       PCT% of the pages are present, at most TL_DEADLINE_S, testlib.h)
 *       the pages of the whole mapping are reported (prefault may bring
 *       them in or give up silently).
 *       -> maps_ok=N/N bad=N open_errno=EMFILE fds_before=N fds_after=N present=N/M
 *   closeall FILE REPORT
 *       Closes every descriptor, 0, 1 and 2 included, then opens FILE (it
 *       gets descriptor 0), maps it, checks it, waits until prefault's
 *       statistics ($PREFAULT_STATS) hold a done record (at most
 *       TL_DEADLINE_S; 500 ms without statistics), and writes its report
 *       to REPORT (a new descriptor, after the mapping).
 *       -> fd=0 bad=N present=N/M done=1 (0: no done record in time)
 *   eio FILE OKFILE MS
 *       Maps FILE (on torture_eiofs: every read fails with EIO) without
 *       touching it, and OKFILE; waits until prefault's statistics hold
 *       FILE's done record and reads the file system's count of FILE's
 *       reads (DIR/reads, beside FILE); then until MS milliseconds have
 *       passed and prefault's helpers have left (idle exit), sampling their
 *       CPU time all along (each wait at most TL_DEADLINE_S, testlib.h);
 *       reads the count again; then checks OKFILE's words.  A helper that
 *       kept retrying the failing range would never leave, and reads would
 *       grow after the done record.
 *       -> helpers=N helper_cpu_ms=N wall_ms=N done=1 helpers_left=1
 *          reads_at_done=N reads_after=N ok_bad=N
 */
#include "testlib.h"

static int count_fds(int limit)
{
	int n = 0;

	for (int fd = 0; fd < limit; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static int mode_emfile(int argc, char **argv)
{
	struct rlimit rl = { 32, 32 };
	struct stat st;
	long rounds = atol(argv[3]), ok = 0;
	size_t bad = 0, page = tl_page();
	int fd = open(argv[2], O_RDONLY), pct = argc > 4 ? atoi(argv[4]) : -1;
	int pagemap = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[2]);
	if (pagemap < 0)
		tl_die("open /proc/self/pagemap");
	tl_evict_fd(fd);
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		tl_die("setrlimit");
	while (dup(fd) >= 0)
		;
	if (errno != EMFILE)
		tl_die("dup did not end with EMFILE");
	int before = count_fds(64);
	size_t len = (size_t)st.st_size, piece = 1 << 20;

	for (long r = 0; r < rounds; r++) {
		size_t off = (size_t)(r % (long)(len / piece)) * piece;
		errno = 0;
		char *p = mmap(NULL, piece, PROT_READ, MAP_PRIVATE, fd, (off_t)off);

		if (p == MAP_FAILED || errno != 0)
			continue;
		bad += tl_bad_words(p, piece, off);
		if (munmap(p, piece) == 0 && errno == 0)
			ok++;
	}
	char *whole = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (whole == MAP_FAILED)
		tl_die("mmap the whole file");
	if (pct < 0) {
		tl_sleep_ms(500);
	} else {
		double until = tl_now() + TL_DEADLINE_S;
		while (tl_present_fd(pagemap, whole, len) * 100 < (size_t)pct * (len / page) &&
		       tl_now() < until)
			tl_sleep_ms(5);
	}
	int o = open(argv[2], O_RDONLY);
	int oe = errno;
	int after = count_fds(64);
	size_t present = tl_present_fd(pagemap, whole, len);

	bad += tl_bad_words(whole, len, 0);
	printf("maps_ok=%ld/%ld\nbad=%zu\nopen_errno=%s\nfds_before=%d\nfds_after=%d\n"
	       "present=%zu/%zu\n",
	       ok, rounds, bad, o < 0 && oe == EMFILE ? "EMFILE" : "other", before, after,
	       present, len / page);
	return 0;
}

static int mode_closeall(char **argv)
{
	struct stat st;
	size_t page = tl_page();
	char buf[256];

	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		_exit(97);
	tl_evict_fd(fd);
	size_t len = (size_t)st.st_size;
	char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(98);
	close(fd);
	int done = 0;
	if (tl_stats_path())
		done = tl_wait_stats("\"ev\":\"done\"", NULL, 1);
	else
		tl_sleep_ms(500);
	size_t present = tl_present(p, len);
	size_t bad = tl_bad_words(p, len, 0);
	int out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		_exit(96);
	int n = snprintf(buf, sizeof buf, "fd=%d\nbad=%zu\npresent=%zu/%zu\ndone=%d\n", fd, bad,
			 present, len / page, done);
	if (write(out, buf, (size_t)n) != n)
		_exit(95);
	close(out);
	return 0;
}

/* CPU time (ms) of prefault's threads: the last value seen of each. */
struct cpu_seen {
	char tid[16][16];
	long ticks[16];
	int n;
};

static void note_cpu(const char *tid, void *arg)
{
	struct cpu_seen *c = arg;
	char path[300], buf[1024];
	unsigned long ut, st;
	int i;

	snprintf(path, sizeof path, "/proc/self/task/%s/stat", tid);
	if (tl_read_small(path, buf, sizeof buf) < 0)
		return;
	char *p = strrchr(buf, ')');
	/* after ')': state is field 3; utime and stime are fields 14, 15 */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return;
	for (i = 0; i < c->n; i++)
		if (!strcmp(c->tid[i], tid))
			break;
	if (i == c->n) {
		if (c->n == 16)
			return;
		snprintf(c->tid[c->n++], sizeof c->tid[0], "%s", tid);
	}
	c->ticks[i] = (long)(ut + st);
}

/* The number in a small file (torture_eiofs's count of reads). */
static long read_count(const char *path)
{
	char buf[64];

	if (tl_read_small(path, buf, sizeof buf) < 0)
		tl_die("read %s", path);
	return atol(buf);
}

static int mode_eio(char **argv)
{
	struct stat st;
	struct cpu_seen cpu = { .n = 0 };
	long ms = atol(argv[4]), hz = sysconf(_SC_CLK_TCK), helpers = 0;
	int fd = open(argv[2], O_RDONLY), okfd = open(argv[3], O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0 || okfd < 0)
		tl_die("open %s, %s", argv[2], argv[3]);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap %s", argv[2]);
	if (fstat(okfd, &st) != 0)
		tl_die("fstat");
	size_t oklen = (size_t)st.st_size;
	char *ok = mmap(NULL, oklen, PROT_READ, MAP_SHARED, okfd, 0);
	if (ok == MAP_FAILED)
		tl_die("mmap %s", argv[3]);
	char counter[4096];
	snprintf(counter, sizeof counter, "%s", argv[2]);
	char *slash = strrchr(counter, '/');
	snprintf(slash ? slash + 1 : counter, sizeof counter - (size_t)(slash ? slash + 1 - counter : 0),
		 "reads");
	char needle[300]; /* the end of FILE's path in a record: the name, quoted */
	snprintf(needle, sizeof needle, "/%s\"", strrchr(argv[2], '/') ? strrchr(argv[2], '/') + 1 : argv[2]);
	long at_done = -1, after;
	int done = 0, left = 0;
	double t0 = tl_now();
	for (;;) {
		int n = tl_each_prefault_thread(note_cpu, &cpu);

		if (n > helpers)
			helpers = n;
		if (!done && tl_stats_count("\"ev\":\"done\"", needle, NULL) > 0) {
			done = 1;
			at_done = read_count(counter);
		}
		left = done && n == 0;
		if ((left && tl_now() - t0 >= ms / 1000.0) || tl_now() - t0 > TL_DEADLINE_S)
			break;
		tl_sleep_ms(20);
	}
	after = read_count(counter);
	long ticks = 0;
	for (int i = 0; i < cpu.n; i++)
		ticks += cpu.ticks[i];
	printf("helpers=%ld\nhelper_cpu_ms=%ld\nwall_ms=%ld\ndone=%d\nhelpers_left=%d\n"
	       "reads_at_done=%ld\nreads_after=%ld\nok_bad=%zu\n", helpers, ticks * 1000 / hz,
	       (long)((tl_now() - t0) * 1000), done, left, at_done, after, tl_bad_words(ok, oklen, 0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "eio"))
		return mode_eio(argv);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "emfile"))
		return mode_emfile(argc, argv);
	if (argc == 4 && !strcmp(argv[1], "closeall"))
		return mode_closeall(argv);
	fprintf(stderr, "usage: torture_res emfile FILE ROUNDS [PCT] | closeall FILE REPORT | eio FILE OKFILE MS\n");
	return 2;
}
