/*
 * remap PATH - moves, grows and shrinks file mappings with mremap while
 * prefault's helpers work on them (the file is evicted before each step,
 * and each step waits until a helper has begun on the new mapping: a page
 * present, at most TL_DEADLINE_S, testlib.h)
 * and checks every word of the result against the file's pattern, right
 * away and again after 300 ms:
 *
 *   moved_bad=N        MREMAP_MAYMOVE|MREMAP_FIXED to a new place
 *   grown_bad=N        the first half mapped, grown to the whole file
 *   shrunk_bad=N       the whole file mapped, shrunk in place to half
 *   moved_later_bad=N, grown_later_bad=N, shrunk_later_bad=N
 */
#include "testlib.h"

static const char *path;
static size_t len;

static char *map_cold(size_t n)
{
	int fd = open(path, O_RDONLY);
	char *p;

	if (fd < 0)
		tl_die("open %s", path);
	tl_evict_fd(fd);
	p = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	tl_wait_present(p, n, 0);
	return p;
}

int main(int argc, char **argv)
{
	char *moved, *grown, *shrunk, *hole, *p;

	if (argc != 2) {
		fprintf(stderr, "usage: remap PATH\n");
		return 2;
	}
	path = argv[1];
	{
		struct stat st;

		if (stat(path, &st) != 0)
			tl_die("stat %s", path);
		len = (size_t)st.st_size;
	}

	hole = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED)
		tl_die("reserve");
	p = map_cold(len);
	moved = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	if (moved != hole)
		tl_die("mremap move");
	printf("moved_bad=%zu\n", tl_bad_words(moved, len, 0));

	p = map_cold(len / 2);
	grown = mremap(p, len / 2, len, MREMAP_MAYMOVE);
	if (grown == MAP_FAILED)
		tl_die("mremap grow");
	printf("grown_bad=%zu\n", tl_bad_words(grown, len, 0));

	p = map_cold(len);
	shrunk = mremap(p, len, len / 2, 0);
	if (shrunk != p)
		tl_die("mremap shrink");
	printf("shrunk_bad=%zu\n", tl_bad_words(shrunk, len / 2, 0));

	tl_sleep_ms(300);
	printf("moved_later_bad=%zu\n", tl_bad_words(moved, len, 0));
	printf("grown_later_bad=%zu\n", tl_bad_words(grown, len, 0));
	printf("shrunk_later_bad=%zu\n", tl_bad_words(shrunk, len / 2, 0));
	return 0;
}
