/*
 * fixedanon PATH - maps the file (tracked), then, once a helper is at work
 * on it (a page present; at most TL_DEADLINE_S, testlib.h), maps anonymous
 * memory with MAP_FIXED over part of it and over all of a second mapping.
 * The anonymous memory must read zero and keep what is written to it while
 * helpers run on; the rest of the first mapping keeps the file's content.
 *
 *   part_addr=0x.. part_len=N       the range replaced in the first mapping
 *   whole_addr=0x.. whole_len=N     the second mapping, replaced entirely
 *   *_nonzero=N                     words not zero right after MAP_FIXED
 *   *_lost=N                        words not holding what was written,
 *                                   after 300 ms
 *   file_bad=N                      words of the kept file range that do not
 *                                   hold the file's pattern
 */
#include "testlib.h"

static size_t nonzero(const void *p, size_t len)
{
	const volatile uint64_t *w = p;
	size_t n = 0;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i])
			n++;
	return n;
}

static void fill(void *p, size_t len)
{
	uint64_t *w = p;

	for (size_t i = 0; i < len / 8; i++)
		w[i] = ~(uint64_t)i * 0x9e3779b97f4a7c15ULL;
}

static size_t lost(const void *p, size_t len)
{
	const volatile uint64_t *w = p;
	size_t n = 0;

	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != ~(uint64_t)i * 0x9e3779b97f4a7c15ULL)
			n++;
	return n;
}

static char *anon_fixed(char *at, size_t len)
{
	char *p = mmap(at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p == MAP_FAILED || p != at)
		tl_die("mmap MAP_FIXED anonymous");
	return p;
}

int main(int argc, char **argv)
{
	size_t len, half, quarter;
	char *a, *b, *part, *whole;
	struct stat st;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: fixedanon PATH\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[1]);
	len = (size_t)st.st_size;
	half = len / 2;
	quarter = len / 4;
	a = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	b = mmap(NULL, half, PROT_READ, MAP_PRIVATE, fd, (off_t)half);
	if (a == MAP_FAILED || b == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	tl_wait_present(a, len, 0);

	part = anon_fixed(a + quarter, half);
	whole = anon_fixed(b, half);
	printf("part_addr=%p part_len=%zu\n", (void *)part, half);
	printf("whole_addr=%p whole_len=%zu\n", (void *)whole, half);
	printf("part_nonzero=%zu\n", nonzero(part, half));
	printf("whole_nonzero=%zu\n", nonzero(whole, half));
	fill(part, half);
	fill(whole, half);
	tl_sleep_ms(300);
	printf("part_lost=%zu\n", lost(part, half));
	printf("whole_lost=%zu\n", lost(whole, half));
	printf("file_bad=%zu\n", tl_bad_words(a, quarter, 0) +
	       tl_bad_words(a + quarter + half, len - quarter - half, quarter + half));
	return 0;
}
