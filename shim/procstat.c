/*
 * procstat.c - fault counts and off-CPU time of the program's own threads
 * versus prefault's, from /proc.
 *
 * The process totals (/proc/self/stat) include threads that have exited;
 * prefault's threads are counted one by one (/proc/self/task/TID/stat) and
 * each adds its own getrusage(RUSAGE_THREAD) counts to a total as it exits,
 * so the program's share is the difference.  Off-CPU time (wall time since
 * a thread started minus its CPU time) covers live threads only.  Called by
 * prefault's threads only; the exited-helper totals are atomics.
 */
#include "engine.h"
#include "stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t exited_majflt, exited_minflt;

struct task_stat {
	uint64_t minflt, majflt, cpu_ticks, start_ticks;
};

/* Parses a stat file; fields counted after the last ')' (the name may hold
 * spaces and parentheses). */
static int read_stat(const char *path, struct task_stat *ts)
{
	char buf[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* p+2 is field 3 (state). */
	unsigned long long v[20] = { 0 };
	int field = 3;
	p += 2;
	while (*p && field <= 22) {
		char *end;
		if (field >= 4) {
			unsigned long long x = strtoull(p, &end, 10);
			if (field - 3 < 20)
				v[field - 3] = x;
			p = end;
		} else {
			while (*p && *p != ' ')
				p++;
		}
		while (*p == ' ')
			p++;
		field++;
	}
	/* v[k] holds field k+3: minflt 10, majflt 12, utime 14, stime 15, start 22. */
	ts->minflt = v[7];
	ts->majflt = v[9];
	ts->cpu_ticks = v[11] + v[12];
	ts->start_ticks = v[19];
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
	double off = now - (double)ts->start_ticks - (double)ts->cpu_ticks;
	if (off > 0)
		f->offcpu_ms += off * ms_per_tick;
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
