/*
 * procstat.c - the proc records' fault counts, from the companion's side.
 *
 * The companion's fault reader, which main.c registers with the statistics
 * (struct pf_stats_host's read_faults) in place of the library's
 * pf_procstat_read (shim/work/procstat.c, which splits one process's
 * threads into the program's and prefault's): here "program" is the target
 * and the processes followed with it (their /proc/PID/stat, as follow.c last
 * read it, plus those that have exited), and "helpers" is the companion
 * process as a whole.  offcpu_ms is the companion's helper threads' wall time
 * minus their CPU time; for the target it is not measured (0).  Called by
 * helper threads and the main thread; follow.c's procs_lock guards the
 * target's counts.
 */
#include "procstat.h"
#include "companion.h"

#include "work/helpers.h"
#include "sys/procfs.h"
#include "work/stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct task_stat {
	uint64_t minflt, majflt, cpu_ticks, start_ticks;
	unsigned threads;
};

static int read_stat(const char *path, struct task_stat *ts)
{
	unsigned long long v[23];
	if (pf_read_stat_fields(path, v, 23) != 0)
		return -1;
	ts->minflt = v[10];
	ts->majflt = v[12];
	ts->cpu_ticks = v[14] + v[15];
	ts->threads = (unsigned)v[20];
	ts->start_ticks = v[22];
	return 0;
}

void pfc_procstat_read(struct pf_faults *program, struct pf_faults *helpers)
{
	memset(program, 0, sizeof *program);
	memset(helpers, 0, sizeof *helpers);
	pfc_follow_faults(&program->majflt, &program->minflt, &program->threads);

	struct task_stat self, ts;
	if (read_stat("/proc/self/stat", &self) == 0) {
		helpers->majflt = self.majflt;
		helpers->minflt = self.minflt;
		helpers->threads = self.threads;
	}
	struct timespec t;
	clock_gettime(CLOCK_BOOTTIME, &t);
	double hz = (double)sysconf(_SC_CLK_TCK);
	double now = ((double)t.tv_sec + (double)t.tv_nsec / 1e9) * hz;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[300];
		if (de->d_name[0] == '.' || !pf_helper_tid_known(atoi(de->d_name)))
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
		if (read_stat(path, &ts))
			continue;
		double off = now - (double)ts.start_ticks - (double)ts.cpu_ticks;
		if (off > 0)
			helpers->offcpu_ms += off * 1000.0 / hz;
	}
	closedir(d);
}
