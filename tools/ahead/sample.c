/*
 * ahead-sample PATH PID [MS] - how much of PATH is in the page cache while
 * process PID runs, from outside it: mincore on a mapping of its own every
 * MS (20) milliseconds until PID is gone; prints max_resident=BYTES,
 * last_resident=BYTES and samples=N.  mincore shows the page cache only for
 * files the caller may write: run it as root or as the file's owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ahead-sample PATH PID [MS]\n");
		return 2;
	}
	pid_t pid = (pid_t)atol(argv[2]);
	long ms = argc > 3 ? atol(argv[3]) : 20;
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		perror(argv[1]);
		return 1;
	}
	size_t len = (size_t)st.st_size, page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	unsigned char *vec = malloc(n);
	if (p == MAP_FAILED || !vec) {
		perror("mmap");
		return 1;
	}
	size_t max = 0, last = 0;
	unsigned long samples = 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (kill(pid, 0) == 0 || errno == EPERM) {
		if (mincore(p, len, vec) != 0) {
			perror("mincore");
			return 1;
		}
		last = 0;
		for (size_t i = 0; i < n; i++)
			last += vec[i] & 1;
		last *= page;
		if (last > max)
			max = last;
		samples++;
		nanosleep(&ts, NULL);
	}
	printf("max_resident=%zu last_resident=%zu samples=%lu\n", max, last, samples);
	return 0;
}
