/*
 * budget.c - how much the helpers may bring in: PREFAULT_BUDGET as a size,
 * or as a share of the memory that is available to this process (the
 * smaller of MemAvailable and the cgroup's headroom, v2 or v1).
 *
 * Computed once, by the constructor (before any thread of ours exists); no
 * lock: the result is published with an atomic store and only read after.
 * The memory readers are also used, periodically, by pressure.c.
 */
#include "budget.h"
#include "engine.h"
#include "options.h"
#include "procfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t budget;

static int read_file(const char *path, char *buf, size_t size)
{
	return pf_read_small(path, buf, size) < 0 ? -1 : 0;
}

uint64_t pf_mem_available(void)
{
	char buf[4096];
	if (read_file("/proc/meminfo", buf, sizeof buf))
		return 0;
	const char *p = strstr(buf, "MemAvailable:");
	return p ? strtoull(p + 13, NULL, 10) * 1024 : 0;
}

static uint64_t read_u64(const char *dir, const char *name)
{
	char path[600], buf[64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (read_file(path, buf, sizeof buf) || !strncmp(buf, "max", 3))
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

/* The cgroup's limit minus its usage, or UINT64_MAX when unlimited. */
uint64_t pf_cgroup_headroom(void)
{
	char buf[2048], dir[600];
	if (read_file("/proc/self/cgroup", buf, sizeof buf))
		return UINT64_MAX;
	uint64_t limit = UINT64_MAX, usage = 0;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path = strrchr(line, ':');
		if (!path)
			continue;
		if (!strncmp(line, "0::", 3)) {
			snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", path + 1);
			uint64_t l = read_u64(dir, "memory.max");
			if (l < limit) {
				limit = l;
				usage = read_u64(dir, "memory.current");
			}
		} else if (strstr(line, ":memory:")) {
			snprintf(dir, sizeof dir, "/sys/fs/cgroup/memory%s", path + 1);
			uint64_t l = read_u64(dir, "memory.limit_in_bytes");
			if (l < limit && l < (1ull << 60)) {
				limit = l;
				usage = read_u64(dir, "memory.usage_in_bytes");
			}
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

uint64_t pf_engine_budget(void)
{
	return __atomic_load_n(&budget, __ATOMIC_ACQUIRE);
}
