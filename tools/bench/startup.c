/*
 * startup.c - a program's start on several cold files: --files mappings of
 * --file-size each (sizes differ by 4 KiB so every file is distinct), all
 * mapped whole at once with no madvise (the kernel's readahead as it is),
 * then at once the first answer: the first --headers bytes of every file
 * (0: none), then one byte of every page of --first bytes in the middle of
 * the last file, read in order.  Then a --pause and --reads
 * one-byte reads of random pages of random files.  The files live in
 * DIR/startup/ (created once).
 *
 * Meanwhile a thread samples the files' residency (mincore, every
 * --sample-ms) and keeps the largest: what prefault and the program hold
 * at once.  Prints first_ms (the first answer's time from the first mmap),
 * resident_max and resident_end (bytes), touched (bytes the program read
 * pages of), then bench_report_reads's fields for the later reads.
 *
 *   bench-startup [--files 4] [--file-size 256M] [--first 4M] [--pause 300]
 *                 [--reads 2000] [--sample-ms 5] [--seed N] [--dir DIR]
 *                 [--headers SIZE] [--hold MS] [--label NAME] [--prepare]
 *
 * --label NAME: print workload=NAME (default startup), to tell runs apart.
 * --hold MS: stay (mapped, sampling) that long after the reads, so that a
 * test can look at prefault's records and the page cache before exit.
 */
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_FILES 64

static unsigned char *maps[MAX_FILES];
static uint64_t sizes[MAX_FILES];
static int nfiles;
static unsigned sample_ms = 5;
static uint64_t resident_max;
static int stop_sampling;

/* Bytes of all the files in the page cache now. */
static uint64_t resident_now(void)
{
	static unsigned char vec[1 << 16];
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), total = 0;
	for (int f = 0; f < nfiles; f++) {
		for (uint64_t off = 0; off < sizes[f]; off += sizeof(vec) * page) {
			uint64_t len = sizes[f] - off < sizeof(vec) * page ? sizes[f] - off : sizeof(vec) * page;
			if (mincore(maps[f] + off, len, vec) != 0)
				bench_die("mincore: %s", strerror(errno));
			for (uint64_t i = 0; i < (len + page - 1) / page; i++)
				total += (vec[i] & 1) * page;
		}
	}
	return total;
}

static void *sampler(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_sampling, __ATOMIC_RELAXED)) {
		uint64_t r = resident_now();
		if (r > __atomic_load_n(&resident_max, __ATOMIC_RELAXED))
			__atomic_store_n(&resident_max, r, __ATOMIC_RELAXED);
		bench_sleep_ms(sample_ms);
	}
	return NULL;
}

