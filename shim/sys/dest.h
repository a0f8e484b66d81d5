/*
 * dest.h - the destinations the log and the report write to (dest.c).
 *
 * A destination is a path ("%p" becomes the pid), "stderr" or "fd:N".  A
 * path is opened, appended to and closed for every write, so prefault never
 * holds a descriptor the program could trip on.  No lock: each line is one
 * write(2) on an O_APPEND descriptor.
 */
#ifndef PF_DEST_H
#define PF_DEST_H

#include <stddef.h>

/* Appends len bytes to a destination; returns 0 or -1 with errno set. */
int pf_dest_write(const char *dest, const char *buf, size_t len);
/* 0 when dest has a destination's form (not empty; fd: followed by digits). */
int pf_dest_form(const char *dest);
/* A path destination made absolute against the current directory, in out;
 * stderr, fd:N and absolute paths are copied.  Returns 0, or -1 when the
 * result does not fit (the relative path is kept when there is no current
 * directory to read). */
int pf_dest_absolute(const char *dest, char *out, size_t size);
/* NULL when dest can be appended to (a path is created if need be), else
 * why not (strerror). */
const char *pf_dest_problem(const char *dest);

#endif
