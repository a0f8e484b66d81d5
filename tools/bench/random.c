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
 *   bench-random [--size 512M] [--pause 300] [--reads 20000] [--seed N]
 *                [--dir DIR] [--hot] [--prepare]
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char usage[] =
	"[--size 512M] [--pause MS] [--reads N] [--seed N] [--dir DIR] [--hot] [--prepare]";

/* Reads one byte of each chosen page, timing each read into lat. */
static void read_random_pages(const unsigned char *map, uint64_t pages,
			      unsigned long reads, uint64_t seed, struct bench_lat *lat)
{
	uint64_t state = seed ? seed : 1;
	long pagesize = sysconf(_SC_PAGESIZE);

	for (unsigned long i = 0; i < reads; i++) {
		uint64_t off = (bench_rand(&state) % pages) * (uint64_t)pagesize;
		uint64_t t0 = bench_now_ns();

		(void)*(volatile const unsigned char *)(map + off);
		bench_lat_add(lat, bench_now_ns() - t0);
	}
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .size = 512ull << 20, .pause_ms = 300, .reads = 20000,
				   .seed = 42 };
	struct bench_snap before, after;
	char path[4096];
	unsigned char *map;
	long cached;
	struct bench_lat lat;
	int fd;

	bench_parse_args(&opts, argc, argv, usage);
	fd = bench_open_file(&opts, path, sizeof(path));
	if (opts.prepare) {
		printf("file=%s\n", path);
		return 0;
	}
	cached = opts.hot ? bench_load(fd, opts.size) : bench_evict(fd, opts.size);
	bench_lat_init(&lat, opts.reads);
	map = mmap(NULL, opts.size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		bench_die("mmap %s: %s", path, strerror(errno));
	if (madvise(map, opts.size, MADV_RANDOM) != 0)
		bench_die("madvise MADV_RANDOM: %s", strerror(errno));
	bench_sleep_ms(opts.pause_ms);

	bench_snap(&before);
	read_random_pages(map, opts.size / (uint64_t)sysconf(_SC_PAGESIZE), opts.reads,
			  opts.seed, &lat);
	bench_snap(&after);

	printf("workload=random size=%llu reads=%lu pause_ms=%u hot=%d cached_at_start=%ld",
	       (unsigned long long)opts.size, opts.reads, opts.pause_ms, opts.hot, cached);
	bench_report_reads(&before, &after, &lat);
	munmap(map, opts.size);
	close(fd);
	return 0;
}
