/*
 * rejected.h - the parts of maps lines discovery rejected (rejected.c), by
 * start, length, inode and offset: a set that forgets what a scan no
 * longer sees.  Discovery thread only.
 */
#ifndef PF_REJECTED_H
#define PF_REJECTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At the start of a scan: the current set becomes the last one, and the
 * current one is emptied, made large enough for lines (the last scan's
 * count) first. */
void pf_rejected_rotate(size_t lines);
/* Was this part of a line rejected before?  Keeps it rejected if so. */
bool pf_rejected_has(uintptr_t start, size_t len, uint64_t ino, uint64_t off);
void pf_rejected_add(uintptr_t start, size_t len, uint64_t ino, uint64_t off);
/* fork child: the parent's thread may have been mid-scan; the next scan
 * starts from empty sets. */
void pf_rejected_after_fork_child(void);

#endif
