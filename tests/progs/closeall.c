/*
 * closeall PATH OUT - maps the file, closes every descriptor (0, 1 and 2
 * included), sleeps 300 ms, then writes present=N/M (pages of the mapping
 * present) to OUT, a file it creates.
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	size_t page = tl_page(), len;
	struct stat st;
	char buf[100];
	void *p;
	int fd, n;

	if (argc != 3) {
		fprintf(stderr, "usage: closeall PATH OUT\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[1]);
	len = (size_t)st.st_size;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	if (close_range(0, ~0U, 0) != 0)
		tl_die("close_range");
	tl_sleep_ms(300);
	n = snprintf(buf, sizeof(buf), "present=%zu/%zu\n", tl_present(p, len),
		     (len + page - 1) / page);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return 98;
	close(fd);
	return 0;
}
