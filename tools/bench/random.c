/*
 * random.c - random reads after a start-up pause (the bbolt pattern).
 *
 * Maps the benchmark file cold, marks it MADV_RANDOM as bbolt and LMDB do,
 * sleeps --pause ms (a program starting up: time prefault can use), then
 * reads one byte at --reads random page-aligned offsets drawn from a fixed
 * seed.  Reports the time of the reads alone, the worst single read, and the
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

/* Reads one byte of each chosen page; returns the slowest read in ns. */
static uint64_t read_random_pages(const unsigned char *map, uint64_t pages,
				  unsigned long reads, uint64_t seed)
{
	uint64_t state = seed ? seed : 1;
	uint64_t worst = 0;
	long pagesize = sysconf(_SC_PAGESIZE);

	for (unsigned long i = 0; i < reads; i++) {
		uint64_t off = (bench_rand(&state) % pages) * (uint64_t)pagesize;
		uint64_t t0 = bench_now_ns();
		uint64_t dt;

		(void)*(volatile const unsigned char *)(map + off);
		dt = bench_now_ns() - t0;
		if (dt > worst)
			worst = dt;
	}
	return worst;
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .size = 512ull << 20, .pause_ms = 300, .reads = 20000,
				   .seed = 42 };
	struct bench_snap before, after;
	char path[4096];
	unsigned char *map;
	long cached;
	uint64_t worst;
	int fd;

	bench_parse_args(&opts, argc, argv, usage);
	fd = bench_open_file(&opts, path, sizeof(path));
	if (opts.prepare) {
		printf("file=%s\n", path);
		return 0;
	}
	cached = opts.hot ? bench_load(fd, opts.size) : bench_evict(fd, opts.size);
	map = mmap(NULL, opts.size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		bench_die("mmap %s: %s", path, strerror(errno));
	if (madvise(map, opts.size, MADV_RANDOM) != 0)
		bench_die("madvise MADV_RANDOM: %s", strerror(errno));
	bench_sleep_ms(opts.pause_ms);

	bench_snap(&before);
	worst = read_random_pages(map, opts.size / (uint64_t)sysconf(_SC_PAGESIZE), opts.reads,
				  opts.seed);
	bench_snap(&after);

	printf("workload=random size=%llu reads=%lu pause_ms=%u hot=%d cached_at_start=%ld",
	       (unsigned long long)opts.size, opts.reads, opts.pause_ms, opts.hot, cached);
	bench_report_reads(&before, &after, worst);
	munmap(map, opts.size);
	close(fd);
	return 0;
}
