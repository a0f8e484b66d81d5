/*
 * seq.c - a sequential scan of a cold file mapping from its start.
 *
 * Maps the benchmark file cold (default advice, no pause) and reads one byte
 * of each page in order, once.  Reports the scan's time, the worst single
 * page and the 99th percentile, and the main thread's major faults and
 * off-CPU time.
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

/* Touches every page in order, timing each touch into lat. */
static void scan_pages(const unsigned char *map, uint64_t size, struct bench_lat *lat)
{
	uint64_t pagesize = (uint64_t)sysconf(_SC_PAGESIZE);

	for (uint64_t off = 0; off < size; off += pagesize) {
		uint64_t t0 = bench_now_ns();

		(void)*(volatile const unsigned char *)(map + off);
		bench_lat_add(lat, bench_now_ns() - t0);
	}
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .size = 512ull << 20 };
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
	bench_lat_init(&lat, opts.size / (uint64_t)sysconf(_SC_PAGESIZE));
	map = mmap(NULL, opts.size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		bench_die("mmap %s: %s", path, strerror(errno));

	bench_snap(&before);
	scan_pages(map, opts.size, &lat);
	bench_snap(&after);

	printf("workload=seq size=%llu hot=%d cached_at_start=%ld",
	       (unsigned long long)opts.size, opts.hot, cached);
	bench_report_reads(&before, &after, &lat);
	munmap(map, opts.size);
	close(fd);
	return 0;
}
