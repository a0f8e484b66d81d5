/*
 * procfs.h - reading the small files of /proc and /sys (procfs.c), and the
 * numeric fields of a stat file.
 *
 * Open, read once, close: prefault holds no descriptor between uses.  No
 * state, no lock; errno is left as it was.
 */
#ifndef PF_PROCFS_H
#define PF_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to size-1 bytes of path into buf and NUL-terminates them;
 * returns the length, or -1 when the file cannot be read or is empty. */
ssize_t pf_read_small(const char *path, char *buf, size_t size);

/* Parses the text of a /proc/.../stat file: v[k] is its numeric field k
 * (counted from 1 as in proc(5)) for 4 <= k < n, counted after the last ')'
 * (a command name may hold spaces and parentheses); fields past the end
 * read 0.  Returns 0, or -1 when buf is no stat line. */
int pf_parse_stat_fields(const char *buf, unsigned long long *v, int n);
/* The same, read from path. */
int pf_read_stat_fields(const char *path, unsigned long long *v, int n);

/* Bytes read from storage on behalf of the calling thread
 * (/proc/thread-self/io) or of the whole process, its exited threads
 * included (/proc/self/io), so far: read_bytes, counted when a read is
 * submitted, not when it ends.  -1 when the kernel does not say.  Reads of
 * a file on a device with major number 0 (FUSE, NFS, btrfs subvolumes,
 * overlayfs) may not be seen there. */
int64_t pf_thread_read_bytes(void);
int64_t pf_process_read_bytes(void);

#endif
