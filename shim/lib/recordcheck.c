/*
 * recordcheck.c - the file mappings perf records name (mapwatch.c), checked
 * with PROCMAP_QUERY (sys/procmap.c) on their range alone instead of a
 * scan of all of maps (see recordcheck.h).  What the table held there from
 * before the record's time is forgotten (pf_table_clear_stale); the parts
 * that still map the record's file at its offsets go to newmap.c.
 *
 * Lock rules: discovery thread only; no state.  table_lock is taken inside
 * table.c's calls only.
 */
#include "lib/recordcheck.h"
#include "core/table.h"
#include "lib/newmap.h"
#include "sys/procmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

static bool same_file(const struct pf_vma *v, uint64_t ino, unsigned maj, unsigned min)
{
	return v->ino == ino && v->maj == maj && v->min == min;
}

/* The rule of a scan's groups, on the mappings next to v: a file with an
 * executable mapping among its adjoining mappings is a program or a library.
 * -1 when a query failed. */
static int is_program(int fd, const struct pf_vma *v)
{
	if (v->x)
		return 1;
	for (int up = 0; up < 2; up++) {
		uintptr_t at = up ? v->end : v->start;
		for (int k = 0; k < PF_NEWMAP_PIECES_MAX && (up || at > 0); k++) {
			struct pf_vma n;
			int err = pf_procmap_query(fd, up ? at : at - 1, false, &n);
			if (err == ENOENT || (!err && (!same_file(&n, v->ino, v->maj, v->min) ||
						       (up ? n.start : n.end) != at)))
				break;
			if (err)
				return -1;
			if (n.x)
				return 1;
			at = up ? n.end : n.start;
		}
	}
	return 0;
}

/* One record: the parts of its range that still map its file at its
 * offsets go to newmap.c, after what they replaced is forgotten.  False
 * when the answer is unclear (a query failed, a name too long): scan. */
static bool check_record(int fd, const struct pf_maprec *r)
{
	uintptr_t at = r->addr, end = r->addr + r->len;
	while (at < end) {
		struct pf_vma v;
		int err = pf_procmap_query(fd, at, true, &v);
		if (err == ENOENT)
			return true; /* unmapped since */
		if (err)
			return false;
		if (v.start >= end)
			return true;
		uintptr_t a = v.start > at ? v.start : at;
		uintptr_t b = v.end < end ? v.end : end;
		if (same_file(&v, r->ino, r->maj, r->min) && v.r &&
		    v.offset + (a - v.start) == r->pgoff + (a - r->addr)) {
			if (v.path_cut)
				return false;
			int prog = is_program(fd, &v);
			if (prog < 0)
				return false;
			if (!prog && v.path[0] == '/' && !pf_table_clear_stale(a, b - a, r->t_ns)) {
				struct pf_maps_line l = {
					.start = v.start, .end = v.end, .offset = v.offset,
					.maj = v.maj, .min = v.min, .ino = v.ino,
					.r = v.r, .x = v.x, .path = v.path,
					.deleted = pf_maps_path_deleted(v.path),
				};
				pf_newmap_consider(&l, a, b);
			}
		}
		at = v.end;
	}
	return true;
}

bool pf_recordcheck(const struct pf_maprec *recs, size_t n)
{
	int fd = pf_procmap_open();
	if (fd < 0)
		return false;
	pf_newmap_begin();
	bool clear = true;
	for (size_t i = 0; i < n && clear; i++)
		clear = check_record(fd, &recs[i]);
	pf_procmap_close(fd);
	pf_newmap_end();
	return clear;
}
