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
#include "sys/taskstat.h"
#include "work/stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void pfc_procstat_read(struct pf_faults *program, struct pf_faults *helpers)
{
	memset(program, 0, sizeof *program);
	memset(helpers, 0, sizeof *helpers);
	pfc_follow_faults(&program->majflt, &program->minflt, &program->threads);

	struct pf_task_stat self, ts;
	if (pf_task_stat_read("/proc/self/stat", &self) == 0) {
		helpers->majflt = self.majflt;
		helpers->minflt = self.minflt;
		helpers->threads = self.threads;
	}
	double hz = (double)sysconf(_SC_CLK_TCK), now = pf_task_ticks_now();
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		char path[300];
		if (de->d_name[0] == '.' || !pf_helper_tid_known(atoi(de->d_name)))
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
		if (pf_task_stat_read(path, &ts))
			continue;
		helpers->offcpu_ms += pf_task_offcpu_ticks(&ts, now) * 1000.0 / hz;
	}
	closedir(d);
}
