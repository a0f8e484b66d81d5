/*
 * cachedir.c - a private cache directory's files (see cachedir.h).
 *
 * Every call opens the directory, checks it through that descriptor, works
 * relative to it and closes it.  No state, no lock.
 */
#include "sys/cachedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char pf_cachedir_absent[] = "no record";

/* Temporary files older than this belong to a writer that died. */
#define STALE_TMP_SEC 3600
/* Oldest files remembered by one scan of pf_cachedir_prune. */
#define PRUNE_BATCH 32

bool pf_cachedir_secure_exec(void)
{
	return getauxval(AT_SECURE) != 0;
}

static const char *join_default(char *out, size_t size, const char *base, const char *rest)
{
	int n = snprintf(out, size, "%s%s", base, rest);
	if (n < 0 || (size_t)n >= size)
		return "cache directory path too long";
	return NULL;
}

const char *pf_cachedir_default(char *out, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && xdg[0] == '/')
		return join_default(out, size, xdg, "/prefault");
	const char *home = getenv("HOME");
	if (home && home[0] == '/')
		return join_default(out, size, home, "/.cache/prefault");
	return "neither XDG_CACHE_HOME nor HOME is an absolute path";
}

/* The checked directory's descriptor, or -1 with *why. */
static int open_dir(const struct pf_cachedir *cd, const char **why)
{
	if (cd->secure_exec) {
		*why = "secure-execution (setuid) program: no cache";
		return -1;
	}
	if (!cd->path || !cd->path[0]) {
		*why = "no cache directory given";
		return -1;
	}
	int fd = open(cd->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*why = errno == ENOENT ? "cache directory does not exist" :
		       errno == ENOTDIR ? "cache directory is not a directory" :
		       "cache directory cannot be opened";
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		*why = "cache directory cannot be read";
	else if (st.st_uid != geteuid())
		*why = "cache directory is not owned by the user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		*why = "cache directory is writable by group or others";
	else
		return fd;
	close(fd);
	return -1;
}

const char *pf_cachedir_check(const struct pf_cachedir *cd)
{
	int saved = errno;
	const char *why = NULL;
	int fd = open_dir(cd, &why);
	if (fd >= 0)
		close(fd);
	errno = saved;
	return why;
}

const char *pf_cachedir_make(const struct pf_cachedir *cd)
{
	int saved = errno;
	char path[4096];
	const char *why = NULL;
	if (cd->secure_exec || !cd->path || !cd->path[0])
		return pf_cachedir_check(cd);
	if (snprintf(path, sizeof path, "%s", cd->path) >= (int)sizeof path)
		why = "cache directory path too long";
	for (char *p = path + 1; !why; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			why = "cache directory cannot be created";
		*p = c;
		if (!c)
			break;
	}
	errno = saved;
	return why ? why : pf_cachedir_check(cd);
}

/* A name is one path component, and never a temporary file's. */
static bool plain_name(const char *name)
{
	return name && name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < 200;
}

static const char *read_in(int dfd, const char *name, void *buf, size_t size, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? pf_cachedir_absent :
		       errno == ELOOP ? "record is a symbolic link" : "record cannot be opened";
	const char *why = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0)
		why = "record cannot be read";
	else if (!S_ISREG(st.st_mode))
		why = "record is not a regular file";
	else if (st.st_uid != geteuid())
		why = "record is not owned by the user";
	else if ((uint64_t)st.st_size > size)
		why = "record too large";
	size_t got = 0;
	while (!why) {
		char extra;
		ssize_t n = got < size ? read(fd, (char *)buf + got, size - got) : read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			why = "record cannot be read";
		else if (n == 0)
			break;
		else if (got == size)
			why = "record too large";
		else
			got += (size_t)n;
	}
	close(fd);
	*len = got;
	return why;
}

