/*
 * diag_faults FILE - the kernel's own figures, to check the diagnostic
 * report against (tests/diag.bats).
 *
 * Maps FILE (cold), and while prefault brings it in, the main thread and a
 * second program thread touch pages near its end (where the helper gets
 * last), counting their own major faults with getrusage(RUSAGE_THREAD).
 * The second thread touches once prefault watches it (where attribution
 * works, its perf ring is mapped beside the main thread's, which the
 * library's constructor maps: at most TL_DEADLINE_S, testlib.h).
 * Then it waits until the report ($PREFAULT_STATS, a path) has the
 * mapping's done record, or prefault's helpers have exited (at most
 * TL_DEADLINE_S), and 300 ms more, and prints, as key=value lines:
 *   touch_majflt   major faults the two threads took touching the mapping
 *   self_majflt    getrusage(RUSAGE_SELF): every thread, live or exited
 *   prog_majflt    /proc/self/task/TID/stat field 12, summed over the
 *                  program's live threads (not named prefault*)
 *   pages present  /proc/self/pagemap bit 63 over the mapping
 * and exits through exit(), so the library's destructor writes the last
 * proc record right after: nothing faults in between.  The second thread
 * is still alive then.
 */
#include "testlib.h"

#include <pthread.h>

static char *map;
static size_t len;
static long worker_faults;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stage;

/* Perf rings mapped in this process (attrib.c maps one per watched thread). */
static int perf_rings(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof line, f))
		n += strstr(line, "[perf_event]") != NULL;
	if (f)
		fclose(f);
	return n;
}

static long touch(size_t from, size_t to, unsigned seed)
{
	size_t page = tl_page();
	long before = tl_thread_majflt();
	volatile uint64_t sum = 0;
	for (int i = 0; i < 200; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t at = from + ((size_t)seed % ((to - from) / page)) * page;
		sum += *(volatile uint64_t *)(map + at);
	}
	(void)sum;
	return tl_thread_majflt() - before;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	while (stage < 1)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	/* Until prefault watches this thread too (when it watches any). */
	double until = tl_now() + TL_DEADLINE_S;
	if (perf_rings() > 0) /* the main thread's: attribution works */
		while (perf_rings() < 2 && tl_now() < until)
			tl_sleep_ms(1);
	long f = touch(len / 2, len / 2 + len / 4, 7);
	pthread_mutex_lock(&lock);
	worker_faults = f;
	stage = 2;
	pthread_cond_broadcast(&cond);
	while (stage < 3) /* alive until the process exits */
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static int report_has_done(void)
{
	const char *path = getenv("PREFAULT_STATS");
	char buf[65536];
	int found = 0;
	FILE *f = path ? fopen(path, "r") : NULL;
	while (f && !found && fgets(buf, sizeof buf, f))
		found = strstr(buf, "\"ev\":\"done\"") != NULL;
	if (f)
		fclose(f);
	return found;
}

static int helpers_alive(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d))) {
		char path[300], comm[32] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof comm, f) && !strncmp(comm, "prefault", 8))
				n++;
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return n;
}

static long program_task_majflt(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	long sum = 0;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300], comm[32] = "", buf[1024];
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
		if (!strncmp(comm, "prefault", 8))
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/stat", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *p = strrchr(buf, ')');
		unsigned long v = 0;
		for (int field = 3; p && field <= 12; field++) {
			p = strchr(p + 1, ' ');
			if (p && field == 12) /* p: the space before field 12 */
				v = strtoul(p + 1, NULL, 10);
		}
		sum += (long)v;
	}
	if (d)
		closedir(d);
	return sum;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: diag_faults FILE\n");
		return 2;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL))
		tl_die("pthread_create");
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		tl_die("open %s", argv[1]);
	len = (size_t)st.st_size;
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	pthread_mutex_lock(&lock);
	stage = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	long mine = touch(len - len / 4, len, 3);
	pthread_mutex_lock(&lock);
	while (stage < 2)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);

	int i, n = (int)(TL_DEADLINE_S * 10);
	for (i = 0; i < n && helpers_alive() && !report_has_done(); i++)
		tl_sleep_ms(100);
	if (i == n)
		tl_die("no done record after %.0f s", TL_DEADLINE_S);
	tl_sleep_ms(300);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("touch_majflt=%ld\nself_majflt=%ld\nprog_majflt=%ld\npages=%zu\npresent=%zu\n",
	       mine + worker_faults, ru.ru_majflt, program_task_majflt(),
	       (len + tl_page() - 1) / tl_page(), tl_present(map, len));
	fflush(stdout);
	exit(0);
}
