/*
 * perfring.h - reading the records of a perf event's ring buffer, mapped
 * by its owner (perfring.c), for lib/mapwatch.c (MMAP2 side-band records)
 * and lib/attrib.c (major-fault samples).
 *
 * A read: pf_perfring_begin() takes the kernel's data_head (acquire),
 * pf_perfring_next() walks the records from data_tail, pf_perfring_copy()
 * copies out parts of the current one (a record may wrap around the end of
 * the ring), pf_perfring_end() gives the space back (data_tail, release).
 * No lock: one reader at a time per ring, the caller's to ensure.
 */
#ifndef PF_PERFRING_H
#define PF_PERFRING_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pf_perfring {
	struct perf_event_mmap_page *meta;
	const unsigned char *data;
	uint64_t size, head, tail, at; /* at: the current record's start */
};

void pf_perfring_begin(struct pf_perfring *r, struct perf_event_mmap_page *meta);
/* The next record's header; false when there is none (or a malformed one). */
bool pf_perfring_next(struct pf_perfring *r, struct perf_event_header *h);
/* len bytes at offset off of the current record (off 0: its header). */
void pf_perfring_copy(const struct pf_perfring *r, size_t off, void *dst, size_t len);
/* Every record up to the head taken at begin is consumed. */
void pf_perfring_end(struct pf_perfring *r);

#endif
