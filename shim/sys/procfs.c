/*
 * procfs.c - reading the small files of /proc and /sys (see procfs.h).
 */
#include "sys/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t pf_read_small(const char *path, char *buf, size_t size)
{
	int saved = errno;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		do
			n = read(fd, buf, size - 1);
		while (n < 0 && errno == EINTR);
		close(fd);
	}
	errno = saved;
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int pf_parse_stat_fields(const char *buf, unsigned long long *v, int n)
{
	memset(v, 0, sizeof *v * (size_t)n);
	const char *p = strrchr(buf, ')');
	if (!p || !p[1])
		return -1;
	p += 2; /* field 3, the state: a letter */
	for (int field = 3; *p && field < n; field++) {
		if (field >= 4) {
			char *end;
			v[field] = strtoull(p, &end, 10);
			p = end;
		} else {
			while (*p && *p != ' ')
				p++;
		}
		while (*p == ' ')
			p++;
	}
	return 0;
}

int pf_read_stat_fields(const char *path, unsigned long long *v, int n)
{
	char buf[1024];
	if (pf_read_small(path, buf, sizeof buf) < 0) {
		memset(v, 0, sizeof *v * (size_t)n);
		return -1;
	}
	return pf_parse_stat_fields(buf, v, n);
}

static int64_t read_bytes_of(const char *path)
{
	char buf[512];
	if (pf_read_small(path, buf, sizeof buf) < 0)
		return -1;
	const char *p = strstr(buf, "\nread_bytes:");
	return p ? (int64_t)strtoull(p + 12, NULL, 10) : -1;
}

int64_t pf_thread_read_bytes(void)
{
	return read_bytes_of("/proc/thread-self/io");
}

int64_t pf_process_read_bytes(void)
{
	return read_bytes_of("/proc/self/io");
}
