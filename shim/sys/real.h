/*
 * real.h - the libc functions the hooks stand in front of (real.c).
 *
 * pf_real_resolve() looks every one of them up once, from the constructor.
 * Before that (another library's constructor running first), and whenever a
 * lookup failed, the pf_real_* calls go straight to the system call and set
 * errno the way libc does.  No locks.
 */
#ifndef PF_REAL_H
#define PF_REAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* False when one of them was not found (its calls are system calls). */
bool pf_real_resolve(void);
void *pf_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int pf_real_munmap(void *addr, size_t len);
void *pf_real_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);

/* Raw system calls for prefault's own memory: they never enter a hook. */
void *pf_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int pf_sys_munmap(void *addr, size_t len);

#endif
