/*
 * many.c - many small files mapped at once: --files mappings of 1 to 4 MiB
 * (sizes 1 MiB + i * 12 KiB, so every file is distinct), each mapped whole
 * and marked MADV_RANDOM, a start-up pause, then one-byte reads of random
 * pages of random files from a fixed seed.  The files live in DIR/many/
 * (created once).  Reports like bench-random; size= is the files' total.
 *
 *   bench-many [--files 256] [--pause 300] [--reads 20000] [--seed N]
 *              [--dir DIR] [--hot] [--prepare]
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_FILES 4096

int main(int argc, char **argv)
{
	struct bench_opts opts = { .pause_ms = 300, .reads = 20000, .seed = 42 };
	static unsigned char *maps[MAX_FILES];
	static uint64_t sizes[MAX_FILES];
	struct bench_snap before, after;
	struct bench_lat lat;
	char dir[4096], path[4096];
	unsigned long files = 256;
	uint64_t total = 0, state;
	long cached = 0, pagesize = sysconf(_SC_PAGESIZE);
	int n = 0;

	/* --files N is ours; the rest are the shared options. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--files") == 0 && i + 1 < argc) {
			files = bench_parse_ulong("--files", argv[i + 1]);
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2 + 1) * sizeof(*argv));
			argc -= 2;
			i--;
		}
	}
	if (files == 0 || files > MAX_FILES)
		bench_die("--files: 1 to %d", MAX_FILES);
	bench_parse_args(&opts, argc, argv,
			 "[--files 256] [--pause MS] [--reads N] [--seed N] [--dir DIR] [--hot] [--prepare]");
	snprintf(dir, sizeof(dir), "%s/many", opts.dir);
	opts.dir = dir;
	for (unsigned long i = 0; i < files; i++) {
		struct bench_opts o = opts;
		int fd;

		o.size = (1ull << 20) + i * (12ull << 10);
		fd = bench_open_file(&o, path, sizeof(path));
		sizes[n] = o.size;
		total += o.size;
		if (!opts.prepare) {
			long c = opts.hot ? bench_load(fd, o.size) : bench_evict(fd, o.size);

			cached += opts.hot ? 0 : c;
			maps[n] = mmap(NULL, o.size, PROT_READ, MAP_SHARED, fd, 0);
			if (maps[n] == MAP_FAILED)
				bench_die("mmap %s: %s", path, strerror(errno));
			if (madvise(maps[n], o.size, MADV_RANDOM) != 0)
				bench_die("madvise: %s", strerror(errno));
		}
		close(fd);
		n++;
	}
	if (opts.prepare) {
		printf("dir=%s files=%d size=%llu\n", dir, n, (unsigned long long)total);
		return 0;
	}
	bench_lat_init(&lat, opts.reads);
	bench_sleep_ms(opts.pause_ms);

	state = opts.seed ? opts.seed : 1;
	bench_snap(&before);
	for (unsigned long i = 0; i < opts.reads; i++) {
		uint64_t r = bench_rand(&state);
		int f = (int)(r % (uint64_t)n);
		uint64_t off = ((r >> 20) % (sizes[f] / (uint64_t)pagesize)) * (uint64_t)pagesize;
		uint64_t t0 = bench_now_ns();

		(void)*(volatile const unsigned char *)(maps[f] + off);
		bench_lat_add(&lat, bench_now_ns() - t0);
	}
	bench_snap(&after);

	printf("workload=many files=%d size=%llu reads=%lu pause_ms=%u hot=%d cached_at_start=%ld"
	       " setup_ms=0",
	       n, (unsigned long long)total, opts.reads, opts.pause_ms, opts.hot, cached);
	bench_report_reads(&before, &after, &lat);
	return 0;
}
