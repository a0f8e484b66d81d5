/*
 * attrib.c - which mappings the program's own major faults land in, from
 * perf software events sampling every major fault (see attrib.h).
 *
 * Design: one PERF_COUNT_SW_PAGE_FAULTS_MAJ event per program thread
 * (sample_period 1, address, thread id and CLOCK_MONOTONIC time), each with
 * a small ring buffer.  The kernel refuses to map the buffer of an
 * inherited per-task event, so inherit cannot follow new threads: the
 * constructor opens the main thread's (the only one then), and each drain
 * (every proc record, and every 250 ms while a helper works) lists
 * /proc/self/task, opens an event for each program thread it has not seen
 * and unmaps those of threads that are gone (a thread is its id and start
 * time).  Faults a thread takes before its event is opened are not sampled:
 * the program's major fault count (procstat.c) minus sampled and lost is
 * what attribution missed, and the report shows it.  exclude_kernel=1 is
 * what an unprivileged process may open at perf_event_paranoid 2, and it
 * is enough: the program's faults on a mapping are taken in user mode,
 * whereas the helpers' MADV_POPULATE_READ faults pages in from the kernel.
 * Sample addresses are looked up in a sorted copy of the table's ranges.
 * The kernel counts what did not fit in a ring as PERF_RECORD_LOST.
 *
 * Descriptors: each is closed as soon as its ring is mapped (the mapping
 * holds the event), rings are mapped with the raw system call (no hook sees
 * them), and the kernel does not copy them into a fork child (VM_DONTCOPY):
 * the child starts afresh from the fork handler.  At most MAX_THREADS
 * threads are watched; beyond, they are counted as unwatched.
 *
 * Lock rule: attrib_lock guards everything below; it is taken before
 * table_lock (to copy the ranges) and never by a hook.
 */
#include "lib/attrib.h"
#include "work/helpers.h"
#include "sys/clock.h"
#include "core/options.h"
#include "sys/perfring.h"
#include "sys/procfs.h"
#include "sys/real.h"
#include "core/report.h"
#include "core/table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_IDS 512     /* mappings counted one by one; the rest are "untracked" */
#define MAX_RANGES 1024 /* ranges looked up per drain */
#define MAX_THREADS 64  /* threads watched at once */
#define RING_PAGES 8    /* data pages a thread: 1024 samples */

struct acc {
	uint64_t id;
	uint64_t majflt;
	int64_t first_ns;  /* CLOCK_MONOTONIC of the first sample */
};

struct range {
	uintptr_t start, end;
	uint64_t id;
};

struct watched {
	int tid;                          /* 0: free slot */
	unsigned long long start;         /* the thread's start time (stat field 22) */
	struct perf_event_mmap_page *ring;
	size_t pages;                     /* data pages */
	bool seen;                        /* listed by the current drain */
};

static pthread_mutex_t attrib_lock = PTHREAD_MUTEX_INITIALIZER;
static bool active;                        /* perf works in this process */
static pid_t owner;                        /* the process the rings count */
static char why[200] = "statistics are off";
static uint64_t sampled, lost, untracked, in_helpers, unwatched;
static struct acc accs[MAX_IDS];
static unsigned naccs;
static struct range ranges[MAX_RANGES];
static struct watched threads[MAX_THREADS];
static bool watch_children;                /* the constructor watched: fork children do */

static void unavailable(const char *what, int err)
{
	char paranoid[16] = "";
	if (pf_read_small("/proc/sys/kernel/perf_event_paranoid", paranoid, sizeof paranoid) < 0)
		paranoid[0] = '\0';
	paranoid[strcspn(paranoid, "\n")] = '\0';
	const char *name = strerrorname_np(err);
	snprintf(why, sizeof why, "%s: %s (kernel.perf_event_paranoid=%s)", what,
		 name ? name : "error", paranoid[0] ? paranoid : "?");
}

/* Start time of a thread (stat field 22), 0 when it is gone. */
static unsigned long long thread_start(int tid)
{
	char path[64];
	unsigned long long v[23];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	return pf_read_stat_fields(path, v, 23) == 0 ? v[22] : 0;
}

/* Opens and maps the event of one thread into slot w; returns 0 or an
 * errno value.  attrib_lock held (or the constructor). */
static int watch(struct watched *w, int tid, unsigned long long start)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_PAGE_FAULTS_MAJ;
	a.sample_period = 1;
	a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.watermark = 1;
	a.wakeup_watermark = 1u << 30; /* nobody polls: never wake anyone */
	int fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return errno;
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int err = 0;
	/* Fewer pages when the locked-memory limit says no. */
	for (size_t pages = RING_PAGES; pages >= 1; pages /= 4) {
		void *p = pf_sys_mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED) {
			*w = (struct watched){ tid, start, p, pages, true };
			break;
		}
		err = errno;
	}
	close(fd);
	return w->tid == tid ? 0 : err;
}

static void start_watching(void)
{
	int tid = (int)syscall(SYS_gettid);
	int err = watch(&threads[0], tid, thread_start(tid));
	if (err) {
		unavailable(err == EINVAL || err == EPERM ? "mmap of a perf buffer" : "perf_event_open", err);
		return;
	}
	owner = getpid();
	active = true;
	why[0] = '\0';
}

void pf_attrib_init(void)
{
	if (!pf_stats_enabled())
		return;
	start_watching();
	watch_children = true;
}

