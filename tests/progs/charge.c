/*
 * charge HEADER MIDDLE FILE... - a program's start on several files, for
 * the budget's charge (tests/charge.bats): maps every FILE whole (shared,
 * read-only, no madvise: the kernel's readahead as it is), reads one byte of
 * every page of the first HEADER bytes of each and of MIDDLE bytes in the
 * middle of the last, then waits:
 *  - with PREFAULT_STATS naming a file: for prefault's `done` record of
 *    every mapping (TL_DEADLINE_S at most), then until the files' residency
 *    stops changing, so the readahead in flight has landed;
 *  - without: until the residency stops changing (its own readahead).
 * Prints done=N and resident=BYTES lines (done records seen, the files' pages in
 * the page cache by mincore, as root may see them), present=N and pages=N
 * (of the files' pages, those in this process's page table, and all) and
 * exits; the files stay cached for fincore(1) to count.
 */
#include "testlib.h"

#define MAX_FILES 16

static unsigned char *maps[MAX_FILES];
static size_t sizes[MAX_FILES];
static int nfiles;

static size_t resident(void)
{
	static unsigned char vec[1 << 16];
	size_t page = tl_page(), total = 0;
	for (int f = 0; f < nfiles; f++)
		for (size_t off = 0; off < sizes[f]; off += sizeof vec * page) {
			size_t len = sizes[f] - off < sizeof vec * page ? sizes[f] - off : sizeof vec * page;
			if (mincore(maps[f] + off, len, vec) != 0)
				tl_die("mincore");
			for (size_t i = 0; i < (len + page - 1) / page; i++)
				total += (vec[i] & 1) * page;
		}
	return total;
}

/* Waits until two looks 50 ms apart find the same residency. */
static void settle(void)
{
	double until = tl_now() + TL_DEADLINE_S;
	size_t was = resident();
	for (;;) {
		tl_sleep_ms(50);
		size_t now = resident();
		if (now == was || tl_now() > until)
			return;
		was = now;
	}
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc - 3 > MAX_FILES) {
		fprintf(stderr, "usage: charge HEADER MIDDLE FILE... (at most %d files)\n", MAX_FILES);
		return 2;
	}
	size_t header = tl_size(argv[1]), middle = tl_size(argv[2]), page = tl_page();
	nfiles = argc - 3;
	for (int i = 0; i < nfiles; i++) {
		struct stat st;
		int fd = open(argv[3 + i], O_RDONLY);
		if (fd < 0 || fstat(fd, &st) != 0)
			tl_die("open %s", argv[3 + i]);
		sizes[i] = (size_t)st.st_size;
		if (header > sizes[i] / 2 || middle > sizes[i] / 2)
			tl_die("%s is smaller than twice HEADER and MIDDLE", argv[3 + i]);
		maps[i] = mmap(NULL, sizes[i], PROT_READ, MAP_SHARED, fd, 0);
		if (maps[i] == MAP_FAILED)
			tl_die("mmap %s", argv[3 + i]);
		close(fd);
	}
	unsigned sum = 0;
	for (int i = 0; i < nfiles; i++)
		for (size_t off = 0; off < header; off += page)
			sum += maps[i][off];
	size_t from = sizes[nfiles - 1] / 2 / page * page;
	for (size_t off = 0; off < middle; off += page)
		sum += maps[nfiles - 1][from + off];

	long done = 0;
	if (tl_stats_path()) {
		tl_wait_stats("\"ev\":\"done\"", NULL, nfiles);
		done = tl_stats_count("\"ev\":\"done\"", NULL, NULL);
	}
	settle();
	size_t present = 0, pages = 0;
	for (int i = 0; i < nfiles; i++) {
		present += tl_present(maps[i], sizes[i]);
		pages += (sizes[i] + page - 1) / page;
	}
	printf("done=%ld\nresident=%zu\npresent=%zu\npages=%zu\nsum=%u\n", done, resident(), present,
	       pages, sum & 1);
	return 0;
}
