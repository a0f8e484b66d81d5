/*
 * common.h - what the benchmark programs share (common.c): option parsing,
 * the benchmark file (created once per size, then reused), cold-cache
 * eviction, clocks and per-thread counters, and the one-line report.
 *
 * Every program prints exactly one line of key=value pairs on stdout, so
 * tools/bench/run can pick fields with awk; messages go to stderr.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Settings every file workload understands. */
struct bench_opts {
	const char *dir;        /* --dir, else $PREFAULT_BENCH_DIR, else build/bench-data */
	uint64_t size;          /* --size, bytes */
	unsigned pause_ms;      /* --pause */
	unsigned long reads;    /* --reads */
	uint64_t seed;          /* --seed */
	int hot;                /* --hot: load the file into the cache instead of evicting it */
	int prepare;            /* --prepare: create the file, print its path and stop */
	int populate;           /* --populate: mmap with MAP_POPULATE (bench-random) */
	int use_pread;          /* --pread: pread(2) instead of a mapping (bench-random) */
	int keep;               /* --keep: leave the cache as it is (warmed by another tool) */
	unsigned long rate;     /* --rate: reads per second, on a fixed schedule (0: flat out) */
};

/* Counters of the calling thread at one instant. */
struct bench_snap {
	uint64_t wall_ns;       /* CLOCK_MONOTONIC */
	uint64_t cpu_ns;        /* CLOCK_THREAD_CPUTIME_ID */
	long majflt;            /* getrusage(RUSAGE_THREAD) */
	long minflt;
};

/* Latencies of single reads, recorded into memory touched beforehand (so
 * recording faults nothing in); the report gives the worst and the p99. */
struct bench_lat {
	uint32_t *ns;           /* one per read, saturating at ~4.3 s */
	size_t n, cap;
	uint64_t worst;
};

/* Dies with a one-line message naming the program. */
void bench_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Parses "512M", "4K", "65536" (powers of 1024); dies on anything else. */
uint64_t bench_parse_size(const char *what, const char *s);
unsigned long bench_parse_ulong(const char *what, const char *s);

/* Fills opts from argv, starting from the defaults already in *opts; dies
 * with a usage line on an unknown option. */
void bench_parse_args(struct bench_opts *opts, int argc, char **argv, const char *usage);

/* Returns an open read-only fd of the benchmark file for opts->size,
 * creating it (DIR/bench-SIZE.dat) if it does not exist yet; path receives
 * its name. */
int bench_open_file(const struct bench_opts *opts, char *path, size_t pathlen);

/* Drops the file from the page cache and returns how many of its pages are
 * still cached (-1 when the kernel cannot tell). */
long bench_evict(int fd, uint64_t size);
/* Pages of the file in the page cache now (-1 when the kernel cannot tell). */
long bench_cached(int fd, uint64_t size);
/* Reads the whole file once so every page is cached; returns pages cached. */
long bench_load(int fd, uint64_t size);

uint64_t bench_now_ns(void);
void bench_snap(struct bench_snap *s);
void bench_sleep_ms(unsigned ms);
/* A small fixed-seed generator (xorshift64*), the same on every run. */
uint64_t bench_rand(uint64_t *state);

void bench_lat_init(struct bench_lat *lat, size_t cap);
static inline void bench_lat_add(struct bench_lat *lat, uint64_t ns)
{
	if (ns > lat->worst)
		lat->worst = ns;
	if (lat->n < lat->cap)
		lat->ns[lat->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* Prints the shared fields of a file workload's line: total_ms, worst_ms,
 * p99_ms, majflt, minflt, offcpu_ms, then a newline. */
void bench_report_reads(const struct bench_snap *before, const struct bench_snap *after,
			struct bench_lat *lat);

#endif
