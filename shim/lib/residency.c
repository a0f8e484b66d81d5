/*
 * residency.c - the proc record's per-mapping part, library only: pages of
 * each tracked mapping present in this process, from /proc/self/pagemap
 * (bit 63), and the program's major faults attributed to it (attrib.c).
 * Registered with the statistics by init.c (struct pf_stats_host).
 *
 * Its cost is bounded: at most MAX_LISTED mappings a record and
 * PAGEMAP_PAGES pages read a record; a mapping with more pages than its
 * share is sampled in evenly spaced blocks of SAMPLE_BLOCK pages and its
 * count is scaled (the record gives "sampled" beside "pages").  It runs
 * under stats.c's proc_lock, which guards the static snapshot below; it
 * takes table_lock for the snapshot only.
 */
#include "lib/residency.h"
#include "core/table.h"
#include "lib/attrib.h"
#include "sys/pagemap.h"

#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#define MAX_LISTED 64
#define PAGEMAP_PAGES 65536
#define SAMPLE_BLOCK 256

static struct {
	uintptr_t start;
	size_t len;
	uint64_t id;
} listed[MAX_LISTED];

/* Pages present among n pages from page index first (fd: pagemap). */
static long present(int fd, uintptr_t first, size_t n)
{
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uint64_t ent[512];
	long count = 0;
	while (n > 0) {
		size_t k = pf_pagemap_read(fd, first * page, ent, n < 512 ? n : 512);
		if (k == 0)
			return -1;
		for (size_t i = 0; i < k; i++)
			count += (ent[i] & PF_PM_PRESENT) != 0;
		first += k;
		n -= k;
	}
	return count;
}

size_t pf_residency_json(char *buf, size_t size)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned n = 0, omitted = 0;
	pf_attrib_drain();
	pf_table_lock();
	for (struct pf_mapping *m = pf_table_head_locked(); m; m = m->hh.next) {
		if (n == MAX_LISTED) {
			omitted++;
			continue;
		}
		listed[n].start = m->start;
		listed[n].len = m->len;
		listed[n].id = m->id;
		n++;
	}
	pf_table_unlock();

	size_t o = pf_attrib_json(buf, size);
	int fd = pf_pagemap_open();
	o += (size_t)snprintf(buf + o, size > o ? size - o : 0, ",\"residency\":\"%s\",\"mappings\":[",
			      fd >= 0 ? "pagemap" : "unavailable");
	size_t share = n ? PAGEMAP_PAGES / n : 0;
	if (share < 4 * SAMPLE_BLOCK)
		share = 4 * SAMPLE_BLOCK;
	for (unsigned i = 0; i < n && o + 200 < size; i++) {
		size_t pages = (listed[i].len + page - 1) / page, sampled = 0;
		uintptr_t first = listed[i].start / page;
		long res = -1;
		if (fd >= 0 && pages <= share) {
			res = present(fd, first, pages);
			sampled = pages;
		} else if (fd >= 0) {
			size_t blocks = share / SAMPLE_BLOCK;
			long got = 0;
			for (size_t b = 0; b < blocks && got >= 0; b++) {
				size_t at = (size_t)((double)b * (double)(pages - SAMPLE_BLOCK) / (double)(blocks - 1));
				long p = present(fd, first + at, SAMPLE_BLOCK);
				got = p < 0 ? -1 : got + p;
				sampled += SAMPLE_BLOCK;
			}
			if (got >= 0)
				res = (long)((double)got * (double)pages / (double)sampled + 0.5);
		}
		uint64_t majflt;
		double first_t;
		int known = pf_attrib_mapping(listed[i].id, &majflt, &first_t);
		char fault[80] = "", when[48] = "";
		if (known)
			snprintf(fault, sizeof fault, ",\"majflt\":%" PRIu64, majflt);
		if (known && majflt)
			snprintf(when, sizeof when, ",\"first_fault\":%.6f", first_t);
		o += (size_t)snprintf(buf + o, size - o,
				      "%s{\"id\":%" PRIu64 ",\"pages\":%zu,\"resident\":%ld,\"sampled\":%zu%s%s}",
				      i ? "," : "", listed[i].id, pages, res, sampled, fault, when);
	}
	if (fd >= 0)
		close(fd);
	if (o < size)
		o += (size_t)snprintf(buf + o, size - o, "],\"mappings_omitted\":%u", omitted);
	return o < size ? o : size - 1;
}
