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
 * destructor) only; the exited-helper totals are atomics.  The library's
 * per-mapping part of the proc record is lib/residency.c's.
 */
#include "sys/procfs.h"
#include "work/helpers.h"
#include "work/stats.h"

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
