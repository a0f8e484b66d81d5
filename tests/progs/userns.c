/*
 * userns - makes the calls a program makes before it has mapped any file
 * (anonymous mmap, munmap, mremap), then unshare(CLONE_NEWUSER), which fails
 * with EINVAL in a process with more than one thread, and prints
 * "unshare: ret=R errno=E" and the number of threads.
 */
#include "testlib.h"

#include <sched.h>

int main(void)
{
	char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[4096], *t;
	int r, e;

	if (p == MAP_FAILED)
		tl_die("mmap");
	p = mremap(p, 1 << 20, 2 << 20, MREMAP_MAYMOVE);
	if (p == MAP_FAILED || munmap(p, 2 << 20) != 0)
		tl_die("mremap/munmap");
	if (tl_read_small("/proc/self/status", buf, sizeof(buf)) < 0 ||
	    !(t = strstr(buf, "\nThreads:")))
		tl_die("read /proc/self/status");
	printf("threads=%d\n", atoi(t + 9));
	errno = 0;
	r = unshare(CLONE_NEWUSER);
	e = errno;
	printf("unshare: ret=%d errno=%s\n", r, e ? strerrorname_np(e) : "0");
	return 0;
}
