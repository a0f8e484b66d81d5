/*
 * follow.c - the processes the companion follows and its own mappings of
 * their files.
 *
 * A process is held by its pidfd and an open /proc/PID directory: once the
 * process is gone, the directory descriptor never resolves to a process that
 * reused the number, and the pidfd is checked alive (poll) before every maps
 * read and after it, so what was read was the target's.
 *
 * Polling is cheap: /proc/PID/stat is re-read (pread on a descriptor kept
 * open) every POLL_MS from main.c's loop, and maps are read again only when
 * the stat line's vsize moved, or every FULL_READ_MS (a mapping replaced in
 * place keeps the size).  maps is opened again for every read: an open maps
 * file stays bound to the address space it was opened on, which exec
 * replaces.  Children are found every CHILD_SCAN_MS through
 * /proc/PID/task/TID/children and followed the same way (fork+exec chains).
 *
 * Each file mapping of a followed process is one `line` (sys/procmap.c
 * parses maps).  A line that core/admission.c's rule admits (readable, not
 * deleted, size, include/exclude, a regular file we can open whose inode
 * still matches the maps line) refers to a `shadow`: the companion's own
 * PROT_READ MAP_SHARED mapping of the same file range, tracked in the
 * library's table (PF_SRC_COMPANION).  Identical ranges share one shadow
 * (refcount).  When no line refers to a shadow any more it is forgotten by
 * the table first, then unmapped: a helper that still had it in hand finds
 * its entry gone (engine.c looks entries up by start and id each step).
 *
 * Working-set memory (PREFAULT_REMEMBER, shim/work/recall.c): a shadow is
 * never touched by the target, so it learns from a source, the line that
 * made it: recall.c samples that process's pagemap at that line's address
 * (pf_recall_source).  Of the lines that share a shadow (two processes, a
 * parent and its forked child) only that one is learnt from; when it goes,
 * what it showed is stored and the first line still referring to the
 * shadow becomes its source (sources_mend).  Each process's pagemap is
 * opened once per address space: the descriptor stays bound to the one it
 * was opened on and reads nothing once an exec replaced it, which is how
 * the exec is told (pagemap_current).  Not allowed to open it: said once
 * in the log, and its lines learn nothing.
 *
 * Lock rule: only the main thread touches procs, lines and shadows.
 * PREFAULT_INHERIT=0 leaves the target's children alone, as the library
 * leaves them without the preload.
 *
 * procs_lock guards just the fault counts that procstat.c reads from helper
 * threads; it is never held across a system call.
 */
#include "companion.h"

#include "core/admission.h"
#include "work/helpers.h"
#include "work/recall.h"
#include "sys/clock.h"
#include "core/events.h"
#include "core/log.h"
#include "core/options.h"
#include "sys/procfs.h"
#include "sys/procmap.h"
#include "sys/real.h"
#include "core/table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FULL_READ_MS 500
#define CHILD_SCAN_MS 10
#define MAX_PROCS 256

struct shadow {
	dev_t dev;
	ino_t ino;
	off_t offset;
	size_t len;      /* of the maps line */
	size_t maplen;   /* of our mapping: no further than the file's end */
	void *addr;
	unsigned refs;
	/* The line it learns from (pid and the line's start), src_pid 0: none. */
	pid_t src_pid;
	uintptr_t src_at;
};

/* A file mapping seen in a process's maps. */
struct line {
	uintptr_t start, end;
	off_t offset;
	dev_t dev;
	ino_t ino;
	int shadow;      /* index in shadows, or -1: not warmed (skipped) */
	unsigned gen;    /* the maps read that last saw it */
};

struct proc {
	pid_t pid;
	int pidfd;       /* -1 for the root: main.c owns its pidfd */
	int root_pidfd;  /* the pidfd to check, ours or main.c's */
	int dirfd;       /* /proc/PID */
	int statfd;      /* /proc/PID/stat, read with pread */
	int pmfd;        /* /proc/PID/pagemap (PREFAULT_REMEMBER), or -1 */
	bool pm_denied;  /* pmfd could not be opened: not tried again */
	uint64_t vsize;
	int64_t last_full_ns;
	unsigned gen;
	struct line *lines;
	size_t nlines, cap;
	/* guarded by procs_lock */
	uint64_t majflt, minflt;
	unsigned threads;
};

