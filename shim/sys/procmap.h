/*
 * procmap.h - one mapping of this process looked up by address, with the
 * PROCMAP_QUERY ioctl on /proc/self/maps (Linux 6.11+), instead of reading
 * the whole file (procmap.c).
 *
 * A query costs ~1 us whatever the number of mappings; a read of maps costs
 * ~1.3 us a line on some machines (1000 mappings: 1.6-2 ms).  Used by
 * discovery to check the range a perf MMAP2 record names, and by
 * prefault-check to say whether the kernel has it.
 *
 * And the one parser of a /proc/PID/maps line, for whoever reads the whole
 * file (discovery's scans, the companion).
 */
#ifndef PF_PROCMAP_H
#define PF_PROCMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pf_vma {
	uintptr_t start, end;
	uint64_t offset;        /* file offset of start */
	uint64_t ino;
	unsigned maj, min;
	bool r, w, x, shared;
	char path[512];         /* "" for none; cut at the end of the buffer */
	bool path_cut;          /* the name did not fit */
};

/* One line of /proc/PID/maps, parsed in place. */
struct pf_maps_line {
	uintptr_t start, end;
	uint64_t offset;
	unsigned maj, min;
	uint64_t ino;
	bool r, x;
	bool deleted;     /* the path ends " (deleted)": it names the file no more */
	const char *path; /* into the line, NUL-terminated; "" for none */
};

/* Does a mapping's name say its file is gone (" (deleted)")? */
bool pf_maps_path_deleted(const char *path);

/* "start-end perms offset maj:min inode   path" (s without its newline);
 * false when malformed or empty. */
bool pf_maps_parse_line(const char *s, struct pf_maps_line *l);

/* A session of queries: opens /proc/thread-self/maps (O_CLOEXEC); -1 with
 * errno when it cannot.  Close it with pf_procmap_close() before the caller
 * returns to anything else: prefault holds no descriptor between uses. */
int pf_procmap_open(void);
void pf_procmap_close(int fd);

/* The mapping that covers addr, or, with next, the first one above it.
 * 0, or an errno value: ENOENT (none), ENOTTY/EINVAL (the kernel has no
 * PROCMAP_QUERY), others from the ioctl. */
int pf_procmap_query(int fd, uintptr_t addr, bool next, struct pf_vma *v);

/* Does this kernel answer PROCMAP_QUERY?  0, or the errno that says no. */
int pf_procmap_probe(void);

#endif
