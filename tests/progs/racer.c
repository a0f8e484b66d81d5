/*
 * racer FILE - a program that reads while prefault does (tests/first.bats):
 * maps FILE (cold) whole with MADV_RANDOM, so each of its faults reads one
 * page, waits until prefault has mapped a page of it in (a helper at work;
 * TL_DEADLINE_S at most), then reads one byte of random pages until
 * $PREFAULT_STATS holds the mapping's done record (the same deadline), and
 * prints its own major faults, as key=value lines:
 *   helper_seen=0|1   prefault mapped a page in before the reads began
 *   helper_ioclass=N  the I/O priority class (ioprio_get) of the threads
 *                     named prefault-N then, each value once (3: idle)
 *   done_seen=0|1     the done record came before the deadline
 *   majflt=N          this thread's major faults while reading
 *   reads=N
 * and exits through exit(), so the library's destructor writes the last
 * proc record.
 */
#include "testlib.h"

#include <dirent.h>
#include <linux/ioprio.h>
#include <sys/syscall.h>

/* Prints helper_ioclass= with the class of each prefault-N thread. */
static void print_helper_ioclass(void)
{
	char path[300], comm[32], seen[64] = "";
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		if (tl_read_small(path, comm, sizeof comm) < 0 || strncmp(comm, "prefault-", 9) ||
		    comm[9] < '0' || comm[9] > '9')
			continue;
		long prio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, atoi(e->d_name));
		char one[16];
		snprintf(one, sizeof one, "%ld,", prio < 0 ? -1 : IOPRIO_PRIO_CLASS(prio));
		if (!strstr(seen, one) && strlen(seen) + strlen(one) < sizeof seen)
			strcat(seen, one);
	}
	if (d)
		closedir(d);
	seen[strlen(seen) ? strlen(seen) - 1 : 0] = '\0';
	printf("helper_ioclass=%s\n", seen);
}

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
	print_helper_ioclass();
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
