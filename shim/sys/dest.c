/*
 * dest.c - the plumbing every destination shares (a path, "stderr" or
 * "fd:N"): its form, its absolute spelling, whether it can be written, and
 * the writing.
 *
 * A path is opened, appended to and closed for each write so that prefault
 * never holds a descriptor between uses.  No lock: a line is one write(2)
 * on an O_APPEND descriptor, which the kernel keeps whole.
 */
#include "sys/dest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "fd:N" -> N, "stderr" -> 2, a path -> -1; -2 when malformed. */
static int dest_fd(const char *dest)
{
	if (!strcmp(dest, "stderr"))
		return 2;
	if (!strncmp(dest, "fd:", 3)) {
		const char *p = dest + 3;
		if (!isdigit((unsigned char)*p))
			return -2;
		char *end;
		long n = strtol(p, &end, 10);
		return (*end || n < 0 || n > 1 << 20) ? -2 : (int)n;
	}
	return *dest ? -1 : -2;
}

/* Expands %p to the pid; returns 0 or -1 when the result does not fit. */
static int expand_path(const char *dest, char *out, size_t size)
{
	size_t o = 0;
	for (const char *p = dest; *p; p++) {
		char tmp[24];
		const char *piece = tmp;
		if (p[0] == '%' && p[1] == 'p') {
			snprintf(tmp, sizeof tmp, "%d", (int)getpid());
			p++;
		} else {
			tmp[0] = *p;
			tmp[1] = '\0';
		}
		size_t n = strlen(piece);
		if (o + n >= size)
			return -1;
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int pf_dest_write(const char *dest, const char *buf, size_t len)
{
	int saved = errno;
	int fd = dest_fd(dest);
	int rc = -1;
	if (fd >= 0) {
		rc = write_all(fd, buf, len);
	} else if (fd == -1) {
		char path[1024];
		if (expand_path(dest, path, sizeof path) == 0) {
			int f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
			if (f >= 0) {
				rc = write_all(f, buf, len);
				close(f);
			}
		}
	}
	errno = saved;
	return rc;
}

int pf_dest_form(const char *dest)
{
	return dest_fd(dest) == -2 ? -1 : 0;
}

int pf_dest_absolute(const char *dest, char *out, size_t size)
{
	char cwd[4096];
	int n;
	if (dest_fd(dest) != -1 || dest[0] == '/' || !getcwd(cwd, sizeof cwd))
		n = snprintf(out, size, "%s", dest);
	else
		n = snprintf(out, size, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", dest);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

const char *pf_dest_problem(const char *dest)
{
	int fd = dest_fd(dest);
	if (fd == -2)
		return "not a path, stderr or fd:N";
	if (fd >= 0)
		return NULL;
	char path[1024];
	if (expand_path(dest, path, sizeof path))
		return "too long once %p is expanded";
	int saved = errno;
	const char *why = NULL;
	int f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0644);
	if (f >= 0)
		close(f);
	else
		why = strerror(errno);
	errno = saved;
	return why;
}
