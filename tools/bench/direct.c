/*
 * direct.c - the disk's sequential read bandwidth, measured with O_DIRECT
 * reads of the whole benchmark file (no page cache, no readahead), 1 MiB at
 * a time.
 *
 *   bench-direct [--size 512M] [--dir DIR]
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (1u << 20)

/* Reads the file with O_DIRECT to its end; returns bytes read. */
static uint64_t read_direct(const char *path)
{
	uint64_t total = 0;
	void *buf;
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0)
		bench_die("opening %s with O_DIRECT: %s", path, strerror(errno));
	if (posix_memalign(&buf, 4096, BLOCK) != 0)
		bench_die("out of memory");
	for (;;) {
		ssize_t n = pread(fd, buf, BLOCK, (off_t)total);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die("O_DIRECT read of %s: %s", path, strerror(errno));
		total += (uint64_t)n;
		if (n == 0)
			break;
	}
	free(buf);
	close(fd);
	return total;
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .size = 512ull << 20 };
	char path[4096];
	uint64_t start, bytes, ns;
	int fd;

	bench_parse_args(&opts, argc, argv, "[--size 512M] [--dir DIR]");
	fd = bench_open_file(&opts, path, sizeof(path));
	close(fd);
	start = bench_now_ns();
	bytes = read_direct(path);
	ns = bench_now_ns() - start;
	printf("workload=direct size=%llu bytes=%llu total_ms=%.3f mib_per_s=%.1f\n",
	       (unsigned long long)opts.size, (unsigned long long)bytes, ns / 1e6,
	       ns ? (double)bytes / (1 << 20) / (ns / 1e9) : 0.0);
	return 0;
}
