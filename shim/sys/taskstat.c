/*
 * taskstat.c - a thread's or a process's stat line (see taskstat.h).
 */
#include "sys/taskstat.h"
#include "sys/procfs.h"

#include <time.h>
#include <unistd.h>

int pf_task_stat_read(const char *path, struct pf_task_stat *ts)
{
	unsigned long long v[43];
	if (pf_read_stat_fields(path, v, 43) != 0)
		return -1;
	/* minflt 10, majflt 12, utime 14, stime 15, threads 20, start 22,
	 * blkio 42 (proc(5)). */
	ts->minflt = v[10];
	ts->majflt = v[12];
	ts->cpu_ticks = v[14] + v[15];
	ts->threads = (unsigned)v[20];
	ts->start_ticks = v[22];
	ts->blkio_ticks = v[42];
	return 0;
}

double pf_task_ticks_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_BOOTTIME, &t);
	return ((double)t.tv_sec + (double)t.tv_nsec / 1e9) * (double)sysconf(_SC_CLK_TCK);
}

double pf_task_offcpu_ticks(const struct pf_task_stat *ts, double now)
{
	double off = now - (double)ts->start_ticks - (double)ts->cpu_ticks;
	return off > 0 ? off : 0;
}
