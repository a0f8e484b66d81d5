/*
 * log.h - one-line messages and the destinations they go to (log.c).
 *
 * A destination is a path ("%p" becomes the pid), "stderr" or "fd:N".  A
 * path is opened, appended to and closed for every write, so prefault never
 * holds a descriptor the program could trip on.  No lock: each line is one
 * write(2) on an O_APPEND descriptor.
 */
#ifndef PF_LOG_H
#define PF_LOG_H

#include <stddef.h>

/* Writes "prefault: <message>\n" to PREFAULT_LOG, and as a warning record to
 * PREFAULT_STATS; silent when neither is set. */
void pf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends len bytes to a destination; returns 0 or -1 with errno set. */
int pf_dest_write(const char *dest, const char *buf, size_t len);
/* Returns 0 when dest is well formed (and a path's directory exists). */
int pf_dest_check(const char *dest);

#endif