static struct proc procs[MAX_PROCS];
static size_t nprocs;
static struct shadow *shadows;
static size_t nshadows;
static int64_t last_child_scan_ns;
static pthread_mutex_t procs_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gone_majflt, gone_minflt; /* guarded by procs_lock */
static char *mapsbuf;
static size_t mapsbuf_cap;
static bool sources_lacking; /* a shadow lost its source, others refer to it */

/* ---- stat --------------------------------------------------------------- */

struct statline {
	pid_t ppid;
	uint64_t minflt, majflt, vsize;
	unsigned threads;
};

static int parse_stat(const char *buf, struct statline *s)
{
	unsigned long long v[24];
	if (pf_parse_stat_fields(buf, v, 24) != 0)
		return -1;
	s->ppid = (pid_t)v[4];
	s->minflt = v[10];
	s->majflt = v[12];
	s->threads = (unsigned)v[20];
	s->vsize = v[23];
	return 0;
}

static int read_stat(struct proc *p, struct statline *s)
{
	char buf[1024];
	ssize_t n = pread(p->statfd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (parse_stat(buf, s))
		return -1;
	pthread_mutex_lock(&procs_lock);
	p->majflt = s->majflt;
	p->minflt = s->minflt;
	p->threads = s->threads;
	pthread_mutex_unlock(&procs_lock);
	return 0;
}

/* ---- shadows: the companion's own mappings ------------------------------ */

static void queue_skip(const char *path, size_t len, const char *reason)
{
	pf_events_queue_skip(PF_SRC_COMPANION, path, 0, len, 0, reason);
}

/* Maps the range of line l of p of the file at path, which must still be
 * the one the maps line names (inode compared, as core/admission.c does);
 * returns a shadow index or -1 (*why set). */
static int shadow_get(const struct proc *p, const struct line *l, const char *path, size_t len,
		      const char **why)
{
	dev_t dev = l->dev;
	ino_t ino = l->ino;
	off_t offset = l->offset;
	for (size_t i = 0; i < nshadows; i++) {
		struct shadow *s = &shadows[i];
		if (s->refs && s->dev == dev && s->ino == ino && s->offset == offset && s->len == len) {
			s->refs++;
			return (int)i;
		}
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*why = "not-readable";
		return -1;
	}
	/* The second half of core/admission.c's rule, on the file opened. */
	struct stat st;
	size_t maplen = len;
	*why = pf_admit_file(fstat(fd, &st) == 0 ? &st : NULL, (uint64_t)ino, (uint64_t)offset,
			     (size_t)sysconf(_SC_PAGESIZE), &maplen);
	if (*why) {
		close(fd);
		return -1;
	}
	/* The raw system call: a libprefault.so the user preloads into the
	 * companion itself would otherwise track this mapping a second time. */
	void *addr = pf_sys_mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, offset);
	close(fd);
	if (addr == MAP_FAILED) {
		*why = "not-readable";
		return -1;
	}
	struct pf_desc d = {
		.start = (uintptr_t)addr, .len = maplen, .offset = offset,
		.dev = dev, .ino = ino, .source = PF_SRC_COMPANION, .path = path,
	};
	/* Before a helper can reach it. */
	pf_recall_source((uintptr_t)addr, p->pmfd, l->start);
	if (pf_table_track(&d)) {
		pf_recall_unsource((uintptr_t)addr);
		pf_sys_munmap(addr, maplen);
		*why = PF_ADMIT_NO_MEMORY;
		return -1;
	}
	size_t slot = nshadows;
	for (size_t i = 0; i < nshadows; i++)
		if (!shadows[i].refs) {
			slot = i;
			break;
		}
	if (slot == nshadows) {
		struct shadow *grown = realloc(shadows, (nshadows + 1) * sizeof *shadows);
		if (!grown) {
			pf_table_forget((uintptr_t)addr, maplen);
			pf_recall_unsource((uintptr_t)addr);
			pf_sys_munmap(addr, maplen);
			*why = PF_ADMIT_NO_MEMORY;
			return -1;
		}
		shadows = grown;
		nshadows++;
	}
	shadows[slot] = (struct shadow){ dev, ino, offset, len, maplen, addr, 1, p->pid, l->start };
	/* The library's helpers do the rest; the budget is theirs to keep. */
	pf_helpers_wake();
	return (int)slot;
}

