/*
 * pagemap.h - reading the calling process's /proc/self/pagemap (pagemap.c):
 * one 64-bit entry a page.  Readable without privileges; the page frame
 * numbers then read as zero, the flags below stay true.
 *
 * No state, no lock.  The caller opens the file once for a batch of reads
 * (pf_pagemap_open) and closes it: prefault holds no descriptor between
 * uses.
 */
#ifndef PF_PAGEMAP_H
#define PF_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

#define PF_PM_PRESENT (1ull << 63) /* in memory, mapped here */
#define PF_PM_SWAPPED (1ull << 62)
#define PF_PM_FILE (1ull << 61)    /* a page-cache (or shared anonymous) page */

/* A descriptor of /proc/self/pagemap, or -1 (errno kept). */
int pf_pagemap_open(void);

/* Reads the entries of the n pages from the one holding addr into ent;
 * returns how many were read (fewer than n on an error or at the end of the
 * address space). */
size_t pf_pagemap_read(int fd, uintptr_t addr, uint64_t *ent, size_t n);

#endif