static int by_start(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Copies the table's ranges, sorted; attrib_lock held. */
static unsigned copy_ranges(void)
{
	unsigned n = 0;
	pf_table_lock();
	for (struct pf_mapping *m = pf_table_head_locked(); m && n < MAX_RANGES; m = m->hh.next)
		ranges[n++] = (struct range){ m->start, m->start + m->len, m->id };
	pf_table_unlock();
	qsort(ranges, n, sizeof ranges[0], by_start);
	return n;
}

static const struct range *lookup(unsigned n, uintptr_t addr)
{
	unsigned lo = 0, hi = n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (addr < ranges[mid].start)
			hi = mid;
		else if (addr >= ranges[mid].end)
			lo = mid + 1;
		else
			return &ranges[mid];
	}
	return NULL;
}

static void charge(uint64_t id, int64_t t_ns)
{
	for (unsigned i = 0; i < naccs; i++) {
		if (accs[i].id == id) {
			accs[i].majflt++;
			if (t_ns < accs[i].first_ns)
				accs[i].first_ns = t_ns;
			return;
		}
	}
	if (naccs == MAX_IDS) {
		untracked++;
		return;
	}
	accs[naccs++] = (struct acc){ id, 1, t_ns };
}

static void drain_one(const struct watched *w, unsigned n, pid_t self)
{
	struct pf_perfring pr;
	struct perf_event_header h;
	pf_perfring_begin(&pr, w->ring);
	while (pf_perfring_next(&pr, &h)) {
		if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof h + 24) {
			struct { uint32_t pid, tid; uint64_t time, addr; } s;
			pf_perfring_copy(&pr, sizeof h, &s, sizeof s);
			if ((pid_t)s.pid != self) {
				/* not ours */
			} else if (pf_helper_tid_known((int)s.tid)) {
				in_helpers++;
			} else {
				sampled++;
				const struct range *r = lookup(n, (uintptr_t)s.addr);
				if (r)
					charge(r->id, (int64_t)s.time);
				else
					untracked++;
			}
		} else if (h.type == PERF_RECORD_LOST && h.size >= sizeof h + 16) {
			uint64_t l[2];
			pf_perfring_copy(&pr, sizeof h, l, sizeof l);
			lost += l[1];
		}
	}
	pf_perfring_end(&pr);
}

/* Watches program threads not yet watched, marks the ones still alive;
 * attrib_lock held. */
static void list_threads(void)
{
	for (unsigned i = 0; i < MAX_THREADS; i++)
		threads[i].seen = false;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name);
		if (tid <= 0 || pf_helper_tid_known(tid))
			continue;
		unsigned long long start = thread_start(tid);
		struct watched *free_slot = NULL;
		bool known = false;
		for (unsigned i = 0; i < MAX_THREADS && !known; i++) {
			if (threads[i].tid == tid && threads[i].start == start)
				known = threads[i].seen = true;
			else if (!threads[i].tid && !free_slot)
				free_slot = &threads[i];
		}
		if (known || !start)
			continue;
		if (!free_slot || watch(free_slot, tid, start))
			unwatched++;
	}
	closedir(d);
}

void pf_attrib_drain(void)
{
	pthread_mutex_lock(&attrib_lock);
	if (!active || owner != getpid()) {
		pthread_mutex_unlock(&attrib_lock);
		return;
	}
	list_threads();
	unsigned n = copy_ranges();
	pid_t self = getpid();
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (unsigned i = 0; i < MAX_THREADS; i++) {
		struct watched *w = &threads[i];
		if (!w->tid)
			continue;
		drain_one(w, n, self);
		if (!w->seen) { /* the thread is gone: its event with it */
			pf_sys_munmap(w->ring, (w->pages + 1) * page);
			memset(w, 0, sizeof *w);
		}
	}
	pthread_mutex_unlock(&attrib_lock);
}

size_t pf_attrib_json(char *buf, size_t size)
{
	int n;
	pthread_mutex_lock(&attrib_lock);
	unsigned watching = 0;
	for (unsigned i = 0; i < MAX_THREADS; i++)
		watching += threads[i].tid != 0;
	if (active && owner == getpid())
		n = snprintf(buf, size,
			     ",\"attribution\":\"perf\",\"majflt_sampled\":%llu,\"majflt_lost\":%llu,"
			     "\"majflt_untracked\":%llu,\"threads_watched\":%u,\"threads_unwatched\":%llu",
			     (unsigned long long)sampled, (unsigned long long)lost,
			     (unsigned long long)untracked, watching, (unsigned long long)unwatched);
	else
		n = snprintf(buf, size, ",\"attribution\":\"unavailable\",\"why\":\"%s\"",
			     why[0] ? why : "not opened in this process");
	pthread_mutex_unlock(&attrib_lock);
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

int pf_attrib_mapping(uint64_t id, uint64_t *majflt, double *first_t)
{
	*majflt = 0;
	*first_t = 0;
	pthread_mutex_lock(&attrib_lock);
	int ok = active && owner == getpid();
	for (unsigned i = 0; ok && i < naccs; i++) {
		if (accs[i].id == id) {
			*majflt = accs[i].majflt;
			*first_t = pf_now() - (double)(pf_now_ns() - accs[i].first_ns) / 1e9;
			break;
		}
	}
	pthread_mutex_unlock(&attrib_lock);
	return ok;
}

void pf_attrib_postfork_child(void)
{
	pthread_mutex_init(&attrib_lock, NULL);
	if (!watch_children)
		return;
	/* VM_DONTCOPY: the parent's rings are not in this process. */
	memset(threads, 0, sizeof threads);
	active = false;
	sampled = lost = untracked = in_helpers = unwatched = 0;
	naccs = 0;
	start_watching();
}
