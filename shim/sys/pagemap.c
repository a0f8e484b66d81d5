/*
 * pagemap.c - reading /proc/self/pagemap (see pagemap.h).
 */
#include "sys/pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int pf_pagemap_open(void)
{
	int saved = errno;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	errno = saved;
	return fd;
}

size_t pf_pagemap_read(int fd, uintptr_t addr, uint64_t *ent, size_t n)
{
	int saved = errno;
	off_t at = (off_t)(addr / (uintptr_t)sysconf(_SC_PAGESIZE) * sizeof *ent);
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, ent + done, (n - done) * sizeof *ent, at + (off_t)(done * sizeof *ent));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r / sizeof *ent;
	}
	errno = saved;
	return done;
}
