/*
 * scan.c - one scan of /proc/self/maps against the table (see scan.h).
 *
 *   A scan snapshots the table (entry ranges, sources, identities), then
 *   reads maps in chunks into a static buffer (no malloc, any size; a line
 *   may span two reads; sys/procmap.c parses it) and walks lines and
 *   snapshot together in address order:
 *     - a discovered entry stays as long as lines of its file, at the right
 *       offsets, cover it; what they no longer cover is forgotten;
 *     - a readable line of a regular file that no entry covers goes to
 *       newmap.c (core/admission.c's rule), unless it belongs to a program
 *       or library (a file with an executable mapping among its
 *       consecutive lines).  newmap.c remembers a rejected line
 *       (rejected.c), so it is reported once and never stat'ed again.
 *
 * Lock rules
 *   Discovery thread only: the buffer, snapshot, gaps and group below.
 *   table_lock is taken through pf_table_lock() only to copy the snapshot,
 *   and inside pf_table_forget_from() to re-check an entry before
 *   forgetting it; no system call is made while it is held.
 */
#include "lib/scan.h"
#include "core/table.h"
#include "lib/newmap.h"
#include "lib/rejected.h"
#include "sys/procmap.h"
#include "sys/real.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t lines_last = 512, lines_now; /* lines of maps: last scan's, this one's */

/* ------------------------------------------------------------------ */
/* The table as it was when the scan began                             */

struct snap {
	uintptr_t start, end;
	uintptr_t cursor;   /* discovered entries: covered up to here so far */
	uint64_t offset;
	uint64_t ino;
	uint64_t id;
	bool discovered;
};

static struct snap *snap;     /* pf_sys_mmap'ed, grown as the table grows */
static size_t snap_cap, snap_n;

static bool snap_reserve(size_t want)
{
	if (want <= snap_cap)
		return true;
	size_t cap = snap_cap ? snap_cap : 256;
	while (cap < want)
		cap *= 2;
	void *p = pf_sys_mmap(NULL, cap * sizeof *snap, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	if (snap)
		pf_sys_munmap(snap, snap_cap * sizeof *snap);
	snap = p;
	snap_cap = cap;
	return true;
}

/* Copies the table; false when it did not fit (try again next time). */
static bool snap_take(void)
{
	if (!snap_reserve(pf_table_count() + 16))
		return false;
	bool fit = true;
	snap_n = 0;
	pf_table_lock();
	struct pf_mapping *m, *tmp, *head = pf_table_head_locked();
	HASH_ITER(hh, head, m, tmp) {
		if (snap_n == snap_cap) {
			fit = false;
			break;
		}
		struct snap *s = &snap[snap_n++];
		s->start = s->cursor = m->start;
		s->end = m->start + m->len;
		s->offset = (uint64_t)m->offset;
		s->ino = (uint64_t)m->ino;
		s->id = m->id;
		s->discovered = m->source == PF_SRC_DISCOVER;
	}
	pf_table_unlock();
	if (!fit)
		return false;
	/* Shell sort by start: no allocation, fine for thousands of entries. */
	static const size_t gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };
	for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
		size_t gap = gaps[g];
		for (size_t i = gap; i < snap_n; i++) {
			struct snap t = snap[i];
			size_t j = i;
			for (; j >= gap && snap[j - gap].start > t.start; j -= gap)
				snap[j] = snap[j - gap];
			snap[j] = t;
		}
	}
	return true;
}

/* Does the line show the file of entry s at the offsets s expects? */
static bool line_matches(const struct pf_maps_line *l, const struct snap *s)
{
	return l->ino == s->ino &&
	       l->offset + (s->start - l->start) == s->offset;
}

/* ------------------------------------------------------------------ */
/* Ranges to forget, found by a scan and forgotten after it             */

struct gap {
	uintptr_t start, end;
	uintptr_t entry;  /* the discovered entry it was part of, as it was */
	size_t entry_len;
	uint64_t id;
};

#define GAPS_MAX 512
static struct gap gaps_buf[GAPS_MAX];
static size_t gaps_n;
static bool gaps_overflow;

static void add_gap(const struct snap *s, uintptr_t a, uintptr_t b)
{
	if (a >= b)
		return;
	if (gaps_n == GAPS_MAX) {
		gaps_overflow = true;
		return;
	}
	gaps_buf[gaps_n++] = (struct gap){ a, b, s->start, s->end - s->start, s->id };
}

static void finish_entry(struct snap *s)
{
	if (s->discovered)
		add_gap(s, s->cursor, s->end);
}

/* ------------------------------------------------------------------ */
/* Lines of one file                                                   */

/* Consecutive lines of one file, held back until the file's last line: a
 * file with an executable mapping among them is a program or a library. */
static struct {
	uint64_t ino;
	unsigned maj, min;
	bool x;
	size_t n;
	struct pf_maps_line lines[PF_NEWMAP_PIECES_MAX];
	char path[PATH_MAX + 32];
} group;
static size_t cand_i; /* snapshot cursor for candidates */

