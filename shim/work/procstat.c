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
#include "sys/taskstat.h"
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

static void add(struct pf_faults *f, const struct pf_task_stat *ts, double now, double ms_per_tick)
{
	f->threads++;
	f->blkio_ms += (double)ts->blkio_ticks * ms_per_tick;
	f->offcpu_ms += pf_task_offcpu_ticks(ts, now) * ms_per_tick;
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
	struct pf_task_stat total = { 0 }, ts;
	pf_task_stat_read("/proc/self/stat", &total);
	double now = pf_task_ticks_now(), ms_per_tick = 1000.0 / (double)sysconf(_SC_CLK_TCK);

	DIR *d = opendir("/proc/self/task");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char path[300];
			snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
			if (pf_task_stat_read(path, &ts))
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
