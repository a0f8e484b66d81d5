/*
 * seq.c - a sequential scan of a cold file mapping from its start.
 *
 * Maps the benchmark file cold (default advice, no pause) and reads one byte
 * of each page in order, once.  Reports the scan's time, the worst single
 * page, and the main thread's major faults and off-CPU time.
 *
 *   bench-seq [--size 512M] [--dir DIR] [--hot] [--prepare]
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char usage[] = "[--size 512M] [--dir DIR] [--hot] [--prepare]";

/* Touches every page in order; returns the slowest touch in ns. */
static uint64_t scan_pages(const unsigned char *map, uint64_t size)
{
	uint64_t pagesize = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t worst = 0;

	for (uint64_t off = 0; off < size; off += pagesize) {
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
	struct bench_opts opts = { .size = 512ull << 20 };
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

	bench_snap(&before);
	worst = scan_pages(map, opts.size);
	bench_snap(&after);

	printf("workload=seq size=%llu hot=%d cached_at_start=%ld",
	       (unsigned long long)opts.size, opts.hot, cached);
	bench_report_reads(&before, &after, worst);
	munmap(map, opts.size);
	close(fd);
	return 0;
}
