/*
 * anon.c - anonymous mmap/munmap churn: what the hooks cost a program that
 * never maps a file (a Go or malloc-heavy program's heap).
 *
 * Maps --size (64K) anonymous bytes, touches one byte, unmaps, --count times
 * or until --seconds have passed, whichever comes first.  Reports ns per pair.
 *
 *   bench-anon [--count 1000000] [--seconds 2] [--size 64K]
 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct anon_opts {
	unsigned long count;
	unsigned long seconds;
	uint64_t size;
};

static void parse_args(struct anon_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->count = bench_parse_ulong("--count", optarg); break;
		case 't': o->seconds = bench_parse_ulong("--seconds", optarg); break;
		case 's': o->size = bench_parse_size("--size", optarg); break;
		default: bench_die("usage: bench-anon [--count N] [--seconds S] [--size 64K]");
		}
	}
	if (optind != argc)
		bench_die("usage: bench-anon [--count N] [--seconds S] [--size 64K]");
}

static void one_pair(size_t size)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bench_die("mmap: %s", strerror(errno));
	*(volatile char *)p = 1;
	if (munmap(p, size) != 0)
		bench_die("munmap: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct anon_opts o = { .count = 1000000, .seconds = 2, .size = 64 << 10 };
	uint64_t start, deadline, end;
	unsigned long done = 0;

	parse_args(&o, argc, argv);
	start = bench_now_ns();
	deadline = start + (uint64_t)o.seconds * 1000000000u;
	while (done < o.count) {
		one_pair((size_t)o.size);
		if (++done % 1024 == 0 && bench_now_ns() >= deadline)
			break;
	}
	end = bench_now_ns();
	printf("workload=anon size=%llu pairs=%lu total_ms=%.3f ns_per_pair=%.1f\n",
	       (unsigned long long)o.size, done, (end - start) / 1e6,
	       done ? (double)(end - start) / (double)done : 0.0);
	return 0;
}
