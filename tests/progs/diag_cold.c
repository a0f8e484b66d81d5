/*
 * diag_cold FILE STRIDE [ARGS...] - a program that reads part of a cold
 * file, for tests/diagnose.bats (PREFAULT_PREFETCH=0: measured, never
 * prefetched).  ARGS are ignored: they are there for the start record.
 *
 * Maps FILE whole (through libc: the hook sees it), hints MADV_RANDOM (so
 * that each fault reads its own page and nothing around it), and waits
 * until the report ($PREFAULT_STATS, a path) holds two proc records that
 * list a mapping (at most TL_DEADLINE_S): time enough for helpers to have
 * read much of FILE, were they prefetching.  Then it reads one word of
 * every STRIDE-th page and prints, as key=value lines:
 *   touched        pages it read
 *   touch_majflt   its major faults reading them (getrusage(RUSAGE_THREAD))
 *   pages          pages of the mapping
 *   present        pages present in its page table (/proc/self/pagemap)
 * and exits through exit(), so that the library's destructor writes a last
 * proc record right after.
 */
#include "testlib.h"

static int proc_records_with_mappings(const char *path)
{
	static char buf[1 << 20];
	int n = 0;
	FILE *f = fopen(path, "r");
	while (f && fgets(buf, sizeof buf, f))
		n += strstr(buf, "\"ev\":\"proc\"") && strstr(buf, "\"mappings\":[{");
	if (f)
		fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: diag_cold FILE STRIDE [ARGS...]\n");
		return 2;
	}
	const char *stats = getenv("PREFAULT_STATS");
	size_t stride = (size_t)strtoul(argv[2], NULL, 10), page = tl_page();
	if (!stats || !stride)
		tl_die("PREFAULT_STATS (a path) and a STRIDE > 0 are needed");
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		tl_die("open %s", argv[1]);
	size_t len = (size_t)st.st_size;
	char *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	if (madvise(map, len, MADV_RANDOM))
		tl_die("madvise");

	double until = tl_now() + TL_DEADLINE_S;
	while (proc_records_with_mappings(stats) < 2)
		if (tl_now() > until)
			tl_die("no two proc records with a mapping in %s after %.0f s", stats, TL_DEADLINE_S);
		else
			tl_sleep_ms(10);

	long before = tl_thread_majflt();
	volatile uint64_t sum = 0;
	size_t touched = 0;
	for (size_t at = 0; at < len; at += stride * page, touched++)
		sum += *(volatile uint64_t *)(map + at);
	(void)sum;
	long faults = tl_thread_majflt() - before;
	printf("touched=%zu\ntouch_majflt=%ld\npages=%zu\npresent=%zu\n", touched, faults,
	       (len + page - 1) / page, tl_present(map, len));
	fflush(stdout);
	exit(0);
}
