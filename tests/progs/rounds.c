/*
 * rounds [-w STATS [-d SECONDS]] [-p MS] [-n READS] [-R] OP... - a
 * long-lived program's life with its files: one round an OP, each mapping a
 * file, reading it at random and unmapping it before the next (budget.bats,
 * tools/bench/rounds).
 *
 *   PATH or map:PATH   evict PATH from the page cache, then map it
 *   remap:PATH         map PATH as it is (what an earlier round left cached)
 *   half:PATH          evict the second half of PATH, then map it
 *   pageout:PATH       evict PATH, map it, wait as below, then page it out
 *                      (MADV_PAGEOUT: the kernel evicts what prefault brought
 *                      in) and keep it mapped, unread, to the end
 *   rename:SRC:DST     rename SRC over DST (a replaced file); no mapping
 *
 * After mapping (MAP_SHARED, read-only; -R marks it MADV_RANDOM as bbolt
 * does), a round waits: with -w, for prefault's `done` record of this
 * mapping in the statistics file STATS (its `map` record gives the id by
 * address), at most -d seconds (120); else -p ms (0).  Then it counts the
 * pages present in its page table, reads one byte at each of READS random
 * pages (-n, 2000; the same pages every run), and unmaps.  One line a round:
 *
 *   round=N op=OP pages=M present=P result=R bytes_in=B wait_ms=W reads_ms=T majflt=F
 *
 * result and bytes_in are the done record's (`-` without -w; `timeout` when
 * none came in time); majflt is the main thread's major faults while
 * reading.  Nothing is touched before the reads.  A pageout round prints
 * present (before) and present_after instead of reading.
 */
#include "testlib.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static const char *stats_path;
static double deadline_s = 120;

/* Bytes of the statistics file now (0 when there is none yet). */
static off_t stats_size(void)
{
	struct stat st;

	return stats_path && stat(stats_path, &st) == 0 ? st.st_size : 0;
}

/* The value after "key": in line, copied into out (a string's quotes
 * dropped); false when the line has no such key. */
static int json_field(const char *line, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	if (!p)
		return 0;
	p += strlen(pat);
	if (*p == '"')
		p++;
	while (*p && *p != '"' && *p != ',' && *p != '}' && n + 1 < size)
		out[n++] = *p++;
	out[n] = '\0';
	return 1;
}

/* Waits for the done record of the mapping at addr, reading STATS from
 * offset `from` (where it ended before the mmap call). */
static void wait_done(off_t from, const void *addr, char *result, size_t rsize,
		      char *bytes_in, size_t bsize)
{
	char want_addr[32], id[32] = "", want_id[48], val[64];
	double until = tl_now() + deadline_s;

	snprintf(want_addr, sizeof(want_addr), "0x%lx", (unsigned long)(uintptr_t)addr);
	snprintf(result, rsize, "timeout");
	snprintf(bytes_in, bsize, "-");
	while (tl_now() < until) {
		FILE *f = fopen(stats_path, "r");
		char line[4096];

		if (f && fseeko(f, from, SEEK_SET) == 0) {
			while (fgets(line, sizeof(line), f)) {
				if (!id[0] && strstr(line, "\"ev\":\"map\"") &&
				    json_field(line, "addr", val, sizeof(val)) &&
				    strcmp(val, want_addr) == 0) {
					json_field(line, "id", id, sizeof(id));
					snprintf(want_id, sizeof(want_id), "\"id\":%s,", id);
				} else if (id[0] && strstr(line, "\"ev\":\"done\"") &&
					   strstr(line, want_id)) {
					json_field(line, "result", result, rsize);
					json_field(line, "bytes_in", bytes_in, bsize);
					fclose(f);
					return;
				}
			}
		}
		if (f)
			fclose(f);
		tl_sleep_ms(10);
	}
}

/* Drops [off, off+len) of the file's pages from the page cache. */
static void evict_range(int fd, off_t off, off_t len)
{
	if (posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED) != 0)
		tl_die("posix_fadvise(DONTNEED)");
}

