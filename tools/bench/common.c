/*
 * common.c - the shared half of the benchmark programs: options, the
 * benchmark file, cold-cache eviction, clocks and counters.
 *
 * The benchmark file is created once per size as DIR/bench-SIZE.dat (written
 * to a temporary name, synced, then renamed, so a half-written file is never
 * reused) and filled with non-zero pseudo-random bytes.  Eviction syncs, asks
 * the kernel to drop the file's pages (POSIX_FADV_DONTNEED), and checks with
 * cachestat(2) that they are gone: readahead still in flight from a previous
 * run can land after the first attempt, so it retries a few times.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_cachestat
#define SYS_cachestat 451       /* Linux 6.5+, the same number on every architecture */
#endif

#define CHUNK (1u << 20)

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

uint64_t bench_parse_size(const char *what, const char *s)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		bench_die("%s: '%s' is not a size (like 512M)", what, s);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || n == 0 || n > (UINT64_MAX >> shift))
		bench_die("%s: '%s' is not a size (like 512M)", what, s);
	return (uint64_t)n << shift;
}

unsigned long bench_parse_ulong(const char *what, const char *s)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		bench_die("%s: '%s' is not a number", what, s);
	return n;
}

void bench_parse_args(struct bench_opts *opts, int argc, char **argv, const char *usage)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "size", required_argument, NULL, 's' },
		{ "pause", required_argument, NULL, 'p' },
		{ "reads", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 'S' },
		{ "hot", no_argument, NULL, 'H' },
		{ "prepare", no_argument, NULL, 'P' },
		{ "populate", no_argument, NULL, 'O' },
		{ "pread", no_argument, NULL, 'R' },
		{ "keep", no_argument, NULL, 'K' },
		{ "rate", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	if (!opts->dir) {
		opts->dir = getenv("PREFAULT_BENCH_DIR");
		if (!opts->dir || !*opts->dir)
			opts->dir = "build/bench-data";
	}
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': opts->dir = optarg; break;
		case 's': opts->size = bench_parse_size("--size", optarg); break;
		case 'p': opts->pause_ms = (unsigned)bench_parse_ulong("--pause", optarg); break;
		case 'n': opts->reads = bench_parse_ulong("--reads", optarg); break;
		case 'S': opts->seed = bench_parse_ulong("--seed", optarg); break;
		case 'H': opts->hot = 1; break;
		case 'P': opts->prepare = 1; break;
		case 'O': opts->populate = 1; break;
		case 'R': opts->use_pread = 1; break;
		case 'K': opts->keep = 1; break;
		case 'r': opts->rate = bench_parse_ulong("--rate", optarg); break;
		default: bench_die("usage: %s %s", program_invocation_short_name, usage);
		}
	}
	if (optind != argc)
		bench_die("usage: %s %s", program_invocation_short_name, usage);
}

static void write_all(int fd, const char *buf, size_t len, const char *path)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_die("writing %s: %s", path, n < 0 ? strerror(errno) : "short write");
		buf += n;
		len -= (size_t)n;
	}
}

static void fill_chunk(uint64_t *buf, size_t words, uint64_t *state)
{
	for (size_t i = 0; i < words; i++)
		buf[i] = bench_rand(state) | 0x0101010101010101ull;
}

