/*
 * inflight.c - a program whose own read is in flight while prefault has
 * a mapping to read: for pace.bats, which traces who added pages when.
 *
 *   inflight SIZE COUNT MAPPED OTHER
 *
 * Maps MAPPED whole (the mapping prefault serves; the program never touches
 * it) and waits until at least 1 MiB of it is in the page cache: prefault
 * has begun.  7 ms later, reads COUNT times SIZE bytes of OTHER with O_DIRECT, one
 * read after another (the program's reads, each in flight for as long as
 * the disk or its limit takes, and never a page fault), and prints
 * read_start and read_end, CLOCK_MONOTONIC seconds as the trace's mono
 * clock counts them.  Then waits until MAPPED
 * is wholly in memory, or the deadline, and prints cached= and pages=.
 * begun=0: prefault never began.
 */
#include "testlib.h"

#define ALIGN 4096

int main(int argc, char **argv)
{
	if (argc != 5)
		tl_die("usage: inflight SIZE COUNT MAPPED OTHER");
	size_t size = (size_t)tl_size(argv[1]), count = (size_t)tl_size(argv[2]), page = tl_page();
	const char *mapped = argv[3], *path = argv[4];
	int fd = open(mapped, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", mapped);
	size_t len = (size_t)st.st_size, pages;
	unsigned char *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		tl_die("mmap %s", mapped);

	double until = tl_now() + TL_DEADLINE_S;
	while (tl_cached(map, 0, len, &pages, 0) * page < (1u << 20)) {
		if (tl_now() > until) {
			printf("begun=0\n");
			return 0;
		}
		tl_sleep_ms(1);
	}
	printf("begun=1\n");
	/* Not the moment a step of prefault's ends: that is when it issues the
	 * next. */
	tl_sleep_ms(7);

	int other = open(path, O_RDONLY | O_DIRECT);
	void *buf = NULL;
	if (other < 0)
		tl_die("open %s O_DIRECT", path);
	if (posix_memalign(&buf, ALIGN, size) != 0)
		tl_die("posix_memalign");
	double start = tl_now();
	for (size_t i = 0; i < count; i++) {
		ssize_t got = pread(other, buf, size, (off_t)(i * size));
		if (got != (ssize_t)size)
			tl_die("pread %s: %zd of %zu bytes", path, got, size);
	}
	double end = tl_now();
	printf("read_start=%.6f\nread_end=%.6f\n", start, end);

	size_t cached;
	while ((cached = tl_cached(map, 0, len, &pages, 0)) < pages && tl_now() < until)
		tl_sleep_ms(10);
	printf("cached=%zu\npages=%zu\n", cached, pages);
	free(buf);
	close(other);
	munmap(map, len);
	close(fd);
	return 0;
}
