/*
 * newmap.h - a part of a maps line that no table entry covers, found by a
 * scan (scan.c) or for a perf record (recordcheck.c): tracked or rejected
 * (newmap.c).  Discovery thread only.
 */
#ifndef PF_NEWMAP_H
#define PF_NEWMAP_H

#include "sys/procmap.h"

#include <stdint.h>

/* The rule of discovery alone, on top of core/admission.c's: a file with
 * an executable mapping among its adjoining mappings is a program or a
 * library, and is left alone.  At most this many adjoining mappings of one
 * file are looked at. */
#define PF_NEWMAP_PIECES_MAX 64

/* Before a scan or the records of one wakeup: counts start from 0. */
void pf_newmap_begin(void);
/* [a, b) of line l is mapped and tracked by no one. */
void pf_newmap_consider(const struct pf_maps_line *l, uintptr_t a, uintptr_t b);
/* After: wakes the engine if anything was tracked, sends the skip records. */
void pf_newmap_end(void);

#endif
