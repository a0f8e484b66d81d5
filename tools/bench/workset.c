/*
 * workset.c - random reads confined to a working set: a few per cent of a
 * large file, in extents of 1 to 8 MiB spread over it (a B-tree's hot keys,
 * a store's recent blocks).  The workload of working-set memory (issue 17,
 * tools/bench/remember).
 *
 * The extents come from a fixed layout seed: the file is cut into equal
 * slots, one extent per slot at a seeded place in it, until the extents
 * add up to --share per cent of the file.  --moved F moves that fraction of
 * the extents, spread evenly over the file, each to another place in its own
 * slot that does not overlap where it was (a working set that moved between
 * runs).  The program maps the file cold, marks it MADV_RANDOM as bbolt and
 * LMDB do, sleeps --pause ms (its start-up), then reads one byte of
 * --reads pages drawn at random (--seed) from the working set, each page as
 * likely as any other.
 *
 *   bench-workset [--size 4G] [--share 5] [--moved 0] [--pause 300]
 *                 [--reads 20000] [--seed N] [--dir DIR] [--hot] [--prepare]
 *
 * Prints one line: the working set's size and extent count, then the shared
 * read fields (total_ms is the reads alone).
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIN_EXTENT (1ull << 20)
#define MAX_EXTENT (8ull << 20)
#define LAYOUT_SEED 7u
#define MAX_EXTENTS 4096u

static const char usage[] =
	"[--size 4G] [--share PERCENT] [--moved FRACTION] [--pause MS] [--reads N] [--seed N]"
	" [--dir DIR] [--hot] [--prepare]";

struct extent {
	uint64_t off, len;
};

/* Takes --share and --moved out of argv (the rest is common.c's). */
static void take_own_args(int *argc, char **argv, double *share, double *moved)
{
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		double *into = !strcmp(a, "--share") ? share : !strcmp(a, "--moved") ? moved : NULL;
		if (!into) {
			argv[out++] = argv[i];
			continue;
		}
		if (i + 1 >= *argc)
			bench_die("%s needs a value", a);
		char *end;
		errno = 0;
		*into = strtod(argv[++i], &end);
		if (errno || *end || end == argv[i] || *into < 0)
			bench_die("%s: '%s' is not a number", a, argv[i]);
	}
	argv[out] = NULL;
	*argc = out;
}

/* The layout: n extents, one per slot of size/n bytes; *total their bytes. */
static size_t lay_out(struct extent *ext, uint64_t size, double share, double moved,
		      uint64_t *total)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t want = (uint64_t)((double)size * share / 100.0), state = LAYOUT_SEED;
	uint64_t lens[MAX_EXTENTS];
	size_t n = 0;
	*total = 0;
	while (*total < want && n < MAX_EXTENTS) {
		uint64_t len = MIN_EXTENT + bench_rand(&state) % (MAX_EXTENT - MIN_EXTENT + 1);
		len = len / page * page;
		lens[n++] = len;
		*total += len;
	}
	if (!n)
		bench_die("--share %.3g of %llu bytes is no extent", share,
			  (unsigned long long)size);
	uint64_t slot = size / n / page * page;
	if (slot < 2 * MAX_EXTENT + page)
		bench_die("the file is too small for a %.3g%% working set of 1-8 MiB extents",
			  share);
	for (size_t i = 0; i < n; i++) {
		uint64_t room = slot - lens[i]; /* places in the slot, bytes */
		uint64_t at = bench_rand(&state) % room / page * page;
		/* Evenly spread: extent i moves when floor((i+1)F) > floor(iF). */
		if ((uint64_t)((double)(i + 1) * moved) > (uint64_t)((double)i * moved))
			at = (at + slot / 2) % room / page * page; /* >= slot/2 - len away */
		ext[i].off = (uint64_t)i * slot + at;
		ext[i].len = lens[i];
	}
	return n;
}

/* Reads one byte of `reads` pages drawn from the working set. */
static void read_working_set(const unsigned char *map, const struct extent *ext, size_t n,
			     uint64_t total, unsigned long reads, uint64_t seed,
			     struct bench_lat *lat)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t state = seed ? seed : 1, pages = total / page;
	for (unsigned long r = 0; r < reads; r++) {
		uint64_t p = bench_rand(&state) % pages * page;
		size_t i = 0;
		while (i + 1 < n && p >= ext[i].len)
			p -= ext[i++].len;
		uint64_t t0 = bench_now_ns();
		(void)*(volatile const unsigned char *)(map + ext[i].off + p);
		bench_lat_add(lat, bench_now_ns() - t0);
	}
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .size = 4ull << 30, .pause_ms = 300, .reads = 20000,
				   .seed = 42 };
	double share = 5.0, moved = 0.0;
	static struct extent ext[MAX_EXTENTS];
	struct bench_snap before, after;
	struct bench_lat lat;
	char path[4096];
	uint64_t total;

	take_own_args(&argc, argv, &share, &moved);
	if (moved > 1.0)
		bench_die("--moved: %.3g is more than 1 (the whole working set)", moved);
	bench_parse_args(&opts, argc, argv, usage);
	int fd = bench_open_file(&opts, path, sizeof(path));
	if (opts.prepare) {
		printf("file=%s\n", path);
		return 0;
	}
	size_t n = lay_out(ext, opts.size, share, moved, &total);
	long cached = opts.hot ? bench_load(fd, opts.size) : bench_evict(fd, opts.size);
	bench_lat_init(&lat, opts.reads);
	unsigned char *map = mmap(NULL, opts.size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		bench_die("mmap %s: %s", path, strerror(errno));
	if (madvise(map, opts.size, MADV_RANDOM) != 0)
		bench_die("madvise MADV_RANDOM: %s", strerror(errno));
	bench_sleep_ms(opts.pause_ms);

	bench_snap(&before);
	read_working_set(map, ext, n, total, opts.reads, opts.seed, &lat);
	bench_snap(&after);

	printf("workload=workset size=%llu share=%.3g moved=%.3g extents=%zu set_bytes=%llu"
	       " reads=%lu pause_ms=%u hot=%d cached_at_start=%ld",
	       (unsigned long long)opts.size, share, moved, n, (unsigned long long)total,
	       opts.reads, opts.pause_ms, opts.hot, cached);
	bench_report_reads(&before, &after, &lat);
	munmap(map, opts.size);
	close(fd);
	return 0;
}
