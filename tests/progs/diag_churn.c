/*
 * diag_churn FILE N - maps and unmaps FILE N times as fast as it can: a
 * flood of map and unmap records, which the report must bound (rate cap,
 * records_dropped) while the program runs on unharmed.  Prints churned=N.
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: diag_churn FILE N\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		tl_die("open %s", argv[1]);
	long n = strtol(argv[2], NULL, 10), i;
	for (i = 0; i < n; i++) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED || munmap(p, (size_t)st.st_size))
			tl_die("mmap/munmap");
	}
	tl_sleep_ms(1200); /* a proc record after the flood */
	printf("churned=%ld\n", i);
	return 0;
}
