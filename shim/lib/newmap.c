/*
 * newmap.c - a file mapping discovery found that no entry covers: admitted
 * by core/admission.c's rule and tracked (PF_SRC_DISCOVER), or rejected,
 * remembered (rejected.c) and reported with a skip record, a few per scan
 * (see newmap.h).
 *
 * Lock rules: discovery thread only (the counters below); table_lock is
 * taken inside table.c's calls, never held here across the stat.
 */
#include "lib/newmap.h"
#include "core/admission.h"
#include "core/table.h"
#include "lib/rejected.h"
#include "work/helpers.h"
#include "core/events.h"
#include "core/report.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SKIPS_PER_SCAN 64           /* skip records one scan may queue */

static unsigned tracked_now; /* entries tracked by the current scan */
static unsigned skips_now;   /* skip records queued by the current scan */
static long page_size;

static void reject(const struct pf_maps_line *l, uintptr_t a, size_t len, uint64_t off, const char *why)
{
	pf_rejected_add(a, len, l->ino, off);
	/* A process with thousands of tiny mappings would flood the report
	 * (and drop the records that matter): a few per scan. */
	if (!pf_stats_enabled() || skips_now >= SKIPS_PER_SCAN)
		return;
	skips_now++;
	pf_events_queue_skip(PF_SRC_DISCOVER, l->path, a, len, (off_t)off, why);
}

/* The rule of core/admission.c decides, the path's stat only for what
 * passes its first half. */
void pf_newmap_consider(const struct pf_maps_line *l, uintptr_t a, uintptr_t b)
{
	size_t len = b - a;
	uint64_t off = l->offset + (a - l->start);
	struct stat st;

	if (pf_rejected_has(a, len, l->ino, off))
		return;
	const char *why = pf_admit_mapping(l->r, l->deleted, len, l->path);
	if (!why)
		why = pf_admit_file(stat(l->path, &st) == 0 ? &st : NULL, l->ino, off,
				    (size_t)page_size, &len);
	if (why) {
		reject(l, a, b - a, off, why);
		return;
	}
	if (pf_table_contains(a, len, st.st_dev, st.st_ino))
		return; /* a hook tracked it since the snapshot */
	struct pf_desc d = {
		.start = a,
		.len = len,
		.offset = (off_t)off,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.source = PF_SRC_DISCOVER,
		.path = l->path,
	};
	if (pf_table_track(&d) != 0) {
		reject(l, a, len, off, PF_ADMIT_NO_MEMORY);
		return;
	}
	tracked_now++;
}

void pf_newmap_begin(void)
{
	if (!page_size)
		page_size = sysconf(_SC_PAGESIZE);
	tracked_now = skips_now = 0;
}

void pf_newmap_end(void)
{
	if (tracked_now)
		pf_helpers_wake();
	pf_stats_flush();
}
