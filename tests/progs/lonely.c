/*
 * lonely PATH READY READS - a single-threaded C program that maps a file,
 * hints it MADV_RANDOM (so a cold read is a major fault per page), writes
 * pid=PID to READY, waits for SIGUSR1, then reads one byte of READS random
 * pages.  Prints majflt (its major faults during the reads), threads
 * (its thread count from /proc/self/status) and single_threaded (glibc's
 * __libc_single_threaded: 0 once any thread was ever created in the process,
 * which turns on malloc's locking for good, and stdio's unless prefault
 * hands it back).
 */
#include "testlib.h"

#include <signal.h>
#include <sys/single_threaded.h>

static int threads(void)
{
	char line[256];
	int n = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		tl_die("open /proc/self/status");
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: lonely PATH READY READS\n");
		return 2;
	}
	size_t page = tl_page();
	long reads = atol(argv[3]);
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[1]);
	const volatile unsigned char *p =
		mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	if (madvise((void *)p, (size_t)st.st_size, MADV_RANDOM) != 0)
		tl_die("madvise");
	close(fd);

	sigset_t usr1;
	int sig;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	FILE *r = fopen(argv[2], "w");
	if (!r || fprintf(r, "pid=%d\n", (int)getpid()) < 0 || fclose(r) != 0)
		tl_die("write %s", argv[2]);
	sigwait(&usr1, &sig);

	size_t pages = (size_t)st.st_size / page;
	uint64_t x = 88172645463325252ULL;
	unsigned sum = 0;
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	for (long i = 0; i < reads; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		sum += p[(x % pages) * page];
	}
	getrusage(RUSAGE_SELF, &ru1);
	printf("majflt=%ld\nthreads=%d\nsingle_threaded=%d\nsum=%u\n",
	       ru1.ru_majflt - ru0.ru_majflt, threads(), (int)__libc_single_threaded, sum);
	return 0;
}
