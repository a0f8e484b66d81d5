/*
 * torture_neigh - prefault beside other preloaded libraries.
 *
 *   torture_neigh malloc FILE ROUNDS NTHREADS
 *       NTHREADS threads malloc and free blocks of 16 B .. 4 MiB (large
 *       ones are mmap'ed by any allocator), fill and check them, and map,
 *       check and unmap 64 KiB .. 4 MiB pieces of FILE, ROUNDS times each.
 *       Run with jemalloc or tcmalloc before or after prefault in LD_PRELOAD.
 *       -> rounds=N allocs=N maps=N bad=N
 *   torture_neigh ctor
 *       Built again as build/tests/torture_ctorlib.so (tests/torture.mk): a
 *       library whose constructor maps $TORTURE_CTOR_FILE (1 MiB) and checks
 *       it, before prefault's constructor when it comes first in
 *       LD_PRELOAD.  This mode finds that mapping (torture_ctor_map), checks
 *       it again, unmaps it, and maps and checks the file once more.
 *       -> ctor_bad=N ctor_ret=N later_bad=N
 */
#include "testlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- the library part: set by the constructor ---- */

__attribute__((visibility("default"))) char *torture_ctor_map;
__attribute__((visibility("default"))) long torture_ctor_bad = -1;

__attribute__((constructor)) static void ctor(void)
{
#ifdef TORTURE_CTORLIB
	const char *path = getenv("TORTURE_CTOR_FILE");
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	torture_ctor_map = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (torture_ctor_map == MAP_FAILED) {
		torture_ctor_map = NULL;
		return;
	}
	torture_ctor_bad = (long)tl_bad_words(torture_ctor_map, 1 << 20, 0);
#endif
}

/* ---- the program part ---- */

static const char *file;
static size_t file_len;
static long rounds;
static atomic_long allocs, maps, bad;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
	size_t page = tl_page();
	int fd = open(file, O_RDONLY);
	void *keep[64] = { 0 };

	if (fd < 0)
		tl_die("open %s", file);
	for (long r = 0; r < rounds; r++) {
		size_t sz = (size_t)16 << (rnd(&seed) % 19); /* 16 B .. 4 MiB */
		int slot = (int)(rnd(&seed) % 64);
		unsigned char *m = malloc(sz);

		if (!m)
			tl_die("malloc %zu", sz);
		memset(m, (int)(r & 0xff), sz);
		if (m[sz - 1] != (unsigned char)(r & 0xff))
			bad++;
		free(keep[slot]);
		keep[slot] = m;
		allocs++;

		size_t len = (16 + rnd(&seed) % 1008) * page;
		if (len > file_len)
			len = file_len;
		size_t off = (rnd(&seed) % ((file_len - len) / page + 1)) * page;
		char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);

		if (p == MAP_FAILED)
			tl_die("mmap");
		bad += (long)tl_bad_words(p, len, off);
		if (munmap(p, len) != 0)
			tl_die("munmap");
		maps++;
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	close(fd);
	return NULL;
}

static int mode_malloc(char **argv, long nthreads)
{
	pthread_t t[16];
	struct stat st;

	file = argv[2];
	rounds = atol(argv[3]);
	if (stat(file, &st) != 0)
		tl_die("stat %s", file);
	file_len = (size_t)st.st_size;
	if (nthreads < 1 || nthreads > 16)
		tl_die("1..16 threads");
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0)
			tl_die("pthread_create");
	for (long i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("rounds=%ld\nallocs=%ld\nmaps=%ld\nbad=%ld\n", rounds * nthreads, (long)allocs,
	       (long)maps, (long)bad);
	return 0;
}

static int mode_ctor(void)
{
	char **map = dlsym(RTLD_DEFAULT, "torture_ctor_map");
	long *cbad = dlsym(RTLD_DEFAULT, "torture_ctor_bad");
	const char *path = getenv("TORTURE_CTOR_FILE");

	/* The program's own copy comes first in the lookup: find the library's. */
	void *lib = dlopen("torture_ctorlib.so", RTLD_NOLOAD | RTLD_LAZY);
	if (lib) {
		map = dlsym(lib, "torture_ctor_map");
		cbad = dlsym(lib, "torture_ctor_bad");
	}
	if (!lib || !map || !*map || !cbad || !path)
		tl_die("the constructor library did not map its file");
	long later_bad = (long)tl_bad_words(*map, 1 << 20, 0);
	int ret = munmap(*map, 1 << 20);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		tl_die("open %s", path);
	char *p = mmap(NULL, 1 << 20, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	later_bad += (long)tl_bad_words(p, 1 << 20, 0);
	printf("ctor_bad=%ld\nctor_ret=%d\nlater_bad=%ld\n", *cbad, ret, later_bad);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "malloc"))
		return mode_malloc(argv, atol(argv[4]));
	if (argc == 2 && !strcmp(argv[1], "ctor"))
		return mode_ctor();
	fprintf(stderr, "usage: torture_neigh malloc FILE ROUNDS NTHREADS | ctor\n");
	return 2;
}