/* Shadow i learns nothing from line l of p any more (l goes, or p's
 * pagemap is opened anew); sources_mend gives it another. */
static void source_drop(int i, const struct proc *p, const struct line *l)
{
	struct shadow *s = &shadows[i];
	if (s->src_pid != p->pid || s->src_at != l->start)
		return;
	pf_recall_source((uintptr_t)s->addr, -1, 0);
	s->src_pid = 0;
	sources_lacking = true;
}

/* Line l of p no longer refers to its shadow. */
static void shadow_put(const struct proc *p, const struct line *l)
{
	int i = l->shadow;
	if (i < 0)
		return;
	struct shadow *s = &shadows[i];
	if (--s->refs) {
		source_drop(i, p, l);
		return;
	}
	/* The table first, so no helper picks it up again, then the memory. */
	pf_table_forget((uintptr_t)s->addr, s->maplen);
	pf_recall_unsource((uintptr_t)s->addr);
	pf_sys_munmap(s->addr, s->maplen);
	s->addr = NULL;
}

/* Each shadow that lost its source learns from the first line (in the
 * order of procs and their lines) that still refers to it. */
static void sources_mend(void)
{
	if (!sources_lacking)
		return;
	sources_lacking = false;
	for (size_t k = 0; k < nprocs; k++)
		for (size_t j = 0; j < procs[k].nlines; j++) {
			const struct line *l = &procs[k].lines[j];
			struct shadow *s = l->shadow >= 0 ? &shadows[l->shadow] : NULL;
			if (!s || s->src_pid)
				continue;
			s->src_pid = procs[k].pid;
			s->src_at = l->start;
			pf_recall_source((uintptr_t)s->addr, procs[k].pmfd, l->start);
		}
}

/* ---- pagemap (working-set memory) ---------------------------------------- */

/* False once p's pagemap descriptor no longer reads its address space (an
 * exec replaced it, or p is exiting): a read then finds nothing. */
static bool pagemap_current(const struct proc *p)
{
	uint64_t e;
	return p->pmfd >= 0 && pread(p->pmfd, &e, sizeof e, 0) == (ssize_t)sizeof e;
}

/* Before a maps read: p's pagemap open on its present address space.  The
 * lines learning from an old descriptor (of the image an exec replaced,
 * about to go; or none) give it up first, and sources_mend gives the
 * shadows still referred to the new one. */
