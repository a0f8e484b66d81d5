/*
 * mapwatch.c - wakes the discovery thread the moment the program maps a file,
 * from perf side-band records (PERF_RECORD_MMAP2), so discovery need not poll
 * an idle program to find its next raw-syscall mapping (see mapwatch.h).
 *
 * Design
 *   One PERF_COUNT_SW_DUMMY event per CPU (the kernel refuses to map the ring
 *   of a per-task event that is inherited on every CPU), opened on the calling
 *   thread with inherit + inherit_thread: every thread it creates from then
 *   on, and theirs, is watched, fork children and exec'd images are not
 *   (inherit_thread, remove_on_exec).  pf_mapwatch_open() is called by the
 *   first hook call of a process glibc still calls single-threaded (in a cgo
 *   Go program, the runtime's first heap mmap in schedinit, before any other
 *   thread exists), and covers the whole program.  In a process that already
 *   had threads (a c-shared Go library started the runtime in its
 *   constructor), pf_mapwatch_open_threads() opens the same events for each
 *   thread of /proc/self/task, one by one, until a listing finds none it has
 *   not seen; past MAX_THREADS or MAX_RINGS discovery keeps polling.
 *
 *   Each event's ring (one data page) is mapped with the raw system call, the
 *   event is told to signal MAPWATCH_SIGNAL with every record
 *   (wakeup_watermark 1), to the discovery thread only (F_SETOWN_EX with
 *   F_OWNER_TID: the program never sees it; that thread blocks every signal
 *   and takes this one with sigtimedwait), and the descriptor is closed: the
 *   ring's mapping keeps the event alive, and the notification with it.
 *   Between open and close the program is inside the hook that called
 *   pf_mapwatch_open(), its only thread, so it cannot touch the descriptors.
 *
 *   pf_mapwatch_wait() drains the rings (sys/perfring.c): each record of a readable file
 *   mapping of this process (name starting with '/', not "//anon") is handed
 *   to discovery (address, length, offset, device, inode and the time it was
 *   made, CLOCK_MONOTONIC); a LOST record, or more records than the caller
 *   has room for, means "scan now".  Anonymous mappings (the Go heap) only
 *   wake the thread.
 *
 * Lock rules
 *   pf_mapwatch_open() runs in a hook, pf_mapwatch_open_threads() on the
 *   discovery thread, before that thread uses the rings (both publish them
 *   with a release store of `active`); afterwards only the discovery thread
 *   touches them.  No lock.
 */
#include "lib/mapwatch.h"
#include "sys/perfring.h"
#include "sys/real.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64  /* beyond: the per-user perf memory would not do */
#define MAX_THREADS 16 /* threads watched one by one (pf_mapwatch_open_threads) */
#define MAX_RINGS 128  /* rings, one per watched thread and CPU */
#define RING_PAGES 1 /* ~36 records; an overflow is a LOST record: a scan */

struct ring {
	struct perf_event_mmap_page *meta;
	size_t len; /* bytes mapped, meta page included */
};

static struct ring rings[MAX_RINGS];
static int nrings;
static atomic_bool active;
static pid_t owner;
static int why_not; /* errno of the step that failed, 0 if none */

/* Thread pid's side-band event on one CPU (pid 0: the calling thread): a
 * descriptor, or -1 with errno. */
static int open_event(pid_t pid, int cpu)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_DUMMY;
	a.mmap = 1;
	a.mmap_data = 1;
	a.mmap2 = 1;
	a.inherit = 1;
	a.inherit_thread = 1;
	a.remove_on_exec = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	a.watermark = 1;
	a.wakeup_watermark = 1;
	/* Each record carries when the mapping was made, on the clock the
	 * table stamps entries with (pf_table_clear_stale). */
	a.sample_id_all = 1;
	a.sample_type = PERF_SAMPLE_TIME;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	return (int)syscall(SYS_perf_event_open, &a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

int pf_mapwatch_probe(void)
{
	int saved = errno;
	int fd = open_event(0, 0);
	int err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return err;
}

/* One event and its ring, signalling thread notify; 0 or an errno value. */
static int open_ring(pid_t pid, int cpu, pid_t notify, size_t page, struct ring *r)
{
	int fd = open_event(pid, cpu);
	if (fd < 0)
		return errno;
	int err = 0;
	struct f_owner_ex to = { F_OWNER_TID, notify };
	size_t len = (RING_PAGES + 1) * page;
	void *p = pf_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		err = errno;
	else if (fcntl(fd, F_SETOWN_EX, &to) != 0 || fcntl(fd, F_SETSIG, MAPWATCH_SIGNAL) != 0 ||
		 fcntl(fd, F_SETFL, O_ASYNC) != 0) {
		err = errno;
		pf_sys_munmap(p, len);
	} else {
		*r = (struct ring){ p, len };
	}
	close(fd);
	return err;
}

static void close_rings(void)
{
	for (int i = 0; i < nrings; i++)
		pf_sys_munmap(rings[i].meta, rings[i].len);
	memset(rings, 0, sizeof rings);
	nrings = 0;
}

/* Thread pid (0: the caller) on every CPU; 0, ESRCH (it has exited), or
 * the errno that makes the watch fail. */
static int watch_thread(pid_t pid, pid_t notify)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (ncpu < 1 || ncpu > MAX_CPUS)
		return ERANGE;
	int first = nrings;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		if (nrings == MAX_RINGS)
			return E2BIG;
		int err = open_ring(pid, cpu, notify, page, &rings[nrings]);
		if (err == ENODEV)
			continue; /* an offline CPU */
		if (err == ESRCH) {
			while (nrings > first) {
				nrings--;
				pf_sys_munmap(rings[nrings].meta, rings[nrings].len);
			}
			return ESRCH;
		}
		if (err)
			return err;
		nrings++;
	}
	return 0;
}

