/*
 * racer FILE - a program that reads while prefault does (tests/first.bats):
 * maps FILE (cold) whole with MADV_RANDOM, so each of its faults reads one
 * page, waits until prefault has mapped a page of it in (a helper at work;
 * TL_DEADLINE_S at most), then reads one byte of random pages until
 * $PREFAULT_STATS holds the mapping's done record (the same deadline), and
 * prints its own major faults, as key=value lines:
 *   helper_seen=0|1   prefault mapped a page in before the reads began
 *   done_seen=0|1     the done record came before the deadline
 *   majflt=N          this thread's major faults while reading
 *   reads=N
 * and exits through exit(), so the library's destructor writes the last
 * proc record.
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: racer FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[1]);
	size_t len = (size_t)st.st_size, page = tl_page();
	unsigned char *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		tl_die("mmap %s", argv[1]);
	close(fd);
	if (madvise(map, len, MADV_RANDOM) != 0)
		tl_die("madvise");
	int helper_seen = tl_wait_present(map, len, 0);
	long before = tl_thread_majflt(), reads = 0;
	unsigned seed = 12345u, sum = 0;
	double until = tl_now() + TL_DEADLINE_S;
	int done_seen = 0;
	while (!(done_seen = tl_stats_count("\"ev\":\"done\"", NULL, NULL) > 0) && tl_now() < until) {
		for (int i = 0; i < 64; i++) {
			seed = seed * 1103515245u + 12345u;
			sum += map[((size_t)seed % (len / page)) * page];
			reads++;
		}
	}
	printf("helper_seen=%d\ndone_seen=%d\nmajflt=%ld\nreads=%ld\nsum=%u\n", helper_seen, done_seen,
	       tl_thread_majflt() - before, reads, sum & 1);
	exit(0);
}
