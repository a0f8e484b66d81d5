/*
 * budget.c - how much the helpers may hold: PREFAULT_BUDGET as a size, or
 * as a share of the memory that is available to this process (the smaller
 * of MemAvailable and the cgroup's headroom, v2 or v1); and how a charge
 * counts what of a mapping is already in memory (the rules of the charge
 * itself, and of giving back, are the account's: account.c).
 *
 * The budget is computed once, by the constructor (before any thread of
 * ours exists); no lock: the result is published with an atomic store and
 * only read after.  The cgroup's headroom is also read, periodically, by
 * pressure.c; MemAvailable comes from sys/meminfo.c, the group's path from
 * sys/cgroup.c.
 *
 * Counting (measured on Linux 6.18, as nobody, a cold file of root's, mode
 * 0644): mincore(2) on a mapping of a file the process may not write reports
 * every page resident, cold ones too (mm/mincore.c, can_do_mincore: the
 * owner, or one who may open the file for writing, sees the page cache), so
 * a charge counted that way was 0 and no MADV_WILLNEED was issued: the
 * pages came in one MADV_POPULATE_READ fault at a time, 4 KiB at a time under
 * MADV_RANDOM (35 MiB/s against 1.2 GB/s).  cachestat(2) refuses the same
 * files (EPERM), so it cannot help there, and asking it takes a descriptor
 * of the file (seen by the program's inotify watches); the kernel's rule is
 * asked instead, with faccessat(W_OK, AT_EACCESS) and the owner, and such
 * files are counted by the pages this process maps (/proc/self/pagemap).
 *
 * Lock rule: count_lock guards the small per-file cache of counting modes;
 * it is held only to look up or store one slot, never across a system call.
 */
#include "core/budget.h"
#include "sys/advise.h"
#include "sys/cgroup.h"
#include "sys/meminfo.h"
#include "core/options.h"
#include "sys/pagemap.h"
#include "sys/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COUNT_SLOTS 32

static uint64_t budget;

static uint64_t read_u64(const char *dir, const char *name)
{
	char path[600], buf[64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (pf_read_small(path, buf, sizeof buf) < 0 || !strncmp(buf, "max", 3))
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

/* The cgroup's limit minus its usage, or UINT64_MAX when unlimited: the
 * smaller limit of the v1 memory hierarchy's group and the v2 one's. */
uint64_t pf_cgroup_headroom(void)
{
	char buf[2048], group[579], dir[600]; /* dir holds "/sys/fs/cgroup/memory" and group */
	uint64_t limit = UINT64_MAX, usage = 0;
	if (pf_cgroup_own("memory", group, sizeof group, buf, sizeof buf)) {
		snprintf(dir, sizeof dir, "/sys/fs/cgroup/memory%s", group);
		uint64_t l = read_u64(dir, "memory.limit_in_bytes");
		if (l < limit && l < (1ull << 60)) {
			limit = l;
			usage = read_u64(dir, "memory.usage_in_bytes");
		}
	}
	if (pf_cgroup_own(NULL, group, sizeof group, buf, sizeof buf)) {
		snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", group);
		uint64_t l = read_u64(dir, "memory.max");
		if (l < limit) {
			limit = l;
			usage = read_u64(dir, "memory.current");
		}
	}
	if (limit == UINT64_MAX)
		return UINT64_MAX;
	return usage < limit ? limit - usage : 0;
}

uint64_t pf_budget_compute(void)
{
	uint64_t b = pf_opt.budget_bytes;
	if (!b) {
		uint64_t avail = pf_mem_available(), room = pf_cgroup_headroom();
		if (room < avail)
			avail = room;
		b = avail / 100 * pf_opt.budget_percent;
	}
	__atomic_store_n(&budget, b, __ATOMIC_RELEASE);
	return b;
}

uint64_t pf_budget_limit(void)
{
	return __atomic_load_n(&budget, __ATOMIC_ACQUIRE);
}

static struct {
	dev_t dev;
	ino_t ino;
	enum pf_count mode;
	bool used;
} count_cache[COUNT_SLOTS];
static unsigned count_next;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static bool count_lookup(dev_t dev, ino_t ino, enum pf_count *mode)
{
	bool found = false;
	pthread_mutex_lock(&count_lock);
	for (unsigned i = 0; i < COUNT_SLOTS && !found; i++) {
		if (count_cache[i].used && count_cache[i].dev == dev && count_cache[i].ino == ino) {
			*mode = count_cache[i].mode;
			found = true;
		}
	}
	pthread_mutex_unlock(&count_lock);
	return found;
}

static void count_store(dev_t dev, ino_t ino, enum pf_count mode)
{
	pthread_mutex_lock(&count_lock);
	unsigned i = count_next++ % COUNT_SLOTS;
	count_cache[i].dev = dev;
	count_cache[i].ino = ino;
	count_cache[i].mode = mode;
	count_cache[i].used = true;
	pthread_mutex_unlock(&count_lock);
}

enum pf_count pf_count_mode(const char *path, dev_t dev, ino_t ino)
{
	enum pf_count mode;
	if (count_lookup(dev, ino, &mode))
		return mode;
	int saved = errno;
	struct stat st;
	if (path[0] == '/' && stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		/* The kernel's rule for mincore (and cachestat): the owner, or
		 * one who may open the file for writing, sees the page cache. */
		mode = st.st_uid == geteuid() || faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0 ?
			PF_COUNT_CACHE : PF_COUNT_MAPPED;
	else
		/* The path names another file now (replaced, deleted): root
		 * may write anything; anyone else is counted the safe way. */
		mode = geteuid() == 0 ? PF_COUNT_CACHE : PF_COUNT_MAPPED;
	errno = saved;
	count_store(dev, ino, mode);
	return mode;
}

long pf_count_resident(enum pf_count mode, uintptr_t addr, size_t len)
{
	long res = pf_resident_pages(addr, len); /* also: is it still mapped? */
	if (res < 0 || mode == PF_COUNT_CACHE)
		return res;
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t ent[512];
	int saved = errno;
	int fd = pf_pagemap_open();
	if (fd < 0)
		return 0; /* nothing counted: the charge errs high */
	long present = 0;
	size_t pages = (len + page - 1) / page;
	for (size_t i = 0; i < pages;) {
		size_t n = pages - i < 512 ? pages - i : 512;
		size_t got = pf_pagemap_read(fd, addr + i * page, ent, n);
		for (size_t k = 0; k < got; k++)
			present += (ent[k] & PF_PM_PRESENT) != 0;
		if (got < n)
			break;
		i += n;
	}
	close(fd);
	errno = saved;
	return present;
}

void pf_budget_prefork(void)
{
	pthread_mutex_lock(&count_lock);
}

void pf_budget_postfork_parent(void)
{
	pthread_mutex_unlock(&count_lock);
}

void pf_budget_postfork_child(void)
{
	pthread_mutex_init(&count_lock, NULL);
}
