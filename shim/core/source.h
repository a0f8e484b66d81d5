/*
 * source.h - where a tracked mapping came from, and the longest path kept
 * of its file: what the table (table.h) and the records about its entries
 * (events.h) both name.  Definitions only.
 */
#ifndef PF_SOURCE_H
#define PF_SOURCE_H

#define PF_PATH_MAX 512

enum pf_source {
	PF_SRC_HOOK,     /* seen by the mmap hook */
	PF_SRC_DISCOVER, /* found in /proc/self/maps */
	PF_SRC_COMPANION, /* the companion's own mapping of a target's file */
};

#endif