static void pagemap_refresh(struct proc *p)
{
	static bool said;
	if (!pf_recall_enabled() || p->pm_denied || pagemap_current(p))
		return;
	for (size_t i = 0; i < p->nlines; i++)
		if (p->lines[i].shadow >= 0)
			source_drop(p->lines[i].shadow, p, &p->lines[i]);
	if (p->pmfd >= 0)
		close(p->pmfd);
	p->pmfd = openat(p->dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
	p->pm_denied = p->pmfd < 0;
	/* Not a process gone meanwhile: its pidfd says so. */
	if (p->pmfd < 0 && errno != ESRCH && errno != ENOENT && !said) {
		said = true;
		pf_log("PREFAULT_REMEMBER: cannot read /proc/%d/pagemap (%s): what it touches is not learned",
		       (int)p->pid, strerror(errno));
	}
}

/* ---- maps ---------------------------------------------------------------- */

/* Reads all of /proc/PID/maps into mapsbuf; returns its length or -1. */
static ssize_t read_maps(struct proc *p)
{
	int fd = openat(p->dirfd, "maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	for (;;) {
		if (mapsbuf_cap - len < 4096) {
			size_t cap = mapsbuf_cap ? mapsbuf_cap * 2 : 65536;
			char *grown = realloc(mapsbuf, cap);
			if (!grown) {
				close(fd);
				return -1;
			}
			mapsbuf = grown;
			mapsbuf_cap = cap;
		}
		ssize_t n = read(fd, mapsbuf + len, mapsbuf_cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	mapsbuf[len] = '\0';
	return (ssize_t)len;
}

static struct line *find_line(struct proc *p, const struct line *l)
{
	for (size_t i = 0; i < p->nlines; i++) {
		struct line *x = &p->lines[i];
		if (x->start == l->start && x->end == l->end && x->offset == l->offset &&
		    x->dev == l->dev && x->ino == l->ino)
			return x;
	}
	return NULL;
}

/* One maps line: a file mapping to follow (returns 1), or not (0). */
static int parse_line(const char *s, struct line *l, const char **path, bool *readable,
		      bool *deleted)
{
	struct pf_maps_line m;
	if (!pf_maps_parse_line(s, &m))
		return 0;
	if (!m.ino || m.path[0] != '/')
		return 0; /* anonymous, [heap], [vdso]... */
	*deleted = m.deleted;
	l->start = m.start;
	l->end = m.end;
	l->offset = (off_t)m.offset;
	l->dev = makedev(m.maj, m.min);
	l->ino = (ino_t)m.ino;
	*readable = m.r;
	*path = m.path;
	return 1;
}

static struct line *add_line(struct proc *p, const struct line *l, const char *path,
			     bool readable, bool deleted)
{
	if (p->nlines == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct line *grown = realloc(p->lines, cap * sizeof *grown);
		if (!grown)
			return NULL;
		p->lines = grown;
		p->cap = cap;
	}
	struct line *x = &p->lines[p->nlines++];
	*x = *l;
	x->shadow = -1;
	size_t len = l->end - l->start;
	if (!pf_opt.enabled)
		return x;
	const char *why = pf_admit_mapping(readable, deleted, len, path);
	if (!why)
		x->shadow = shadow_get(p, l, path, len, &why);
	if (x->shadow < 0 && why)
		queue_skip(path, len, why);
	return x;
}

/* Reads p's maps and brings lines and shadows in line with them. */
static void refresh_maps(struct proc *p, int64_t now_ns)
{
	p->last_full_ns = now_ns;
	if (!pfc_pidfd_alive(p->root_pidfd))
		return;
	pagemap_refresh(p);
	ssize_t len = read_maps(p);
	if (len < 0 && (errno == EACCES || errno == EPERM)) {
		/* It exec'd something we may not follow (setuid): let its old
		 * mappings go and keep only watching for its children. */
		for (size_t i = 0; i < p->nlines; i++)
			shadow_put(p, &p->lines[i]);
		p->nlines = 0;
		sources_mend();
		return;
	}
	if (len < 0 || !pfc_pidfd_alive(p->root_pidfd))
		return; /* gone, or could be another process's: main.c drops it */
	unsigned gen = ++p->gen;
	for (char *s = mapsbuf, *next; s && *s; s = next) {
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		struct line l;
		const char *path;
		bool readable, deleted;
		if (!parse_line(s, &l, &path, &readable, &deleted))
			continue;
		struct line *x = find_line(p, &l);
		if (!x)
			x = add_line(p, &l, path, readable, deleted);
		if (x)
			x->gen = gen;
	}
	size_t kept = 0;
	for (size_t i = 0; i < p->nlines; i++) {
		if (p->lines[i].gen == gen)
			p->lines[kept++] = p->lines[i];
		else
			shadow_put(p, &p->lines[i]);
	}
	p->nlines = kept;
	sources_mend();
}

/* ---- processes ------------------------------------------------------------ */

static struct proc *find_proc(pid_t pid)
{
	for (size_t i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

/* Opens what following pid takes; checks it is the process pidfd names
 * (and, for a child, still parent's child).  0 or an errno value. */
static int add_proc(pid_t pid, int pidfd, bool own_pidfd, pid_t parent)
{
	if (nprocs == MAX_PROCS)
		return ENOSPC;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT ? ESRCH : errno;
	int statfd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
	if (statfd < 0) {
		int e = errno;
		close(dirfd);
		return e == ENOENT ? ESRCH : e;
	}
	struct proc *p = &procs[nprocs];
	memset(p, 0, sizeof *p);
	p->pid = pid;
	p->pidfd = own_pidfd ? pidfd : -1;
	p->root_pidfd = pidfd;
	p->dirfd = dirfd;
	p->statfd = statfd;
	p->pmfd = -1;
	struct statline s;
	int err = 0;
	if (!pfc_pidfd_alive(pidfd) || read_stat(p, &s))
		err = ESRCH; /* the directory may be another process's: drop it */
	else if (parent && s.ppid != parent)
		err = ESRCH;
	if (!err) {
		/* Reading maps needs what ptrace would (PTRACE_MODE_READ). */
		int fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = errno == ENOENT ? ESRCH : errno;
		} else {
			char c;
			if (read(fd, &c, 1) < 0)
				err = errno == ENOENT ? ESRCH : errno;
			close(fd);
		}
	}
	if (err) {
		close(statfd);
		close(dirfd);
		return err;
	}
	p->vsize = s.vsize;
	nprocs++;
	refresh_maps(p, pf_now_ns());
	return 0;
}

static void drop_proc(size_t i)
{
	struct proc *p = &procs[i];
	for (size_t k = 0; k < p->nlines; k++)
		shadow_put(p, &p->lines[k]);
	free(p->lines);
	close(p->statfd);
	close(p->dirfd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->pmfd >= 0)
		close(p->pmfd); /* no source names it now */
	pthread_mutex_lock(&procs_lock);
	gone_majflt += p->majflt;
	gone_minflt += p->minflt;
	procs[i] = procs[nprocs - 1];
	nprocs--;
	pthread_mutex_unlock(&procs_lock);
	sources_mend();
}

int pfc_follow_root(pid_t pid, int pidfd)
{
	return add_proc(pid, pidfd, false, 0);
}

/* Follows the children of p that are not followed yet. */
static void scan_children(struct proc *p)
{
	int tfd = openat(p->dirfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return;
	DIR *d = fdopendir(tfd);
	if (!d) {
		close(tfd);
		return;
	}
	pid_t parent = p->pid;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300], buf[4096];
		snprintf(path, sizeof path, "%s/children", de->d_name);
		int fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		char *s = buf, *end;
		for (long c = strtol(s, &end, 10); end != s; c = strtol(s, &end, 10)) {
			s = end;
			if (c <= 0 || find_proc((pid_t)c))
				continue;
			int cfd = pfc_pidfd_open((pid_t)c);
			if (cfd < 0)
				continue;
			/* add_proc may move procs[]: p is not used after this. */
			if (add_proc((pid_t)c, cfd, true, parent))
				close(cfd);
		}
	}
	closedir(d);
}

void pfc_follow_poll(int64_t now_ns)
{
	for (size_t i = 0; i < nprocs; i++) {
		struct proc *p = &procs[i];
		struct statline s;
		if (read_stat(p, &s))
			continue; /* exiting: its pidfd says so */
		if (s.vsize != p->vsize || now_ns - p->last_full_ns >= FULL_READ_MS * 1000000ll) {
			p->vsize = s.vsize;
			refresh_maps(p, now_ns);
		}
	}
	/* PREFAULT_INHERIT=0: the programs the target starts go without. */
	if (pf_opt.inherit && now_ns - last_child_scan_ns >= CHILD_SCAN_MS * 1000000ll) {
		last_child_scan_ns = now_ns;
		size_t n = nprocs; /* children added now are scanned next time */
		for (size_t i = 0; i < n && i < nprocs; i++)
			scan_children(&procs[i]);
	}
}

size_t pfc_follow_pidfds(int *fds, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nprocs && n < max; i++)
		fds[n++] = procs[i].root_pidfd;
	return n;
}

void pfc_follow_exited(int pidfd)
{
	for (size_t i = 0; i < nprocs; i++)
		if (procs[i].root_pidfd == pidfd) {
			struct statline s;
			read_stat(&procs[i], &s); /* last counts, while a zombie */
			drop_proc(i);
			return;
		}
}

void pfc_follow_stop(void)
{
	while (nprocs)
		drop_proc(nprocs - 1);
}

void pfc_follow_faults(uint64_t *majflt, uint64_t *minflt, unsigned *threads)
{
	pthread_mutex_lock(&procs_lock);
	*majflt = gone_majflt;
	*minflt = gone_minflt;
	*threads = 0;
	for (size_t i = 0; i < nprocs; i++) {
		*majflt += procs[i].majflt;
		*minflt += procs[i].minflt;
		*threads += procs[i].threads;
	}
	pthread_mutex_unlock(&procs_lock);
}