static void create_file(const char *path, uint64_t size)
{
	char tmp[4096];
	uint64_t *buf = malloc(CHUNK);
	uint64_t state = 0x9e3779b97f4a7c15ull;
	int fd;

	if (!buf)
		bench_die("out of memory");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		bench_die("creating %s: %s", tmp, strerror(errno));
	fprintf(stderr, "%s: creating %s (%llu MiB, once)\n", program_invocation_short_name,
		path, (unsigned long long)(size >> 20));
	for (uint64_t done = 0; done < size; done += CHUNK) {
		size_t len = size - done < CHUNK ? (size_t)(size - done) : CHUNK;

		fill_chunk(buf, CHUNK / sizeof(*buf), &state);
		write_all(fd, (const char *)buf, len, tmp);
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		bench_die("syncing %s: %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		bench_die("renaming %s to %s: %s", tmp, path, strerror(errno));
	free(buf);
}

int bench_open_file(const struct bench_opts *opts, char *path, size_t pathlen)
{
	struct stat st;
	int fd;

	if (mkdir(opts->dir, 0755) != 0 && errno != EEXIST)
		bench_die("creating directory %s: %s", opts->dir, strerror(errno));
	snprintf(path, pathlen, "%s/bench-%llu.dat", opts->dir, (unsigned long long)opts->size);
	if (stat(path, &st) != 0 || (uint64_t)st.st_size != opts->size)
		create_file(path, opts->size);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bench_die("opening %s: %s", path, strerror(errno));
	return fd;
}

/* Pages of the file in the page cache, or -1 when cachestat(2) is missing. */
static long cached_pages(int fd, uint64_t size)
{
	struct { uint64_t off, len; } range = { 0, size };
	struct { uint64_t cache, dirty, writeback, evicted, recently_evicted; } cs;

	if (syscall(SYS_cachestat, fd, &range, &cs, 0) != 0)
		return -1;
	return (long)cs.cache;
}

long bench_cached(int fd, uint64_t size)
{
	return cached_pages(fd, size);
}

long bench_evict(int fd, uint64_t size)
{
	long left = -1;

	fdatasync(fd);
	for (int attempt = 0; attempt < 20; attempt++) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		left = cached_pages(fd, size);
		if (left <= 0)
			break;
		bench_sleep_ms(50);
	}
	return left;
}

/* Reads the whole file once through a buffer. */
static void read_through(int fd, uint64_t size, char *buf)
{
	for (uint64_t off = 0; off < size; off += CHUNK)
		if (pread(fd, buf, CHUNK, (off_t)off) < 0)
			bench_die("reading the benchmark file: %s", strerror(errno));
}

long bench_load(int fd, uint64_t size)
{
	long pagesize = sysconf(_SC_PAGESIZE);
	long pages = (long)((size + (uint64_t)pagesize - 1) / (uint64_t)pagesize), cached = -1;
	char *buf = malloc(CHUNK);

	if (!buf)
		bench_die("out of memory");
	/* Another process dropping caches while we load is not rare on a shared
	 * machine: check, and load again what went missing. */
	for (int attempt = 0; attempt < 3; attempt++) {
		read_through(fd, size, buf);
		cached = cached_pages(fd, size);
		if (cached < 0 || cached >= pages)
			break;
	}
	free(buf);
	return cached;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_snap(struct bench_snap *s)
{
	struct timespec ts;
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	s->cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	s->majflt = ru.ru_majflt;
	s->minflt = ru.ru_minflt;
	s->wall_ns = bench_now_ns();
}

void bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

void bench_lat_init(struct bench_lat *lat, size_t cap)
{
	lat->ns = malloc((cap ? cap : 1) * sizeof(*lat->ns));
	if (!lat->ns)
		bench_die("out of memory");
	memset(lat->ns, 0, (cap ? cap : 1) * sizeof(*lat->ns));   /* fault it in now */
	lat->n = 0;
	lat->cap = cap;
	lat->worst = 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double p99_ms(struct bench_lat *lat)
{
	if (lat->n == 0)
		return 0.0;
	qsort(lat->ns, lat->n, sizeof(*lat->ns), cmp_u32);
	return lat->ns[(lat->n - 1) * 99 / 100] / 1e6;
}

void bench_report_reads(const struct bench_snap *before, const struct bench_snap *after,
			struct bench_lat *lat)
{
	uint64_t wall = after->wall_ns - before->wall_ns;
	uint64_t cpu = after->cpu_ns - before->cpu_ns;

	printf(" total_ms=%.3f worst_ms=%.3f p99_ms=%.3f majflt=%ld minflt=%ld offcpu_ms=%.3f\n",
	       wall / 1e6, lat->worst / 1e6, p99_ms(lat), after->majflt - before->majflt,
	       after->minflt - before->minflt, wall > cpu ? (wall - cpu) / 1e6 : 0.0);
	fflush(stdout);
}
