/*
 * recordcheck.h - the file mappings of perf records, admitted without a
 * scan where the kernel answers PROCMAP_QUERY (recordcheck.c).  Discovery
 * thread only.
 */
#ifndef PF_RECORDCHECK_H
#define PF_RECORDCHECK_H

#include "lib/mapwatch.h"

#include <stdbool.h>
#include <stddef.h>

/* The records of one wakeup; false when a scan must decide instead (a
 * query failed, a name too long). */
bool pf_recordcheck(const struct pf_maprec *recs, size_t n);

#endif
