/*
 * torture_res MODE ... - a program short of resources.
 *
 *   emfile FILE ROUNDS
 *       Opens FILE, lowers RLIMIT_NOFILE to 32 and fills every descriptor,
 *       then maps FILE through the descriptor it already had (ROUNDS times,
 *       mapping and unmapping 1 MiB pieces, then the whole file, kept).
 *       Each call must return what libc returns; open() must still fail
 *       with EMFILE; after 500 ms the pages of the whole mapping are
 *       reported (prefault may bring them in or give up silently).
 *       -> maps_ok=N/N bad=N open_errno=EMFILE fds_before=N fds_after=N present=N/M
 *   closeall FILE REPORT
 *       Closes every descriptor, 0, 1 and 2 included, then opens FILE (it
 *       gets descriptor 0), maps it, checks it, waits 500 ms, and writes
 *       its report to REPORT (a new descriptor, after the mapping).
 *       -> fd=0 bad=N present=N/M
 *   eio FILE OKFILE MS
 *       Maps FILE (on torture_eiofs: every read fails with EIO) without
 *       touching it, and OKFILE; for MS milliseconds samples the CPU time of
 *       prefault's threads; then checks OKFILE's words.
 *       -> helpers=N helper_cpu_ms=N wall_ms=N ok_bad=N
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

static int mode_emfile(char **argv)
{
	struct rlimit rl = { 32, 32 };
	struct stat st;
	long rounds = atol(argv[3]), ok = 0;
	size_t bad = 0, page = tl_page();
	int fd = open(argv[2], O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[2]);
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
	tl_sleep_ms(500);
	int o = open(argv[2], O_RDONLY);
	int oe = errno;
	int after = count_fds(64);

	close(31); /* one descriptor free, for /proc/self/pagemap */
	size_t present = tl_present(whole, len);

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
	tl_sleep_ms(500);
	size_t present = tl_present(p, len);
	size_t bad = tl_bad_words(p, len, 0);
	int out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		_exit(96);
	int n = snprintf(buf, sizeof buf, "fd=%d\nbad=%zu\npresent=%zu/%zu\n", fd, bad, present,
			 len / page);
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
	double t0 = tl_now();
	while (tl_now() - t0 < ms / 1000.0) {
		int n = tl_each_prefault_thread(note_cpu, &cpu);

		if (n > helpers)
			helpers = n;
		tl_sleep_ms(20);
	}
	long ticks = 0;
	for (int i = 0; i < cpu.n; i++)
		ticks += cpu.ticks[i];
	printf("helpers=%ld\nhelper_cpu_ms=%ld\nwall_ms=%ld\nok_bad=%zu\n", helpers,
	       ticks * 1000 / hz, (long)((tl_now() - t0) * 1000), tl_bad_words(ok, oklen, 0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "eio"))
		return mode_eio(argv);
	if (argc == 4 && !strcmp(argv[1], "emfile"))
		return mode_emfile(argv);
	if (argc == 4 && !strcmp(argv[1], "closeall"))
		return mode_closeall(argv);
	fprintf(stderr, "usage: torture_res emfile FILE ROUNDS | closeall FILE REPORT | eio FILE OKFILE MS\n");
	return 2;
}
