/*
 * testlib.h - helpers shared by the test programs (tests/progs/).
 *
 * Test files hold a checkable pattern: the 8-byte word at file offset o is
 * o ^ TL_SEED, so no page is zero and any word can be verified wherever it
 * is mapped.  Programs report what they observe as key=value lines on stdout
 * and die with a message on stderr (exit 99) when the test itself cannot run.
 */
#ifndef PF_TESTLIB_H
#define PF_TESTLIB_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define TL_SEED 0x5eed0f00dcafe123ULL

static inline void tl_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
static inline void tl_die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "test program: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", e, strerror(e));
	exit(99);
}

static inline size_t tl_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline uint64_t tl_word(uint64_t offset)
{
	return offset ^ TL_SEED;
}

static inline void tl_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static inline double tl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses a size with an optional K/M/G suffix (powers of 1024). */
static inline uint64_t tl_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'K': case 'k': return v << 10;
	case 'M': case 'm': return v << 20;
	case 'G': case 'g': return v << 30;
	case '\0': return v;
	}
	tl_die("bad size '%s'", s);
}

/* Drops the file's pages from the page cache (they must be clean). */
static inline void tl_evict_fd(int fd)
{
	if (fdatasync(fd) != 0 && errno != EINVAL && errno != EBADF)
		tl_die("fdatasync");
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
		tl_die("posix_fadvise(DONTNEED)");
}

static inline void tl_evict(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		tl_die("open %s", path);
	tl_evict_fd(fd);
	close(fd);
}

/* Writes a pattern file of size bytes (a multiple of 8), synced and evicted. */
static inline void tl_make_file(const char *path, uint64_t size)
{
	enum { CHUNK = 1 << 20 };
	uint64_t *buf = malloc(CHUNK);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (!buf || fd < 0)
		tl_die("create %s", path);
	if (size % 8)
		tl_die("size %llu is not a multiple of 8", (unsigned long long)size);
	for (uint64_t off = 0; off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		for (size_t i = 0; i < n / 8; i++)
			buf[i] = tl_word(off + i * 8);
		for (size_t done = 0; done < n;) {
			ssize_t w = write(fd, (char *)buf + done, n - done);

			if (w < 0)
				tl_die("write %s", path);
			done += (size_t)w;
		}
	}
	if (fsync(fd) != 0)
		tl_die("fsync %s", path);
	tl_evict_fd(fd);
	close(fd);
	free(buf);
}

/* Number of words in [addr, addr+len) that do not hold the pattern of the
 * file offset they map (file_off is the offset of addr). */
static inline size_t tl_bad_words(const void *addr, size_t len, uint64_t file_off)
{
	const volatile uint64_t *w = addr;
	size_t bad = 0;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != tl_word(file_off + i * 8))
			bad++;
	return bad;
}

/* Pages of [addr, addr+len) present in this process's page table, read
 * from fd, /proc/self/pagemap open (bit 63). */
static inline size_t tl_present_fd(int fd, const void *addr, size_t len)
{
	size_t page = tl_page(), npages = (len + page - 1) / page, present = 0;
	uint64_t ent[512];

	for (size_t i = 0; i < npages;) {
		size_t n = npages - i < 512 ? npages - i : 512;
		off_t at = (off_t)(((uintptr_t)addr / page + i) * 8);
		ssize_t r = pread(fd, ent, n * 8, at);

		if (r != (ssize_t)(n * 8))
			tl_die("read /proc/self/pagemap");
		for (size_t j = 0; j < n; j++)
			if (ent[j] >> 63)
				present++;
		i += n;
	}
	return present;
}

/* Pages of [addr, addr+len) present in this process's page table
 * (/proc/self/pagemap bit 63). */
static inline size_t tl_present(const void *addr, size_t len)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		tl_die("open /proc/self/pagemap");
	size_t present = tl_present_fd(fd, addr, len);
	close(fd);
	return present;
}

/* Pages of [base + off, base + off + len) in the page cache (mincore);
 * *pages gets how many pages that is.  With say, prints the first page
 * missing as first_missing=N (pages from base), when it begins a gap. */
static inline size_t tl_cached(const unsigned char *base, size_t off, size_t len, size_t *pages,
			       int say)
{
	size_t page = tl_page(), n = (len + page - 1) / page, r = 0;
	unsigned char *vec = malloc(n);

	if (!vec || mincore((void *)(base + off), len, vec) != 0)
		tl_die("mincore");
	for (size_t i = 0; i < n; i++) {
		if (say && !(vec[i] & 1) && r == i)
			printf("first_missing=%zu\n", (off / page) + i);
		r += vec[i] & 1;
	}
	free(vec);
	*pages = n;
	return r;
}

/* Reads one byte of every page of the n extents [off[i], off[i] + len[i])
 * of base; returns their sum (printed, so the reads are not optimised out). */