static uint64_t rand_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

int main(int argc, char **argv)
{
	long pause_ms = 0, reads = 2000;
	int opt, random_hint = 0;

	while ((opt = getopt(argc, argv, "w:d:p:n:R")) != -1) {
		switch (opt) {
		case 'w': stats_path = optarg; break;
		case 'd': deadline_s = atof(optarg); break;
		case 'p': pause_ms = atol(optarg); break;
		case 'n': reads = atol(optarg); break;
		case 'R': random_hint = 1; break;
		default:
			fprintf(stderr, "usage: rounds [-w STATS [-d SECONDS]] [-p MS] [-n READS] [-R] OP...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "rounds: no OP\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = optind, round = 1; i < argc; i++, round++) {
		const char *op = argv[i], *path = op, *colon = strchr(op, ':');
		char kind[16] = "map", result[32] = "-", bytes_in[32] = "-";
		struct stat st;

		if (colon && (size_t)(colon - op) < sizeof(kind)) {
			memcpy(kind, op, (size_t)(colon - op));
			kind[colon - op] = '\0';
			path = colon + 1;
		}
		if (strcmp(kind, "rename") == 0) {
			char src[4096];
			const char *dst = strchr(path, ':');

			if (!dst || (size_t)(dst - path) >= sizeof(src))
				tl_die("rename:SRC:DST expected, not %s", op);
			memcpy(src, path, (size_t)(dst - path));
			src[dst - path] = '\0';
			if (rename(src, dst + 1) != 0)
				tl_die("rename %s %s", src, dst + 1);
			printf("round=%d op=rename\n", round);
			continue;
		}
		int fd = open(path, O_RDONLY);
		if (fd < 0 || fstat(fd, &st) != 0)
			tl_die("open %s", path);
		size_t len = (size_t)st.st_size, page = tl_page(), pages = len / page;
		if (strcmp(kind, "map") == 0 || strcmp(kind, "pageout") == 0)
			evict_range(fd, 0, 0);
		else if (strcmp(kind, "half") == 0)
			evict_range(fd, (off_t)(len / 2), (off_t)(len - len / 2));
		else if (strcmp(kind, "remap") != 0)
			tl_die("unknown op %s", op);

		off_t from = stats_size();
		double t0 = tl_now();
		unsigned char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			tl_die("mmap %s", path);
		close(fd);
		if (random_hint && madvise(p, len, MADV_RANDOM) != 0)
			tl_die("madvise MADV_RANDOM");
		if (stats_path)
			wait_done(from, p, result, sizeof(result), bytes_in, sizeof(bytes_in));
		else
			tl_sleep_ms(pause_ms);
		double waited = tl_now() - t0;
		size_t present = tl_present(p, len);
		if (strcmp(kind, "pageout") == 0) {
			if (madvise(p, len, MADV_PAGEOUT) != 0)
				tl_die("madvise MADV_PAGEOUT");
			printf("round=%d op=%s pages=%zu present=%zu result=%s bytes_in=%s"
			       " present_after=%zu\n",
			       round, kind, pages, present, result, bytes_in, tl_present(p, len));
			continue; /* mapped to the end */
		}

		uint64_t seed = 0x9e3779b97f4a7c15ULL;
		long f0 = tl_thread_majflt();
		double r0 = tl_now();
		unsigned sum = 0;
		for (long k = 0; k < reads; k++)
			sum += ((volatile unsigned char *)p)[(rand_next(&seed) % pages) * page];
		double r1 = tl_now();
		long f1 = tl_thread_majflt();
		if (munmap(p, len) != 0)
			tl_die("munmap");
		printf("round=%d op=%s pages=%zu present=%zu result=%s bytes_in=%s wait_ms=%.1f"
		       " reads_ms=%.3f majflt=%ld sum=%u\n",
		       round, kind, pages, present, result, bytes_in, waited * 1e3, (r1 - r0) * 1e3,
		       f1 - f0, sum);
	}
	return 0;
}
