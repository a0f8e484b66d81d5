/*
 * evict.c - drops files from the page cache (POSIX_FADV_DONTNEED, checked
 * with cachestat(2), retried while readahead still lands), for workloads run
 * by programs we did not write (tools/bench/compare).  Prints one line per
 * file: path=... cached_pages_left=N (-1: the kernel cannot tell).
 *
 *   bench-evict FILE...
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		bench_die("usage: bench-evict FILE...");
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0 || fstat(fd, &st) != 0)
			bench_die("%s: %s", argv[i], strerror(errno));
		printf("path=%s cached_pages_left=%ld\n", argv[i], bench_evict(fd, (uint64_t)st.st_size));
		close(fd);
	}
	return 0;
}
