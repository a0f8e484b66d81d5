/*
 * chdirmap DIR FILE - changes to DIR first thing, as a daemon does, then
 * maps FILE (an absolute path), reads a word of every page, waits 300 ms
 * and prints bytes=N (tests/settings.bats: a relative PREFAULT_STATS or
 * PREFAULT_LOG still names the file in the directory the program started
 * in).
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	struct stat st;
	uint64_t bad = 0;
	size_t len, page = tl_page();
	const char *p;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: chdirmap DIR FILE\n");
		return 2;
	}
	if (chdir(argv[1]) != 0)
		tl_die("chdir %s", argv[1]);
	fd = open(argv[2], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[2]);
	len = (size_t)st.st_size;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	for (size_t o = 0; o + 8 <= len; o += page)
		bad += *(const uint64_t *)(p + o) != tl_word(o);
	tl_sleep_ms(300);
	if (munmap((void *)p, len) != 0)
		tl_die("munmap");
	printf("bytes=%zu bad=%llu\n", len, (unsigned long long)bad);
	return 0;
}
