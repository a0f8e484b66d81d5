/*
 * prefault-stat - how much of each file is in the page cache, like vmtouch
 * or fincore (`prefault stat FILE...`).
 *
 * cachestat(2) (Linux 6.5+) counts cached, dirty, writeback and recently
 * evicted pages of the whole file without mapping it; it needs read access
 * only and tells the truth.  Where the kernel lacks it (ENOSYS) or refuses
 * the file, the figure comes from mincore(2) on a fresh read-only shared
 * mapping.  mincore reports the page cache truthfully only for a file the
 * caller could open for writing (Linux 5.2+); for any other file it sees
 * only the pages mapped in the caller, so the figure may be too low and is
 * flagged "unreliable" (on this kernel it was seen to report too much,
 * on others too little).
 *
 * --mincore forces the fallback (to compare).  Output: one line a file, "PATH: CACHED of SIZE (P%) [method]" with the
 * cachestat extras, then a total; --json prints one JSON object a file.
 * Exit status 0, 1 when a file could not be measured, 2 for usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct cs_range {
	uint64_t off, len;
};

struct cs {
	uint64_t cache, dirty, writeback, evicted, recently_evicted;
};

struct result {
	uint64_t size, pages, cached;
	bool have_cs, unreliable;
	struct cs cs;
	const char *method;
};

static bool json, force_mincore;

static void human(char *buf, size_t n, double v)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* 0, or an errno value when cachestat cannot measure this file. */
static int by_cachestat(int fd, struct result *r)
{
	struct cs_range range = { 0, 0 }; /* len 0: to the end of the file */
	if (syscall(__NR_cachestat, fd, &range, &r->cs, 0) != 0)
		return errno;
	r->cached = r->cs.cache;
	r->have_cs = true;
	r->method = "cachestat";
	return 0;
}

static int by_mincore(const char *path, int fd, struct result *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	r->method = "mincore";
	r->unreliable = access(path, W_OK) != 0;
	if (r->size == 0)
		return 0;
	void *p = mmap(NULL, r->size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return errno;
	unsigned char vec[4096];
	size_t done = 0;
	while (done < r->pages) {
		size_t n = r->pages - done < sizeof vec ? r->pages - done : sizeof vec;
		if (mincore((char *)p + done * page, n * page, vec) != 0) {
			int e = errno;
			munmap(p, r->size);
			return e;
		}
		for (size_t i = 0; i < n; i++)
			r->cached += vec[i] & 1;
		done += n;
	}
	munmap(p, r->size);
	return 0;
}

static int measure(const char *path, struct result *r)
{
	memset(r, 0, sizeof *r);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		return e;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	r->size = (uint64_t)st.st_size;
	r->pages = (r->size + page - 1) / page;
	int e = force_mincore ? ENOSYS : by_cachestat(fd, r);
	if (e == ENOSYS || e == EPERM || e == EOPNOTSUPP || e == EINVAL)
		e = by_mincore(path, fd, r);
	close(fd);
	return e;
}

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print(const char *path, const struct result *r)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	double pct = r->pages ? 100.0 * (double)r->cached / (double)r->pages : 100.0;
	if (json) {
		printf("{\"path\":");
		print_json_string(path);
		printf(",\"size\":%llu,\"pages\":%llu,\"cached\":%llu,\"method\":\"%s\",\"reliable\":%s",
		       (unsigned long long)r->size, (unsigned long long)r->pages,
		       (unsigned long long)r->cached, r->method, r->unreliable ? "false" : "true");
		if (r->have_cs)
			printf(",\"dirty\":%llu,\"writeback\":%llu,\"evicted\":%llu,\"recently_evicted\":%llu",
			       (unsigned long long)r->cs.dirty, (unsigned long long)r->cs.writeback,
			       (unsigned long long)r->cs.evicted, (unsigned long long)r->cs.recently_evicted);
		printf("}\n");
		return;
	}
	char c[32], s[32];
	human(c, sizeof c, (double)r->cached * (double)page);
	human(s, sizeof s, (double)r->size);
	printf("%s: %s of %s cached (%.1f%%) [%s", path, c, s, pct, r->method);
	if (r->have_cs)
		printf("; %llu dirty, %llu writeback, %llu evicted, %llu recently evicted pages",
		       (unsigned long long)r->cs.dirty, (unsigned long long)r->cs.writeback,
		       (unsigned long long)r->cs.evicted, (unsigned long long)r->cs.recently_evicted);
	if (r->unreliable)
		printf("; unreliable: mincore on a file this user cannot write may not see the page cache (only pages mapped here)");
	printf("]\n");
}

int main(int argc, char **argv)
{
	int first = 1, status = 0;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--json")) {
			json = true;
		} else if (!strcmp(argv[first], "--mincore")) {
			force_mincore = true;
		} else if (!strcmp(argv[first], "--")) {
			first++;
			break;
		} else if (!strcmp(argv[first], "-h") || !strcmp(argv[first], "--help")) {
			printf("usage: prefault stat [--json] [--mincore] FILE...\n"
			       "Page-cache residency of each FILE: cachestat(2) where the kernel has it\n"
			       "(Linux 6.5+), else mincore(2) on a fresh read-only mapping, flagged\n"
			       "unreliable for files this user cannot write.  --mincore uses mincore\n"
			       "even where cachestat works; --json prints one object a file.\n");
			return 0;
		} else {
			fprintf(stderr, "prefault stat: unknown option '%s' (see prefault stat --help)\n", argv[first]);
			return 2;
		}
	}
	if (first >= argc) {
		fprintf(stderr, "usage: prefault stat [--json] FILE...\n");
		return 2;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t tot_size = 0, tot_cached = 0;
	int measured = 0;
	for (int i = first; i < argc; i++) {
		struct result r;
		int e = measure(argv[i], &r);
		if (e) {
			fprintf(stderr, "prefault stat: %s: %s\n", argv[i], strerror(e));
			status = 1;
			continue;
		}
		print(argv[i], &r);
		tot_size += r.size;
		tot_cached += r.cached * page;
		measured++;
	}
	if (!json && measured > 1) {
		char c[32], s[32];
		human(c, sizeof c, (double)tot_cached);
		human(s, sizeof s, (double)tot_size);
		printf("total: %s of %s cached in %d files\n", c, s, measured);
	}
	return status;
}
