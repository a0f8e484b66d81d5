/*
 * truncate PATH - maps the file, truncates it to zero as soon as prefault's
 * helpers have begun bringing it in (its first page present; at most
 * TL_DEADLINE_S, testlib.h), waits until the helpers are finished with it
 * (a done record in $PREFAULT_STATS, or, without statistics, until they
 * have left) and exits without touching a page.  A helper that touches
 * pages past the new end of file takes SIGBUS and kills the process (exit
 * 135).  Prints truncated=SIZE, begun=1 (0: no page came in before the
 * deadline), finished=1 (0: the deadline passed first) and survived=1.
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	struct stat st;
	void *p;
	int fd, begun, finished;

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
	begun = tl_wait_present(p, (size_t)st.st_size, 0);
	if (ftruncate(fd, 0) != 0)
		tl_die("ftruncate");
	printf("truncated=%lld\nbegun=%d\n", (long long)st.st_size, begun);
	fflush(stdout);
	if (tl_stats_path())
		finished = tl_wait_stats("\"ev\":\"done\"", NULL, 1);
	else
		finished = tl_wait_helpers(0);
	printf("finished=%d\nsurvived=1\n", finished);
	return 0;
}
