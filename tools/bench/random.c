/*
 * random.c - random reads after a start-up pause (the bbolt pattern).
 *
 * Maps the benchmark file cold, marks it MADV_RANDOM as bbolt and LMDB do,
 * sleeps --pause ms (a program starting up: time prefault can use), then
 * reads one byte at --reads random page-aligned offsets drawn from a fixed
 * seed.  Reports the time of the reads alone, the worst single read and the
 * 99th percentile, and the
 * main thread's major faults and off-CPU time while reading.
 *
 * Two alternatives a user might pick instead of prefault:
 *   --populate  mmap with MAP_POPULATE (bbolt's MmapFlags): the mmap call
 *               itself reads the whole file before the program goes on;
 *   --pread     no mapping: pread(2) of one page at each offset, the fd
 *               marked POSIX_FADV_RANDOM (the pread twin of MADV_RANDOM).
 * setup_ms is the time of the mmap call (or open + fadvise for --pread),
 * which MAP_POPULATE makes long; total_ms is the reads alone.
 *
 *   bench-random [--size 512M] [--pause 300] [--reads 20000] [--seed N]
 *                [--dir DIR] [--hot | --keep] [--prepare] [--populate | --pread]
 *
 * --keep leaves the page cache as it is (a file warmed by vmtouch before the
 * program starts); cached_at_start then says how much was there.  --rate N
 * reads on a fixed schedule of N a second (a server answering requests)
 * instead of flat out; a read's latency is still the read alone.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"[--size 512M] [--pause MS] [--reads N] [--rate N] [--seed N] [--dir DIR] [--hot | --keep]"
	" [--prepare] [--populate | --pread]";

/* Before read i at `rate` a second from start_ns: sleeps until its turn. */
static void wait_turn(unsigned long rate, uint64_t start_ns, unsigned long i)
{
	if (!rate)
		return;
	uint64_t due = start_ns + (uint64_t)i * 1000000000ull / rate, now = bench_now_ns();
	if (due > now) {
		struct timespec ts = { (time_t)((due - now) / 1000000000ull),
				       (long)((due - now) % 1000000000ull) };
		nanosleep(&ts, NULL);
	}
}

/* Reads one byte of each chosen page, timing each read into lat. */
static void read_random_pages(const unsigned char *map, uint64_t pages,
			      unsigned long reads, unsigned long rate, uint64_t seed,
			      struct bench_lat *lat)
{
	uint64_t state = seed ? seed : 1;
	long pagesize = sysconf(_SC_PAGESIZE);
	uint64_t start = bench_now_ns();

	for (unsigned long i = 0; i < reads; i++) {
		wait_turn(rate, start, i);
		uint64_t off = (bench_rand(&state) % pages) * (uint64_t)pagesize;
		uint64_t t0 = bench_now_ns();

		(void)*(volatile const unsigned char *)(map + off);
		bench_lat_add(lat, bench_now_ns() - t0);
	}
}

/* The same reads through pread(2), one page each, into buf. */
static void pread_random_pages(int fd, uint64_t pages, unsigned long reads, unsigned long rate,
			       uint64_t seed, struct bench_lat *lat)
{
	uint64_t state = seed ? seed : 1;
	long pagesize = sysconf(_SC_PAGESIZE);
	static unsigned char buf[65536];
	uint64_t start = bench_now_ns();

	for (unsigned long i = 0; i < reads; i++) {
		wait_turn(rate, start, i);
		uint64_t off = (bench_rand(&state) % pages) * (uint64_t)pagesize;
		uint64_t t0 = bench_now_ns();

		if (pread(fd, buf, (size_t)pagesize, (off_t)off) < 0)
			bench_die("pread: %s", strerror(errno));
		bench_lat_add(lat, bench_now_ns() - t0);
	}
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .size = 512ull << 20, .pause_ms = 300, .reads = 20000,
				   .seed = 42 };
	struct bench_snap before, after;
	char path[4096];
	unsigned char *map = NULL;
	uint64_t setup0, setup_ns;
	long cached;
	struct bench_lat lat;
	int fd;

	bench_parse_args(&opts, argc, argv, usage);
	fd = bench_open_file(&opts, path, sizeof(path));
	if (opts.prepare) {
		printf("file=%s\n", path);
		return 0;
	}
	cached = opts.hot ? bench_load(fd, opts.size)
		: opts.keep ? bench_cached(fd, opts.size) : bench_evict(fd, opts.size);
	bench_lat_init(&lat, opts.reads);
	setup0 = bench_now_ns();
	if (opts.use_pread) {
		if (posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM) != 0)
			bench_die("posix_fadvise POSIX_FADV_RANDOM failed");
	} else {
		map = mmap(NULL, opts.size, PROT_READ,
			   MAP_SHARED | (opts.populate ? MAP_POPULATE : 0), fd, 0);
		if (map == MAP_FAILED)
			bench_die("mmap %s: %s", path, strerror(errno));
		if (madvise(map, opts.size, MADV_RANDOM) != 0)
			bench_die("madvise MADV_RANDOM: %s", strerror(errno));
	}
	setup_ns = bench_now_ns() - setup0;
	bench_sleep_ms(opts.pause_ms);

	bench_snap(&before);
	if (opts.use_pread)
		pread_random_pages(fd, opts.size / (uint64_t)sysconf(_SC_PAGESIZE), opts.reads,
				   opts.rate, opts.seed, &lat);
	else
		read_random_pages(map, opts.size / (uint64_t)sysconf(_SC_PAGESIZE), opts.reads,
				  opts.rate, opts.seed, &lat);
	bench_snap(&after);

	printf("workload=random size=%llu reads=%lu rate=%lu pause_ms=%u hot=%d cached_at_start=%ld"
	       " access=%s setup_ms=%.3f",
	       (unsigned long long)opts.size, opts.reads, opts.rate, opts.pause_ms, opts.hot, cached,
	       opts.use_pread ? "pread" : opts.populate ? "populate" : "mmap", setup_ns / 1e6);
	bench_report_reads(&before, &after, &lat);
	if (map)
		munmap(map, opts.size);
	close(fd);
	return 0;
}
