/*
 * closeall PATH OUT - maps the file, closes every descriptor (0, 1 and 2
 * included), waits until prefault's statistics ($PREFAULT_STATS) hold a done
 * record (at most TL_DEADLINE_S; 300 ms when there are none), then writes
 * present=N/M (pages of the mapping present) and done=1 (0: no done record)
 * to OUT, a file it creates.
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	size_t page = tl_page(), len;
	struct stat st;
	char buf[100];
	void *p;
	int fd, n, done = 0;

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
	if (tl_stats_path())
		done = tl_wait_stats("\"ev\":\"done\"", NULL, 1);
	else
		tl_sleep_ms(300);
	n = snprintf(buf, sizeof(buf), "present=%zu/%zu\ndone=%d\n", tl_present(p, len),
		     (len + page - 1) / page, done);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		return 98;
	close(fd);
	return 0;
}
