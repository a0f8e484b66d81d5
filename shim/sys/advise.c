/*
 * advise.c - madvise and mincore over program ranges, and the device facts
 * that size them.
 *
 * One MADV_WILLNEED call reads at most max(read_ahead_kb, max_sectors_kb)
 * of the device (mm/readahead.c, force_page_cache_ra), so callers step
 * through a range in pf_readahead_step() pieces.  Lock rule: step_lock
 * guards the per-device cache; only helpers take it (across a sysfs read),
 * never a hook.
 */
#include "sys/advise.h"
#include "sys/pagemap.h"
#include "sys/procfs.h"
#include "sys/real.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define STEP_MIN (128u * 1024u)
#define STEP_MAX (2u * 1024u * 1024u)
#define REACH_UNKNOWN (32u * 1024u * 1024u)

static int populate_state; /* 0 unknown, 1 yes, -1 no */
static pthread_mutex_t step_lock = PTHREAD_MUTEX_INITIALIZER;

bool pf_populate_read_supported(void)
{
	int s = __atomic_load_n(&populate_state, __ATOMIC_RELAXED);
	if (s == 0) {
		long pg = sysconf(_SC_PAGESIZE);
		void *p = pf_sys_mmap(NULL, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		s = -1;
		if (p != MAP_FAILED) {
			s = madvise(p, (size_t)pg, MADV_POPULATE_READ) == 0 ? 1 : -1;
			pf_sys_munmap(p, (size_t)pg);
		}
		__atomic_store_n(&populate_state, s, __ATOMIC_RELAXED);
	}
	return s == 1;
}

static int advise(uintptr_t addr, size_t len, int advice)
{
	int saved = errno, rc = 0;
	while (madvise((void *)addr, len, advice) != 0) {
		if (errno == EINTR || errno == EAGAIN)
			continue;
		rc = errno;
		break;
	}
	errno = saved;
	return rc;
}

int pf_advise_willneed(uintptr_t addr, size_t len)
{
	return advise(addr, len, MADV_WILLNEED);
}

int pf_advise_populate(uintptr_t addr, size_t len)
{
	return advise(addr, len, MADV_POPULATE_READ);
}

/* True when every page of [addr, addr+len) that is in memory (or in swap)
 * is a page-cache page: no private copy the program wrote, which
 * MADV_PAGEOUT would push out to swap. */
static bool only_file_pages(uintptr_t addr, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t ent[512];
	int saved = errno;
	int fd = pf_pagemap_open();
	if (fd < 0)
		return false;
	bool ok = true;
	for (size_t off = 0; ok && off < len; off += 512 * pg) {
		size_t n = (len - off) / pg < 512 ? (len - off + pg - 1) / pg : 512;
		if (pf_pagemap_read(fd, addr + off, ent, n) != n) {
			ok = false;
			break;
		}
		for (size_t i = 0; i < n; i++)
			if ((ent[i] & PF_PM_SWAPPED) ||
			    ((ent[i] & PF_PM_PRESENT) && !(ent[i] & PF_PM_FILE)))
				ok = false;
	}
	close(fd);
	errno = saved;
	return ok;
}

int pf_advise_pageout(uintptr_t addr, size_t len)
{
	if (!only_file_pages(addr, len))
		return EPERM;
	return advise(addr, len, MADV_PAGEOUT);
}

long pf_resident_pages(uintptr_t addr, size_t len)
{
	static const size_t chunk_pages = 1024;
	unsigned char vec[1024];
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	long resident = 0;
	for (size_t off = 0; off < len; off += chunk_pages * pg) {
		size_t n = len - off < chunk_pages * pg ? len - off : chunk_pages * pg;
		if (mincore((void *)(addr + off), n, vec) != 0)
			return -1;
		for (size_t i = 0; i < (n + pg - 1) / pg; i++)
			resident += vec[i] & 1;
	}
	return resident;
}

size_t pf_resident_prefix(uintptr_t addr, size_t len)
{
	enum { PIECE_PAGES = 64 };
	unsigned char vec[PIECE_PAGES];
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), off = 0;
	while (off < len) {
		size_t n = len - off < PIECE_PAGES * pg ? len - off : PIECE_PAGES * pg;
		if (mincore((void *)(addr + off), n, vec) != 0)
			return off;
		for (size_t i = 0; i < (n + pg - 1) / pg; i++)
			if (!(vec[i] & 1))
				return off + i * pg;
		off += n;
	}
	return len;
}

static long read_kb(const char *path)
{
	char buf[32];
	return pf_read_small(path, buf, sizeof buf) < 0 ? -1 : strtol(buf, NULL, 10);
}

/* read_ahead_kb (*ra) and max_sectors_kb (*io) of the disk behind dev,
 * each -1 when unknown. */
static void device_kb(dev_t dev, long *ra, long *io)
{
	static const char *const forms[] = {
		"/sys/dev/block/%u:%u/queue/read_ahead_kb",
		"/sys/dev/block/%u:%u/../queue/read_ahead_kb",
		"/sys/class/bdi/%u:%u/read_ahead_kb",
	};
	static const char *const io_forms[] = {
		"/sys/dev/block/%u:%u/queue/max_sectors_kb",
		"/sys/dev/block/%u:%u/../queue/max_sectors_kb",
	};
	char path[128];
	*ra = *io = -1;
	for (size_t i = 0; i < 3 && *ra < 0; i++) {
		snprintf(path, sizeof path, forms[i], major(dev), minor(dev));
		*ra = read_kb(path);
	}
	for (size_t i = 0; i < 2 && *io < 0; i++) {
		snprintf(path, sizeof path, io_forms[i], major(dev), minor(dev));
		*io = read_kb(path);
	}
}

struct device_sizes {
	size_t step, reach;
};

/* The device's sizes, read once (a cache of 16 devices). */
static struct device_sizes device_sizes(dev_t dev)
{
	static struct {
		dev_t dev;
		struct device_sizes s;
	} cache[16];
	static unsigned next;
	pthread_mutex_lock(&step_lock);
	for (size_t i = 0; i < 16; i++) {
		if (cache[i].s.step && cache[i].dev == dev) {
			struct device_sizes s = cache[i].s;
			pthread_mutex_unlock(&step_lock);
			return s;
		}
	}
	long ra, io;
	device_kb(dev, &ra, &io);
	long kb = ra > io ? ra : io;
	struct device_sizes s;
	s.step = kb > 0 ? (size_t)kb * 1024u : STEP_MIN;
	if (s.step < STEP_MIN)
		s.step = STEP_MIN;
	if (s.step > STEP_MAX)
		s.step = STEP_MAX;
	/* Doubled: POSIX_FADV_SEQUENTIAL doubles a file's readahead. */
	s.reach = ra >= 0 ? 2u * (size_t)ra * 1024u : REACH_UNKNOWN;
	unsigned slot = next++ % 16;
	cache[slot].dev = dev;
	cache[slot].s = s;
	pthread_mutex_unlock(&step_lock);
	return s;
}

size_t pf_readahead_step(dev_t dev)
{
	return device_sizes(dev).step;
}

size_t pf_readahead_reach(dev_t dev)
{
	return device_sizes(dev).reach;
}

void pf_advise_prefork(void)
{
	pthread_mutex_lock(&step_lock);
}

void pf_advise_postfork_parent(void)
{
	pthread_mutex_unlock(&step_lock);
}

void pf_advise_postfork_child(void)
{
	pthread_mutex_init(&step_lock, NULL);
}
