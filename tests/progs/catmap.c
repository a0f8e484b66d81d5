/*
 * catmap PATH REPORT [HELPERS] - maps the file, waits 200 ms and copies it
 * from the mapping to stdout; writes prefault_threads=N (most threads named
 * prefault* seen during the wait) to the file REPORT, so that stdout and
 * stderr carry nothing but what the program itself writes.  With HELPERS,
 * the wait also lasts until that many such threads were seen at once (at
 * most TL_DEADLINE_S: a new thread names itself only once it runs).
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	size_t len, done = 0;
	struct stat st;
	int fd, most = 0, want;
	char *p;
	FILE *rep;
	double start, until;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: catmap PATH REPORT [HELPERS]\n");
		return 2;
	}
	want = argc == 4 ? atoi(argv[3]) : 0;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[1]);
	len = (size_t)st.st_size;
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	start = tl_now();
	until = start + 0.2;
	do {
		int n = tl_each_prefault_thread(NULL, NULL);

		if (n > most)
			most = n;
		tl_sleep_ms(5);
	} while (tl_now() < until || (most < want && tl_now() < start + TL_DEADLINE_S));
	while (done < len) {
		ssize_t w = write(1, p + done, len - done);

		if (w <= 0)
			tl_die("write");
		done += (size_t)w;
	}
	rep = fopen(argv[2], "w");
	if (!rep || fprintf(rep, "prefault_threads=%d\n", most) < 0 || fclose(rep) != 0)
		tl_die("write %s", argv[2]);
	return 0;
}
