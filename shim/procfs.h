/*
 * procfs.h - reading the small files of /proc and /sys (procfs.c).
 *
 * Open, read once, close: prefault holds no descriptor between uses.  No
 * state, no lock; errno is left as it was.
 */
#ifndef PF_PROCFS_H
#define PF_PROCFS_H

#include <stddef.h>
#include <sys/types.h>

/* Reads up to size-1 bytes of path into buf and NUL-terminates them;
 * returns the length, or -1 when the file cannot be read or is empty. */
ssize_t pf_read_small(const char *path, char *buf, size_t size);

#endif
