/*
 * procfs.c - reading the small files of /proc and /sys (see procfs.h).
 */
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
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
