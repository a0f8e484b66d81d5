/*
 * cachedir.h - a private cache directory's files (cachedir.c): the
 * directory's check, a bounded read of a file in it, an atomic write, and
 * pruning it to a number of files and bytes.  The file system part of
 * working-set memory (core/remember.c); it knows names, not records.
 *
 * The directory must be owned by the effective user and writable by no one
 * else (no group or other write bit); every call checks it through the
 * descriptor it then works in (openat, renameat, unlinkat), so a directory
 * swapped after the check is never used.  Files are read without following
 * a symlink or blocking on a FIFO, written to a temporary name of their own
 * (O_EXCL, mode 0600) and renamed over the old one: a reader sees the old
 * file or the new one, whole.  No fsync: a cache lost in a crash is only
 * relearned.  Every descriptor is O_CLOEXEC and closed before a call
 * returns; no malloc (the directory is listed with getdents64).
 *
 * Each call returns NULL, or a static string saying why not (for the
 * caller's one log line); errno is left as it was.  No state, no lock.
 */
#ifndef PF_CACHEDIR_H
#define PF_CACHEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pf_cachedir {
	/* The directory, absolute or relative to the current one. */
	const char *path;
	/* Set for a secure-execution (setuid, setgid, capabilities) program:
	 * every call refuses.  pf_cachedir_secure_exec() tells. */
	bool secure_exec;
};

/* pf_cachedir_read's answer when the file does not exist (compare the
 * pointer): not a refusal, nothing to log. */
extern const char pf_cachedir_absent[];

/* True when this process runs in secure-execution mode (AT_SECURE). */
bool pf_cachedir_secure_exec(void);

/* The per-user default, $XDG_CACHE_HOME/prefault or $HOME/.cache/prefault
 * (each only when absolute), in out.  Reads only the environment: no
 * getpwuid, which may load NSS modules and call malloc inside a preloaded
 * library.  NULL, or why not (neither set, too long). */
const char *pf_cachedir_default(char *out, size_t size);

/* Creates the directory and missing parents, each mode 0700 (under the
 * umask), then checks it.  Only for the per-user default: a directory the
 * user named must exist. */
const char *pf_cachedir_make(const struct pf_cachedir *cd);

/* Checks the directory: it exists, is owned by geteuid() and has no group
 * or other write bit. */
const char *pf_cachedir_check(const struct pf_cachedir *cd);

/* Reads the regular file name (one path component) of the directory, owned
 * by the user, into buf; at most size bytes, a larger file is refused.
 * *len is the number of bytes read.  pf_cachedir_absent when it does not
 * exist. */
const char *pf_cachedir_read(const struct pf_cachedir *cd, const char *name,
			     void *buf, size_t size, size_t *len);

/* Replaces (or creates) name with len bytes of buf, atomically, mode 0600.
 * The temporary file is ".NAME.PID.TID.N.tmp" in the same directory. */
const char *pf_cachedir_write(const struct pf_cachedir *cd, const char *name,
			      const void *buf, size_t len);

/* Drops the oldest (by mtime) regular files whose names start with prefix
 * and end with suffix until at most max_files of them, of at most
 * max_bytes together, remain; and temporary files of pf_cachedir_write an
 * hour old (a writer that died).  Other files are never touched. */
const char *pf_cachedir_prune(const struct pf_cachedir *cd, const char *prefix,
			      const char *suffix, unsigned max_files, uint64_t max_bytes);

#endif
