/*
 * truncate PATH - maps the file, truncates it to zero 20 ms later while
 * prefault's helpers are bringing it in, sleeps 500 ms and exits without
 * touching a page.  A helper that touches pages past the new end of file
 * takes SIGBUS and kills the process (exit 135).
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	struct stat st;
	void *p;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: truncate PATH\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[1]);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	tl_sleep_ms(20);
	if (ftruncate(fd, 0) != 0)
		tl_die("ftruncate");
	printf("truncated=%lld\n", (long long)st.st_size);
	fflush(stdout);
	tl_sleep_ms(500);
	printf("survived=1\n");
	return 0;
}