static bool publish(int err, int saved)
{
	if (err) {
		close_rings();
		why_not = err;
		errno = saved;
		return false;
	}
	owner = getpid();
	atomic_store_explicit(&active, true, memory_order_release);
	errno = saved;
	return true;
}

bool pf_mapwatch_open(pid_t tid)
{
	int saved = errno;
	return publish(watch_thread(0, tid), saved);
}

/* Adds the threads of /proc/self/task not in seen[0..*n) (but self); the
 * number added, or -errno. */
static int watch_new_threads(pid_t self, pid_t *seen, int *n, int cap)
{
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096];
	int added = 0, err = 0;
	long got;
	while (!err && (got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long at = 0; at < got && !err;) {
			const struct dirent64 *d = (const struct dirent64 *)(const void *)(buf + at);
			at += d->d_reclen;
			pid_t tid = (pid_t)strtol(d->d_name, NULL, 10);
			bool known = tid <= 0 || tid == self;
			for (int i = 0; i < *n && !known; i++)
				known = seen[i] == tid;
			if (known)
				continue;
			if (*n == cap) {
				err = E2BIG;
				break;
			}
			int e = watch_thread(tid, self);
			if (e && e != ESRCH)
				err = e;
			seen[(*n)++] = tid;
			added++;
		}
	}
	close(fd);
	return err ? -err : added;
}

bool pf_mapwatch_open_threads(void)
{
	int saved = errno;
	pid_t self = (pid_t)syscall(SYS_gettid), seen[MAX_THREADS];
	int n = 0, added, rounds = 0;
	/* Until a listing finds no thread it had not seen: one created
	 * meanwhile by a thread not yet watched shows in the next. */
	do
		added = watch_new_threads(self, seen, &n, MAX_THREADS);
	while (added > 0 && ++rounds < 16);
	return publish(added < 0 ? -added : added > 0 ? EAGAIN : 0, saved);
}

bool pf_mapwatch_active(void)
{
	return atomic_load_explicit(&active, memory_order_acquire);
}

int pf_mapwatch_error(void)
{
	return why_not;
}

/* Reads one ring's new records into recs[*n..cap); returns MAPWATCH_*
 * flags. */
static int drain(struct ring *r, struct pf_maprec *recs, size_t cap, size_t *n)
{
	struct pf_perfring pr;
	struct perf_event_header h;
	int got = 0;

	pf_perfring_begin(&pr, r->meta);
	while (pf_perfring_next(&pr, &h)) {
		if (h.type == PERF_RECORD_LOST) {
			got |= MAPWATCH_LOST;
		} else if (h.type == PERF_RECORD_MMAP2 && h.size >= sizeof h + 64 + 8 + 8) {
			/* The fields read, and the name's first bytes. */
			unsigned char rec[64 + 8];
			pf_perfring_copy(&pr, sizeof h, rec, sizeof rec);
			uint32_t pid, prot;
			memcpy(&pid, rec, 4);
			memcpy(&prot, rec + 56, 4);
			const char *name = (const char *)rec + 64;
			if ((pid_t)pid == owner && (prot & PROT_READ) && name[0] == '/' &&
			    memcmp(name, "//anon", 6) != 0) {
				if (*n == cap) {
					got |= MAPWATCH_LOST;
				} else {
					struct pf_maprec *x = &recs[(*n)++];
					uint64_t addr, len, time;
					memcpy(&addr, rec + 8, 8);
					memcpy(&len, rec + 16, 8);
					memcpy(&x->pgoff, rec + 24, 8);
					memcpy(&x->maj, rec + 32, 4);
					memcpy(&x->min, rec + 36, 4);
					memcpy(&x->ino, rec + 40, 8);
					/* sample_id (the time alone) ends the record */
					pf_perfring_copy(&pr, h.size - 8, &time, 8);
					x->addr = (uintptr_t)addr;
					x->len = (size_t)len;
					x->t_ns = (int64_t)time;
					got |= MAPWATCH_FILE;
				}
			}
		}
		got |= MAPWATCH_WOKEN;
	}
	pf_perfring_end(&pr);
	return got;
}

int pf_mapwatch_wait(int64_t ns, struct pf_maprec *recs, size_t cap, size_t *n)
{
	sigset_t set;
	siginfo_t info;
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };
	sigemptyset(&set);
	sigaddset(&set, MAPWATCH_SIGNAL);
	int got = sigtimedwait(&set, &info, &ts) == MAPWATCH_SIGNAL ? MAPWATCH_WOKEN : 0;
	/* Several records may have been signalled at once: take them all. */
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&set, &info, &zero) == MAPWATCH_SIGNAL)
		got |= MAPWATCH_WOKEN;
	*n = 0;
	for (int i = 0; i < nrings; i++)
		got |= drain(&rings[i], recs, cap, n);
	return got;
}

void pf_mapwatch_after_fork_child(void)
{
	/* The rings are not copied into a child (VM_DONTCOPY), nor are the
	 * events (inherit_thread). */
	memset(rings, 0, sizeof rings);
	nrings = 0;
	atomic_store_explicit(&active, false, memory_order_relaxed);
}
