/*
 * recall PATH WAIT_MS OFF:LEN... [far OFF:LEN] - maps PATH whole (read-write
 * open, so that mincore tells the page cache), waits WAIT_MS, prints
 * extN=RESIDENT/PAGES for each extent (offsets and lengths in MiB) and
 * far=RESIDENT/PAGES for the part after "far", then reads every page of
 * the extents (not the far part) and exits without unmapping: working-set
 * memory's test program (tests/recall.bats).
 */
#include "testlib.h"

#include <time.h>

#define MAX_EXT 16

static size_t resident(const unsigned char *base, size_t off, size_t len, size_t page, size_t *pages)
{
	size_t n = (len + page - 1) / page, r = 0;
	unsigned char *vec = malloc(n);
	if (!vec || mincore((void *)(base + off), len, vec) != 0)
		tl_die("mincore");
	for (size_t i = 0; i < n; i++) {
		if (!(vec[i] & 1) && r == i)
			printf("first_missing=%zu\n", (off / page) + i);
		r += vec[i] & 1;
	}
	free(vec);
	*pages = n;
	return r;
}

static void parse(const char *s, size_t *off, size_t *len)
{
	unsigned long a, b;
	if (sscanf(s, "%lu:%lu", &a, &b) != 2)
		tl_die("bad extent '%s' (OFF:LEN in MiB)", s);
	*off = a << 20;
	*len = b << 20;
}

int main(int argc, char **argv)
{
	size_t page = tl_page(), off[MAX_EXT], len[MAX_EXT], far_off = 0, far_len = 0, n = 0;
	if (argc < 4) {
		fprintf(stderr, "usage: recall PATH WAIT_MS OFF:LEN... [far OFF:LEN]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "far") && i + 1 < argc) {
			parse(argv[++i], &far_off, &far_len);
			continue;
		}
		if (n == MAX_EXT)
			tl_die("too many extents");
		parse(argv[i], &off[n], &len[n]);
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
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	size_t pages;
	for (size_t i = 0; i < n; i++) {
		size_t r = resident(p, off[i], len[i], page, &pages);
		printf("ext%zu=%zu/%zu\n", i, r, pages);
	}
	if (far_len) {
		size_t r = resident(p, far_off, far_len, page, &pages);
		printf("far=%zu/%zu\n", r, pages);
	}
	fflush(stdout);
	unsigned long sum = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t o = 0; o < len[i]; o += page)
			sum += p[off[i] + o];
	printf("sum=%lu\n", sum);
	return 0;
}
