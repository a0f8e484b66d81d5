/*
 * procstat.c - fault counts and off-CPU time of the program's own threads
 * versus prefault's, from /proc.
 *
 * The process totals (/proc/self/stat) include threads that have exited;
 * prefault's threads are counted one by one (/proc/self/task/TID/stat) and
 * each adds its own getrusage(RUSAGE_THREAD) counts to a total as it exits,
 * so the program's share is the difference.  Off-CPU time (wall time since
 * a thread started minus its CPU time) covers live threads only, and so
 * does blocked I/O time (field 42, delayacct_blkio_ticks), which the kernel
 * counts only with delay accounting on (kernel.task_delayacct=1); it is
 * reported as unknown otherwise.  Called by prefault's threads (and the
 * destructor) only; the exited-helper totals are atomics.
 *
 * The proc record's per-mapping part (pf_procstat_diag_json) is here too:
 * pages of each tracked mapping present in this process, from
 * /proc/self/pagemap (bit 63), and the program's major faults attributed to
 * it (attrib.c).  Its cost is bounded: at most MAX_LISTED mappings a record
 * and PAGEMAP_PAGES pages read a record; a mapping with more pages than its
 * share is sampled in evenly spaced blocks of SAMPLE_BLOCK pages and its
 * count is scaled (the record gives "sampled" beside "pages").  It runs
 * under stats.c's proc_lock, which guards the static snapshot below.
 */
#include "lib/attrib.h"
#include "sys/pagemap.h"
#include "work/helpers.h"
#include "sys/procfs.h"
#include "work/stats.h"
#include "core/table.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t exited_majflt, exited_minflt;

#define MAX_LISTED 64
#define PAGEMAP_PAGES 65536
#define SAMPLE_BLOCK 256

struct task_stat {
	uint64_t minflt, majflt, cpu_ticks, start_ticks, blkio_ticks;
};

static int read_stat(const char *path, struct task_stat *ts)
{
	unsigned long long v[43];
	if (pf_read_stat_fields(path, v, 43) != 0)
		return -1;
	/* minflt 10, majflt 12, utime 14, stime 15, start 22, blkio 42. */
	ts->minflt = v[10];
	ts->majflt = v[12];
	ts->cpu_ticks = v[14] + v[15];
	ts->start_ticks = v[22];
	ts->blkio_ticks = v[42];
	return 0;
}

static double now_ticks(void)
{
	struct timespec t;
	clock_gettime(CLOCK_BOOTTIME, &t);
	return ((double)t.tv_sec + (double)t.tv_nsec / 1e9) * (double)sysconf(_SC_CLK_TCK);
}

static void add(struct pf_faults *f, const struct task_stat *ts, double now, double ms_per_tick)
{
	f->threads++;
	f->blkio_ms += (double)ts->blkio_ticks * ms_per_tick;
	double off = now - (double)ts->start_ticks - (double)ts->cpu_ticks;
	if (off > 0)
		f->offcpu_ms += off * ms_per_tick;
}

/* kernel.task_delayacct: read each time, it can be switched at run time. */
static bool delayacct_on(void)
{
	char buf[8];
	return pf_read_small("/proc/sys/kernel/task_delayacct", buf, sizeof buf) > 0 && buf[0] == '1';
}

void pf_procstat_read(struct pf_faults *program, struct pf_faults *helpers)
{
	memset(program, 0, sizeof *program);
	memset(helpers, 0, sizeof *helpers);
	struct task_stat total = { 0 }, ts;
	read_stat("/proc/self/stat", &total);
	double now = now_ticks(), ms_per_tick = 1000.0 / (double)sysconf(_SC_CLK_TCK);

	DIR *d = opendir("/proc/self/task");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[300];
			snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
			if (read_stat(path, &ts))
				continue;
			if (pf_helper_tid_known(atoi(de->d_name))) {
				helpers->majflt += ts.majflt;
				helpers->minflt += ts.minflt;
				add(helpers, &ts, now, ms_per_tick);
			} else {
				add(program, &ts, now, ms_per_tick);
			}
		}
		closedir(d);
	}
	program->blkio = helpers->blkio = delayacct_on();
	helpers->majflt += __atomic_load_n(&exited_majflt, __ATOMIC_RELAXED);
	helpers->minflt += __atomic_load_n(&exited_minflt, __ATOMIC_RELAXED);
	program->majflt = total.majflt > helpers->majflt ? total.majflt - helpers->majflt : 0;
	program->minflt = total.minflt > helpers->minflt ? total.minflt - helpers->minflt : 0;
}

