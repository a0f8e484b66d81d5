/*
 * procmap.c - PROCMAP_QUERY on /proc/thread-self/maps (see procmap.h).
 *
 * The structure and ioctl number are the kernel's uapi (linux/fs.h, 6.11);
 * Debian 12's headers predate them, so they are spelled out here.  The
 * kernel accepts any size from its first version's up and fills what it
 * knows.  No state, no lock.  The maps line parser makes no system call
 * and no allocation (discovery runs it on a thread that may not malloc).
 */
#include "sys/procmap.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct procmap_query_v1 {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};

#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query_v1)
#define Q_READABLE 0x01
#define Q_WRITABLE 0x02
#define Q_EXECUTABLE 0x04
#define Q_SHARED 0x08
#define Q_COVERING_OR_NEXT 0x10

static const char *hex(const char *p, uint64_t *v)
{
	uint64_t x = 0;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else
			break;
		x = x << 4 | d;
	}
	*v = x;
	return p;
}

bool pf_maps_path_deleted(const char *path)
{
	static const char mark[] = " (deleted)";
	size_t n = strlen(path), k = sizeof mark - 1;
	return n >= k && memcmp(path + n - k, mark, k) == 0;
}

bool pf_maps_parse_line(const char *s, struct pf_maps_line *l)
{
	uint64_t a, b, off, maj, min, ino = 0;
	const char *p = hex(s, &a);
	if (*p++ != '-')
		return false;
	p = hex(p, &b);
	if (*p++ != ' ' || !p[0] || !p[1] || !p[2] || !p[3])
		return false;
	l->r = p[0] == 'r';
	l->x = p[2] == 'x';
	p += 4;
	if (*p++ != ' ')
		return false;
	p = hex(p, &off);
	if (*p++ != ' ')
		return false;
	p = hex(p, &maj);
	if (*p++ != ':')
		return false;
	p = hex(p, &min);
	if (*p++ != ' ')
		return false;
	for (; *p >= '0' && *p <= '9'; p++)
		ino = ino * 10 + (uint64_t)(*p - '0');
	while (*p == ' ')
		p++;
	l->start = (uintptr_t)a;
	l->end = (uintptr_t)b;
	l->offset = off;
	l->maj = (unsigned)maj;
	l->min = (unsigned)min;
	l->ino = ino;
	l->path = p;
	l->deleted = pf_maps_path_deleted(p);
	return b > a;
}

int pf_procmap_open(void)
{
	int fd = open("/proc/thread-self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	return fd;
}

void pf_procmap_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

int pf_procmap_query(int fd, uintptr_t addr, bool next, struct pf_vma *v)
{
	struct procmap_query_v1 q;
	memset(&q, 0, sizeof q);
	q.size = sizeof q;
	q.query_flags = next ? Q_COVERING_OR_NEXT : 0;
	q.query_addr = addr;
	q.vma_name_addr = (uint64_t)(uintptr_t)v->path;
	q.vma_name_size = sizeof v->path;
	if (ioctl(fd, PROCMAP_QUERY, &q) != 0) {
		int err = errno;
		if (err == ENAMETOOLONG) {
			/* A name longer than the buffer: the rest is still good. */
			q.vma_name_size = 0;
			q.vma_name_addr = 0;
			if (ioctl(fd, PROCMAP_QUERY, &q) != 0)
				return errno;
			v->path[0] = '\0';
			v->path_cut = true;
		} else {
			return err;
		}
	} else {
		v->path_cut = false;
		if (q.vma_name_size == 0)
			v->path[0] = '\0';
	}
	v->path[sizeof v->path - 1] = '\0';
	v->start = (uintptr_t)q.vma_start;
	v->end = (uintptr_t)q.vma_end;
	v->offset = q.vma_offset;
	v->ino = q.inode;
	v->maj = q.dev_major;
	v->min = q.dev_minor;
	v->r = q.vma_flags & Q_READABLE;
	v->w = q.vma_flags & Q_WRITABLE;
	v->x = q.vma_flags & Q_EXECUTABLE;
	v->shared = q.vma_flags & Q_SHARED;
	return 0;
}

int pf_procmap_probe(void)
{
	int fd = pf_procmap_open();
	if (fd < 0)
		return errno;
	struct pf_vma v;
	int err = pf_procmap_query(fd, (uintptr_t)&pf_procmap_probe, false, &v);
	pf_procmap_close(fd);
	return err;
}