/* Sends the parts of l no entry covers to consider().  Hook entries cover
 * whatever they overlap; discovered ones only lines of their own file. */
static void candidate_line(const struct pf_maps_line *l)
{
	while (cand_i < snap_n && snap[cand_i].end <= l->start)
		cand_i++;
	uintptr_t at = l->start;
	for (size_t j = cand_i; j < snap_n && snap[j].start < l->end; j++) {
		const struct snap *s = &snap[j];
		if (s->discovered && !line_matches(l, s))
			continue;
		if (s->start > at)
			pf_newmap_consider(l, at, s->start);
		if (s->end > at)
			at = s->end;
	}
	if (at < l->end)
		pf_newmap_consider(l, at, l->end);
}

static void group_flush(void)
{
	if (group.n && !group.x) {
		for (size_t i = 0; i < group.n; i++) {
			group.lines[i].path = group.path;
			if (group.lines[i].r)
				candidate_line(&group.lines[i]);
		}
	}
	group.n = 0;
	group.x = false;
}

static void group_add(const struct pf_maps_line *l)
{
	if (group.n && (group.ino != l->ino || group.maj != l->maj || group.min != l->min ||
			strcmp(group.path, l->path) != 0))
		group_flush();
	if (group.n == PF_NEWMAP_PIECES_MAX) {
		/* A file in more pieces than we hold: decide on what we saw. */
		bool x = group.x;
		group_flush();
		group.x = x;
	}
	if (group.n == 0) {
		group.ino = l->ino;
		group.maj = l->maj;
		group.min = l->min;
		strncpy(group.path, l->path, sizeof group.path - 1);
		group.path[sizeof group.path - 1] = '\0';
	}
	group.x |= l->x;
	group.lines[group.n++] = *l;
}

/* ------------------------------------------------------------------ */
/* A scan                                                              */

static size_t cover_i; /* snapshot cursor for coverage */

/* Coverage of discovered entries by line l. */
static void cover_line(const struct pf_maps_line *l)
{
	while (cover_i < snap_n && snap[cover_i].end <= l->start)
		finish_entry(&snap[cover_i++]);
	for (size_t j = cover_i; j < snap_n && snap[j].start < l->end; j++) {
		struct snap *s = &snap[j];
		if (!s->discovered || !line_matches(l, s))
			continue;
		uintptr_t a = l->start > s->start ? l->start : s->start;
		uintptr_t b = l->end < s->end ? l->end : s->end;
		if (a > s->cursor)
			add_gap(s, s->cursor, a);
		if (b > s->cursor)
			s->cursor = b;
	}
}

static void handle_line(char *text)
{
	struct pf_maps_line l;
	lines_now++;
	if (!pf_maps_parse_line(text, &l))
		return;
	cover_line(&l);
	if (l.ino != 0 && l.path[0] == '/')
		group_add(&l);
	else
		group_flush();
}

static char scan_buf[64 * 1024];

/* Reads maps through; -1 when it cannot be read. */
static int read_maps(const char *maps_path)
{
	int fd = open(maps_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t have = 0;
	bool skipping = false; /* inside a line longer than the buffer */
	for (;;) {
		ssize_t r = read(fd, scan_buf + have, sizeof scan_buf - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		char *p = scan_buf, *end = scan_buf + have;
		char *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			*nl = '\0';
			if (!skipping)
				handle_line(p);
			skipping = false;
			p = nl + 1;
		}
		have = (size_t)(end - p);
		if (have == sizeof scan_buf - 1) {
			skipping = true;
			have = 0;
		} else if (have) {
			memmove(scan_buf, p, have);
		}
	}
	close(fd);
	if (have && !skipping) {
		scan_buf[have] = '\0';
		handle_line(scan_buf);
	}
	return 0;
}

/* Forgets what a scan found gone, from the discovered entry the scan saw
 * only, and only while it is unchanged: the check and the cut are one step
 * under table_lock, so an entry a hook tracked meanwhile (a new id) is never
 * lost. */
static void forget_gaps(void)
{
	for (size_t i = 0; i < gaps_n; i++) {
		const struct gap *g = &gaps_buf[i];
		pf_table_forget_from(g->entry, g->id, g->entry_len, g->start, g->end - g->start);
	}
}

int pf_scan_maps(const char *maps_path)
{
	bool whole = snap_take();
	cover_i = cand_i = 0;
	gaps_n = 0;
	gaps_overflow = false;
	pf_newmap_begin();
	group.n = 0;
	group.x = false;
	if (!whole)
		snap_n = 0; /* see everything as new: track only, forget nothing */
	pf_rejected_rotate(lines_last);
	lines_now = 0;
	int rc = read_maps(maps_path);
	if (rc == 0) {
		lines_last = lines_now;
		group_flush();
		while (cover_i < snap_n)
			finish_entry(&snap[cover_i++]);
		if (whole)
			forget_gaps();
	}
	pf_newmap_end();
	return rc;
}