const char *pf_cachedir_read(const struct pf_cachedir *cd, const char *name,
			     void *buf, size_t size, size_t *len)
{
	int saved = errno;
	const char *why = NULL;
	*len = 0;
	if (!plain_name(name)) {
		errno = saved;
		return "bad record name";
	}
	int dfd = open_dir(cd, &why);
	if (dfd >= 0) {
		why = read_in(dfd, name, buf, size, len);
		close(dfd);
	}
	errno = saved;
	return why;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char *write_in(int dfd, const char *name, const void *buf, size_t len)
{
	char tmp[256];
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int fd = -1;
	/* pid and tid make the name unique among live writers sharing a pid
	 * namespace; the clock and O_EXCL cover the others. */
	for (unsigned attempt = 0; fd < 0 && attempt < 8; attempt++) {
		snprintf(tmp, sizeof tmp, ".%s.%d.%d.%lx.tmp", name, (int)getpid(), (int)gettid(),
			 (unsigned long)now.tv_nsec + attempt);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
		if (fd < 0 && errno != EEXIST)
			return "record cannot be created";
	}
	if (fd < 0)
		return "record cannot be created";
	const char *why = NULL;
	if (fchmod(fd, 0600) < 0 || write_all(fd, buf, len) < 0)
		why = "record cannot be written";
	if (close(fd) < 0 && !why)
		why = "record cannot be written";
	if (!why && renameat(dfd, tmp, dfd, name) < 0)
		why = "record cannot be renamed into place";
	if (why)
		unlinkat(dfd, tmp, 0);
	return why;
}

const char *pf_cachedir_write(const struct pf_cachedir *cd, const char *name,
			      const void *buf, size_t len)
{
	int saved = errno;
	const char *why = NULL;
	if (!plain_name(name)) {
		errno = saved;
		return "bad record name";
	}
	int dfd = open_dir(cd, &why);
	if (dfd >= 0) {
		why = write_in(dfd, name, buf, len);
		close(dfd);
	}
	errno = saved;
	return why;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct prune_file {
	struct timespec mtime;
	uint64_t size;
	char name[256];
};

struct prune_scan {
	unsigned files;
	uint64_t bytes;
	/* The oldest files seen, oldest first. */
	unsigned n_old;
	struct prune_file old[PRUNE_BATCH];
};

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static bool older(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void remember_old(struct prune_scan *s, const char *name, size_t len, const struct stat *st)
{
	if (len >= sizeof s->old[0].name)
		return;
	unsigned at = s->n_old;
	while (at > 0 && older(&st->st_mtim, &s->old[at - 1].mtime))
		at--;
	if (at >= PRUNE_BATCH)
		return;
	unsigned last = s->n_old < PRUNE_BATCH ? s->n_old : PRUNE_BATCH - 1;
	memmove(&s->old[at + 1], &s->old[at], (last - at) * sizeof s->old[0]);
	s->old[at].mtime = st->st_mtim;
	s->old[at].size = (uint64_t)st->st_size;
	memcpy(s->old[at].name, name, len + 1);
	if (s->n_old < PRUNE_BATCH)
		s->n_old++;
}

/* Counts the records of dfd, keeps the oldest in s, unlinks stale
 * temporary files.  -1 when the directory cannot be listed. */
static int scan(int dfd, const char *prefix, const char *suffix, struct prune_scan *s)
{
	char buf[4096] __attribute__((aligned(8)));
	size_t plen = strlen(prefix);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(s, 0, sizeof *s);
	if (lseek(dfd, 0, SEEK_SET) < 0)
		return -1;
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		for (long at = 0; at < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + at);
			at += d->d_reclen;
			const char *name = d->d_name;
			size_t len = strlen(name);
			bool tmp = name[0] == '.' && strncmp(name + 1, prefix, plen) == 0 && ends_with(name, len, ".tmp");
			bool rec = strncmp(name, prefix, plen) == 0 && ends_with(name, len, suffix);
			struct stat st;
			if ((!tmp && !rec) || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (tmp) {
				if (st.st_mtim.tv_sec + STALE_TMP_SEC < now.tv_sec)
					unlinkat(dfd, name, 0);
				continue;
			}
			s->files++;
			s->bytes += (uint64_t)st.st_size;
			remember_old(s, name, len, &st);
		}
	}
}

static const char *prune_in(int dfd, const char *prefix, const char *suffix,
			    unsigned max_files, uint64_t max_bytes)
{
	struct prune_scan s;
	/* A directory left far over its bound (a smaller bound set) takes a
	 * scan per PRUNE_BATCH files; the bound on scans bounds the time. */
	for (int scans = 0; scans < 1024; scans++) {
		if (scan(dfd, prefix, suffix, &s) < 0)
			return "cache directory cannot be listed";
		unsigned dropped = 0;
		for (unsigned i = 0; i < s.n_old && (s.files > max_files || s.bytes > max_bytes); i++) {
			if (unlinkat(dfd, s.old[i].name, 0) < 0)
				continue;
			s.files--;
			s.bytes -= s.old[i].size;
			dropped++;
		}
		if (s.files <= max_files && s.bytes <= max_bytes)
			return NULL;
		if (!dropped)
			return "cache directory cannot be pruned";
	}
	return "cache directory cannot be pruned";
}

const char *pf_cachedir_prune(const struct pf_cachedir *cd, const char *prefix,
			      const char *suffix, unsigned max_files, uint64_t max_bytes)
{
	int saved = errno;
	const char *why = NULL;
	int dfd = open_dir(cd, &why);
	if (dfd >= 0) {
		why = prune_in(dfd, prefix, suffix, max_files, max_bytes);
		close(dfd);
	}
	errno = saved;
	return why;
}