/* Removes "NAME VALUE" from argv when present; returns VALUE or NULL. */
static const char *take_opt(int *argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < *argc; i++) {
		if (strcmp(argv[i], name) == 0) {
			const char *v = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2 + 1) * sizeof(*argv));
			*argc -= 2;
			return v;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .pause_ms = 300, .reads = 2000, .seed = 42 };
	struct bench_snap before, after;
	struct bench_lat lat;
	char dir[4096], path[4096];
	uint64_t file_size = 256ull << 20, first = 4ull << 20, headers = 0, total = 0, state, touched = 0;
	unsigned long hold_ms = 0;
	long cached = 0, pagesize = sysconf(_SC_PAGESIZE);
	const char *v, *label = "startup";

	if ((v = take_opt(&argc, argv, "--files")))
		nfiles = (int)bench_parse_ulong("--files", v);
	else
		nfiles = 4;
	if ((v = take_opt(&argc, argv, "--file-size")))
		file_size = bench_parse_size("--file-size", v);
	if ((v = take_opt(&argc, argv, "--first")))
		first = bench_parse_size("--first", v);
	if ((v = take_opt(&argc, argv, "--label")))
		label = v;
	if ((v = take_opt(&argc, argv, "--headers")))
		headers = bench_parse_size("--headers", v);
	if ((v = take_opt(&argc, argv, "--sample-ms")))
		sample_ms = (unsigned)bench_parse_ulong("--sample-ms", v);
	if ((v = take_opt(&argc, argv, "--hold")))
		hold_ms = bench_parse_ulong("--hold", v);
	if (nfiles < 1 || nfiles > MAX_FILES)
		bench_die("--files: 1 to %d", MAX_FILES);
	if (file_size < 1ull << 20 || first > file_size / 2 || headers > file_size / 2 || sample_ms == 0)
		bench_die("--file-size at least 1M, --first and --headers at most half of it, --sample-ms at least 1");
	bench_parse_args(&opts, argc, argv,
			 "[--files 4] [--file-size 256M] [--first 4M] [--pause MS] [--reads N] "
			 "[--headers SIZE] [--sample-ms 5] [--hold MS] [--label NAME] [--seed N] [--dir DIR] [--prepare]");
	snprintf(dir, sizeof(dir), "%s/startup", opts.dir);
	opts.dir = dir;

	int fds[MAX_FILES];
	for (int i = 0; i < nfiles; i++) {
		struct bench_opts o = opts;
		o.size = file_size + (uint64_t)i * 4096u;
		fds[i] = bench_open_file(&o, path, sizeof(path));
		sizes[i] = o.size;
		total += o.size;
		if (!opts.prepare)
			cached += bench_evict(fds[i], o.size);
	}
	if (opts.prepare) {
		printf("dir=%s files=%d size=%llu\n", dir, nfiles, (unsigned long long)total);
		return 0;
	}
	bench_lat_init(&lat, opts.reads);

	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < nfiles; i++) {
		maps[i] = mmap(NULL, sizes[i], PROT_READ, MAP_SHARED, fds[i], 0);
		if (maps[i] == MAP_FAILED)
			bench_die("mmap %s: %s", path, strerror(errno));
		close(fds[i]);
	}
	pthread_t th;
	if (pthread_create(&th, NULL, sampler, NULL) != 0)
		bench_die("pthread_create failed");

	/* The first answer. */
	unsigned sum = 0;
	for (int i = 0; i < nfiles; i++)
		for (uint64_t off = 0; off < headers; off += (uint64_t)pagesize)
			sum += *(volatile const unsigned char *)(maps[i] + off);
	touched += headers * (uint64_t)nfiles;
	unsigned char *last = maps[nfiles - 1];
	uint64_t from = (sizes[nfiles - 1] / 2) & ~((uint64_t)pagesize - 1);
	for (uint64_t off = 0; off < first; off += (uint64_t)pagesize)
		sum += *(volatile const unsigned char *)(last + from + off);
	touched += first;
	double first_ms = (double)(bench_now_ns() - t0) / 1e6;

	bench_sleep_ms(opts.pause_ms);
	state = opts.seed ? opts.seed : 1;
	bench_snap(&before);
	for (unsigned long i = 0; i < opts.reads; i++) {
		uint64_t r = bench_rand(&state);
		int f = (int)(r % (uint64_t)nfiles);
		uint64_t off = ((r >> 20) % (sizes[f] / (uint64_t)pagesize)) * (uint64_t)pagesize;
		uint64_t t = bench_now_ns();
		sum += *(volatile const unsigned char *)(maps[f] + off);
		bench_lat_add(&lat, bench_now_ns() - t);
	}
	bench_snap(&after);
	touched += opts.reads * (uint64_t)pagesize;
	bench_sleep_ms((unsigned)hold_ms);
	__atomic_store_n(&stop_sampling, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);

	printf("workload=%s files=%d size=%llu first=%llu reads=%lu pause_ms=%u cached_at_start=%ld"
	       " headers=%llu first_ms=%.3f resident_max=%llu resident_end=%llu touched=%llu sum=%u setup_ms=0",
	       label, nfiles, (unsigned long long)total, (unsigned long long)first, opts.reads, opts.pause_ms,
	       cached, (unsigned long long)headers, first_ms, (unsigned long long)resident_max, (unsigned long long)resident_now(),
	       (unsigned long long)touched, sum & 1);
	bench_report_reads(&before, &after, &lat);
	return 0;
}