void pf_procstat_helper_exiting(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) == 0) {
		__atomic_add_fetch(&exited_majflt, (uint64_t)ru.ru_majflt, __ATOMIC_RELAXED);
		__atomic_add_fetch(&exited_minflt, (uint64_t)ru.ru_minflt, __ATOMIC_RELAXED);
	}
}

static struct {
	uintptr_t start;
	size_t len;
	uint64_t id;
} listed[MAX_LISTED];

/* Pages present among n pages from page index first (fd: pagemap). */
static long present(int fd, uintptr_t first, size_t n)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uint64_t ent[512];
	long count = 0;
	while (n > 0) {
		size_t k = pf_pagemap_read(fd, first * page, ent, n < 512 ? n : 512);
		if (k == 0)
			return -1;
		for (size_t i = 0; i < k; i++)
			count += (ent[i] & PF_PM_PRESENT) != 0;
		first += k;
		n -= k;
	}
	return count;
}

size_t pf_procstat_diag_json(char *buf, size_t size)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned n = 0, omitted = 0;
	pf_attrib_drain();
	pf_table_lock();
	for (struct pf_mapping *m = pf_table_head_locked(); m; m = m->hh.next) {
		if (n == MAX_LISTED) {
			omitted++;
			continue;
		}
		listed[n].start = m->start;
		listed[n].len = m->len;
		listed[n].id = m->id;
		n++;
	}
	pf_table_unlock();

	size_t o = pf_attrib_json(buf, size);
	int fd = pf_pagemap_open();
	o += (size_t)snprintf(buf + o, size > o ? size - o : 0, ",\"residency\":\"%s\",\"mappings\":[",
			      fd >= 0 ? "pagemap" : "unavailable");
	size_t share = n ? PAGEMAP_PAGES / n : 0;
	if (share < 4 * SAMPLE_BLOCK)
		share = 4 * SAMPLE_BLOCK;
	for (unsigned i = 0; i < n && o + 200 < size; i++) {
		size_t pages = (listed[i].len + page - 1) / page, sampled = 0;
		uintptr_t first = listed[i].start / page;
		long res = -1;
		if (fd >= 0 && pages <= share) {
			res = present(fd, first, pages);
			sampled = pages;
		} else if (fd >= 0) {
			size_t blocks = share / SAMPLE_BLOCK;
			long got = 0;
			for (size_t b = 0; b < blocks && got >= 0; b++) {
				size_t at = (size_t)((double)b * (double)(pages - SAMPLE_BLOCK) / (double)(blocks - 1));
				long p = present(fd, first + at, SAMPLE_BLOCK);
				got = p < 0 ? -1 : got + p;
				sampled += SAMPLE_BLOCK;
			}
			if (got >= 0)
				res = (long)((double)got * (double)pages / (double)sampled + 0.5);
		}
		uint64_t majflt;
		double first_t;
		int known = pf_attrib_mapping(listed[i].id, &majflt, &first_t);
		char fault[80] = "", when[48] = "";
		if (known)
			snprintf(fault, sizeof fault, ",\"majflt\":%" PRIu64, majflt);
		if (known && majflt)
			snprintf(when, sizeof when, ",\"first_fault\":%.6f", first_t);
		o += (size_t)snprintf(buf + o, size - o,
				      "%s{\"id\":%" PRIu64 ",\"pages\":%zu,\"resident\":%ld,\"sampled\":%zu%s%s}",
				      i ? "," : "", listed[i].id, pages, res, sampled, fault, when);
	}
	if (fd >= 0)
		close(fd);
	if (o < size)
		o += (size_t)snprintf(buf + o, size - o, "],\"mappings_omitted\":%u", omitted);
	return o < size ? o : size - 1;
}
