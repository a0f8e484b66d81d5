/*
 * recall_hold PATH WAIT_S OFF:LEN... [far OFF:LEN] - working-set memory's
 * test program under the companion (tests/companion-recall.bats).  Prints
 * pid=PID, maps PATH whole (read-write open, so that mincore tells the page
 * cache), then polls mincore until every extent (offsets and lengths in
 * MiB) is resident but for 2% of its pages, for at most WAIT_S seconds (0:
 * looks once); prints extN=RESIDENT/PAGES for each extent and
 * far=RESIDENT/PAGES for the part after "far", all before it touches
 * anything; then reads every page of the extents (not the far part),
 * prints touched=1 and stays, mapping and all, until a SIGUSR1: a
 * companion learns from a live process's pagemap only.
 */
#include "testlib.h"

#include <signal.h>
#include <stdbool.h>

#define MAX_EXT 16

int main(int argc, char **argv)
{
	size_t off[MAX_EXT], len[MAX_EXT], far_off = 0, far_len = 0, n = 0;
	if (argc < 4) {
		fprintf(stderr, "usage: recall_hold PATH WAIT_S OFF:LEN... [far OFF:LEN]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "far") && i + 1 < argc) {
			tl_parse_mib_extent(argv[++i], &far_off, &far_len);
			continue;
		}
		if (n == MAX_EXT)
			tl_die("too many extents");
		tl_parse_mib_extent(argv[i], &off[n], &len[n]);
		n++;
	}
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &usr1, NULL))
		tl_die("sigprocmask");
	printf("pid=%d\n", (int)getpid());
	fflush(stdout);
	int fd = open(argv[1], O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		tl_die("open %s", argv[1]);
	unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");

	long waited = 0, deadline = atol(argv[2]) * 1000;
	size_t r[MAX_EXT], pages[MAX_EXT];
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++) {
			r[i] = tl_cached(p, off[i], len[i], &pages[i], 0);
			all = all && r[i] * 100 >= pages[i] * 98;
		}
		if (all || waited >= deadline)
			break;
		tl_sleep_ms(10);
		waited += 10;
	}
	for (size_t i = 0; i < n; i++)
		printf("ext%zu=%zu/%zu\n", i, r[i], pages[i]);
	if (far_len) {
		size_t fp, fr = tl_cached(p, far_off, far_len, &fp, 0);
		printf("far=%zu/%zu\n", fr, fp);
	}
	fflush(stdout);

	printf("sum=%lu\ntouched=1\n", tl_touch_extents(p, off, len, n));
	fflush(stdout);
	int sig;
	sigwait(&usr1, &sig);
	return 0;
}
