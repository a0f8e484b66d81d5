/*
 * recall PATH WAIT_MS OFF:LEN... [far OFF:LEN] [until ext|OFF:LEN] [go FILE]
 *        [stored RECORD] [done STATS]
 * - maps PATH whole (read-write open, so that mincore tells the page
 * cache), waits, prints extN=RESIDENT/PAGES for each extent (offsets and
 * lengths in MiB) and far=RESIDENT/PAGES for the part after "far", then
 * reads every page of the extents (not the far part) and exits without
 * unmapping: working-set memory's test program (tests/recall.bats).
 *
 * The wait: WAIT_MS, fixed, without "until" and "go"; with them WAIT_MS is
 * the deadline of a poll (every 10 ms) until every extent ("until ext") or
 * the part OFF:LEN is at least 98% in the page cache, then until FILE
 * exists ("go"); it prints waited_ms=N and until=met or until=timeout.
 * With "stored", after reading the extents it polls (deadline twice
 * TL_DEADLINE_S: the helper's whole job, then the 10 s store cadence) until the file RECORD was written since the program started and
 * prints stored=met or stored=timeout: with one helper thread, the library
 * stores a record only between two mappings' jobs, so the helper has then
 * finished with this one and its done record comes at exit.  With "done"
 * (a mapping not remembered: its done record is written when the helper has
 * finished), it polls the same way until the file STATS holds a done
 * record and prints done=met or done=timeout.
 */
#include "testlib.h"

#include <stdbool.h>
#include <time.h>

#define MAX_EXT 16

/* True when the file path holds the string s. */
static bool holds(const char *path, const char *s)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f))
		found = strstr(line, s) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* True when at least 98% of [off, off + len) is in the page cache. */
static bool mostly(const unsigned char *base, size_t off, size_t len)
{
	size_t pages, r = tl_cached(base, off, len, &pages, 0);
	return r * 100 >= pages * 98;
}

int main(int argc, char **argv)
{
	size_t off[MAX_EXT], len[MAX_EXT], far_off = 0, far_len = 0, n = 0;
	size_t until_off = 0, until_len = 0;
	bool until_ext = false;
	const char *go = NULL, *stored = NULL, *done = NULL;
	struct timespec started;
	clock_gettime(CLOCK_REALTIME, &started);
	if (argc < 4) {
		fprintf(stderr, "usage: recall PATH WAIT_MS OFF:LEN... [far OFF:LEN] [until ext|OFF:LEN] [go FILE]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "far") && i + 1 < argc) {
			tl_parse_mib_extent(argv[++i], &far_off, &far_len);
			continue;
		}
		if (!strcmp(argv[i], "until") && i + 1 < argc) {
			if (!strcmp(argv[++i], "ext"))
				until_ext = true;
			else
				tl_parse_mib_extent(argv[i], &until_off, &until_len);
			continue;
		}
		if (!strcmp(argv[i], "go") && i + 1 < argc) {
			go = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "stored") && i + 1 < argc) {
			stored = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "done") && i + 1 < argc) {
			done = argv[++i];
			continue;
		}
		if (n == MAX_EXT)
			tl_die("too many extents");
		tl_parse_mib_extent(argv[i], &off[n], &len[n]);
		n++;
	}
	int fd = open(argv[1], O_RDWR);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		tl_die("open %s", argv[1]);
	unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	long ms = atol(argv[2]);
	if (!until_ext && !until_len && !go) {
		tl_sleep_ms(ms);
	} else {
		double t0 = tl_now(), deadline = t0 + ms / 1000.0;
		bool met = false;
		while (!met && tl_now() < deadline) {
			met = true;
			for (size_t i = 0; until_ext && met && i < n; i++)
				met = mostly(p, off[i], len[i]);
			if (met && until_len)
				met = mostly(p, until_off, until_len);
			if (met && go)
				met = access(go, F_OK) == 0;
			if (!met)
				tl_sleep_ms(10);
		}
		printf("waited_ms=%.0f\nuntil=%s\n", (tl_now() - t0) * 1000, met ? "met" : "timeout");
	}
	size_t pages;
	for (size_t i = 0; i < n; i++) {
		size_t r = tl_cached(p, off[i], len[i], &pages, 1);
		printf("ext%zu=%zu/%zu\n", i, r, pages);
	}
	if (far_len) {
		size_t r = tl_cached(p, far_off, far_len, &pages, 1);
		printf("far=%zu/%zu\n", r, pages);
	}
	fflush(stdout);
	printf("sum=%lu\n", tl_touch_extents(p, off, len, n));
	if (stored) {
		double deadline = tl_now() + 2 * TL_DEADLINE_S;
		bool met = false;
		while (!met && tl_now() < deadline) {
			struct stat rs;
			met = stat(stored, &rs) == 0 &&
			      (rs.st_mtim.tv_sec > started.tv_sec ||
			       (rs.st_mtim.tv_sec == started.tv_sec && rs.st_mtim.tv_nsec > started.tv_nsec));
			if (!met)
				tl_sleep_ms(10);
		}
		printf("stored=%s\n", met ? "met" : "timeout");
	}
	if (done) {
		double deadline = tl_now() + 2 * TL_DEADLINE_S;
		bool met = false;
		while (!met && tl_now() < deadline) {
			met = holds(done, "\"ev\":\"done\"");
			if (!met)
				tl_sleep_ms(10);
		}
		printf("done=%s\n", met ? "met" : "timeout");
	}
	return 0;
}