static inline unsigned long tl_touch_extents(const unsigned char *base, const size_t *off,
					     const size_t *len, size_t n)
{
	size_t page = tl_page();
	unsigned long sum = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t o = 0; o < len[i]; o += page)
			sum += base[off[i] + o];
	return sum;
}

/* "OFF:LEN" in MiB, as the recall programs take extents, into bytes. */
static inline void tl_parse_mib_extent(const char *s, size_t *off, size_t *len)
{
	unsigned long a, b;

	if (sscanf(s, "%lu:%lu", &a, &b) != 2)
		tl_die("bad extent '%s' (OFF:LEN in MiB)", s);
	*off = a << 20;
	*len = b << 20;
}

/* Major faults taken so far by the calling thread. */
static inline long tl_thread_majflt(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		tl_die("getrusage");
	return ru.ru_majflt;
}

/* Reads a small /proc file into buf; returns its length or -1. */
static inline ssize_t tl_read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * Waiting for prefault.  A test program that needs prefault to have done
 * something (a helper at work, pages present, a record written) polls for
 * it with a deadline long enough for the slowest machine, TL_DEADLINE_S,
 * instead of sleeping a fixed time that a slow or loaded machine could
 * outrun.  A wait that runs out returns false and the program goes on: what
 * it then reports makes the test fail.
 */
#define TL_DEADLINE_S 60.0

/* Where prefault's statistics go ($PREFAULT_STATS, %p as this pid), or NULL
 * when they go nowhere a program can read back (unset, stderr, fd:N). */
static inline const char *tl_stats_path(void)
{
	static char path[4096];
	const char *s = getenv("PREFAULT_STATS");
	size_t n = 0;

	if (!s || !*s || !strcmp(s, "stderr") || !strncmp(s, "fd:", 3))
		return NULL;
	for (; *s && n + 16 < sizeof path; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			n += (size_t)snprintf(path + n, sizeof path - n, "%d", (int)getpid());
			s++;
		} else {
			path[n++] = *s;
		}
	}
	path[n] = '\0';
	return path;
}

/* Lines of the statistics that contain every one of the (up to 3, NULL
 * ending the list) strings; 0 when there are none or no statistics. */
static inline long tl_stats_count(const char *a, const char *b, const char *c)
{
	const char *path = tl_stats_path();
	static char line[1 << 16];
	long n = 0;
	FILE *f = path ? fopen(path, "r") : NULL;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if ((!a || strstr(line, a)) && (!b || strstr(line, b)) && (!c || strstr(line, c)))
			n++;
	fclose(f);
	return n;
}

/* Waits until at least n lines of the statistics contain a and b (b may be
 * NULL); false when there are no statistics to read or the deadline passed. */
static inline int tl_wait_stats(const char *a, const char *b, long n)
{
	double until = tl_now() + TL_DEADLINE_S;

	if (!tl_stats_path())
		return 0;
	while (tl_stats_count(a, b, NULL) < n) {
		if (tl_now() > until)
			return 0;
		tl_sleep_ms(2);
	}
	return 1;
}

/* Waits until pct percent of the pages of [addr, addr+len) are present in
 * the page table (pct 0: at least one page); false at the deadline. */
static inline int tl_wait_present(const void *addr, size_t len, int pct)
{
	size_t page = tl_page(), npages = (len + page - 1) / page;
	size_t want = pct > 0 ? (npages * (size_t)pct + 99) / 100 : 1;
	double until = tl_now() + TL_DEADLINE_S;

	while (tl_present(addr, len) < want) {
		if (tl_now() > until)
			return 0;
		tl_sleep_ms(1);
	}
	return 1;
}

/* Calls fn(tid, comm, arg) for every thread of this process whose name
 * starts with "prefault"; returns how many there are. */
static inline int tl_each_prefault_thread(void (*fn)(const char *tid, void *arg),
					  void *arg)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int count = 0;

	if (!d)
		tl_die("opendir /proc/self/task");
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[64];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (tl_read_small(path, comm, sizeof(comm)) < 0)
			continue; /* the thread has just gone */
		if (strncmp(comm, "prefault", 8) != 0)
			continue;
		count++;
		if (fn)
			fn(e->d_name, arg);
	}
	closedir(d);
	return count;
}

/* Waits until at least n threads named prefault* exist (a helper names
 * itself once it runs: a thread just started may not be named yet), or,
 * with n 0, until none is left; false at the deadline. */
static inline int tl_wait_helpers(int n)
{
	double until = tl_now() + TL_DEADLINE_S;

	for (;;) {
		int have = tl_each_prefault_thread(NULL, NULL);

		if (n > 0 ? have >= n : have == 0)
			return 1;
		if (tl_now() > until)
			return 0;
		tl_sleep_ms(1);
	}
}

#endif
