/*
 * remember.h - working-set memory's records (remember.c): per file, which
 * parts the program used and how soon after mapping, learned run after run,
 * kept in a private cache directory (sys/cachedir.c).
 *
 * A record carries the file's identity (path, device, inode, size, mtime in
 * ns) and its extents in file order, never overlapping, each with its first
 * touch (ms after the mapping) and a weight.  pf_remember_merge() folds a
 * run's touches in: parts touched again gain weight and keep their earliest
 * first touch, parts not touched lose half their weight and go below
 * PF_REMEMBER_WEIGHT_MIN, so a moving working set is followed and old parts
 * fade.  The record format is in remember.c.
 *
 * Knows no thread, no hook, never logs: a refusal is a static string the
 * caller logs once.  No state, no lock.  The buffers are the caller's
 * (pf_alloc: struct pf_remember is about 100 KiB, union
 * pf_remember_scratch about 400 KiB); nothing here allocates.
 */
#ifndef PF_REMEMBER_H
#define PF_REMEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sys/cachedir.h"

/* Bounds of a record: extents, path bytes, the encoded size. */
#define PF_REMEMBER_MAX_EXTENTS 4096u
#define PF_REMEMBER_PATH_MAX 4096u
#define PF_REMEMBER_HEADER_BYTES 64u
#define PF_REMEMBER_EXTENT_BYTES 24u
#define PF_REMEMBER_RECORD_MAX (PF_REMEMBER_HEADER_BYTES + PF_REMEMBER_PATH_MAX + \
				PF_REMEMBER_MAX_EXTENTS * PF_REMEMBER_EXTENT_BYTES + 4u)
/* Bounds of the directory, for pf_remember_store (the caller may pass its own). */
#define PF_REMEMBER_DIR_RECORDS 256u
#define PF_REMEMBER_DIR_BYTES (16ull << 20)
/* Weights: a part touched in a run it was not known in, the most a part
 * gains, and the least it may fade to before it is dropped. */
#define PF_REMEMBER_WEIGHT_NEW 256u
#define PF_REMEMBER_WEIGHT_MAX 1024u
#define PF_REMEMBER_WEIGHT_MIN 64u
/* first_ms of a touch whose time is not known. */
#define PF_REMEMBER_NO_TIME UINT32_MAX

struct pf_remember_extent {
	/* Bytes of the file: [off, off + len). */
	uint64_t off;
	uint64_t len;
	/* First touch, ms after the file was mapped (earliest of the runs). */
	uint32_t first_ms;
	/* PF_REMEMBER_WEIGHT_MIN..MAX in a record; ignored in a run's touches. */
	uint32_t weight;
};

struct pf_remember_id {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	/* NUL-terminated, shorter than PF_REMEMBER_PATH_MAX. */
	char path[PF_REMEMBER_PATH_MAX];
};

struct pf_remember {
	struct pf_remember_id id;
	/* Runs learned into this record. */
	uint32_t runs;
	/* Extents, in file order, not overlapping. */
	uint32_t n;
	struct pf_remember_extent ext[PF_REMEMBER_MAX_EXTENTS];
};

/* What pf_remember_merge works in, and pf_remember_load/store encode in. */
#define PF_REMEMBER_MERGE_CAP (4u * PF_REMEMBER_MAX_EXTENTS)
union pf_remember_scratch {
	unsigned char raw[PF_REMEMBER_RECORD_MAX];
	struct pf_remember_extent seg[PF_REMEMBER_MERGE_CAP];
};

enum pf_remember_status {
	/* A record of this very file: rec holds it. */
	PF_REMEMBER_LOADED,
	/* No record yet. */
	PF_REMEMBER_ABSENT,
	/* A record of the path (or of a file sharing its name's hash) whose
	 * identity differs (size, mtime, inode): no replay; the caller starts
	 * a fresh one. */
	PF_REMEMBER_CHANGED,
	/* Refused (*why): the directory's rules, or a truncated, corrupt,
	 * foreign, future-version or oversized record.  Log once, start a
	 * fresh one; storing it replaces the bad one. */
	PF_REMEMBER_REFUSED,
};

/* The identity of the file path, from its fstat; -1 when path is too long. */
int pf_remember_identity(struct pf_remember_id *id, const char *path, const struct stat *st);
/* True when a and b are the same file, unchanged. */
bool pf_remember_same(const struct pf_remember_id *a, const struct pf_remember_id *b);
/* The record's file name in the directory: "pf-" 16 hex digits ".rec", the
 * FNV-1a hash of dev and path (a file replaced at the path, a new inode,
 * finds the old record: "changed").  size >= 24. */
void pf_remember_name(const struct pf_remember_id *id, char *out, size_t size);
#define PF_REMEMBER_NAME_PREFIX "pf-"
#define PF_REMEMBER_NAME_SUFFIX ".rec"

/* An empty record of the file id. */
void pf_remember_init(struct pf_remember *rec, const struct pf_remember_id *id);

/* Sorts ext[0..n) by offset, merges overlapping and adjacent extents
 * (earliest first touch, highest weight) and drops empty ones; then, while
 * more than max remain, joins the neighbours with the smallest gaps between
 * them.  Returns the new count.  In place, no allocation. */
size_t pf_remember_normalize(struct pf_remember_extent *ext, size_t n, size_t max);

/* Learns a run: seen[0..n_seen) are the parts touched (any order, any
 * number; they are normalized in place, to at most PF_REMEMBER_MAX_EXTENTS).  Parts of rec
 * touched again: weight + WEIGHT_NEW up to WEIGHT_MAX, the earlier first
 * touch; parts new: WEIGHT_NEW; parts not touched: half their weight,
 * dropped below WEIGHT_MIN.  rec->runs counts the run. */
void pf_remember_merge(struct pf_remember *rec, struct pf_remember_extent *seen, size_t n_seen,
		       union pf_remember_scratch *scratch);

/* The neediest first, for replay: order[0..rec->n) are indices into
 * rec->ext, parts still strong (weight >= WEIGHT_NEW) before fading ones,
 * each group by first touch, then by weight (highest first), then offset. */
void pf_remember_needy_order(const struct pf_remember *rec, uint16_t *order);

/* Replay in file order with large reads: the extents from i on whose gaps
 * are at most max_gap (adjacent ones of different weights, 0 apart, among
 * them) make one read, [rec->ext[i].off, *end).  Returns the index after
 * them (rec->n at the end). */
uint32_t pf_remember_next_read(const struct pf_remember *rec, uint32_t i, uint64_t max_gap, uint64_t *end);

/* Encodes rec in buf (size >= PF_REMEMBER_RECORD_MAX); returns its length. */
size_t pf_remember_encode(const struct pf_remember *rec, void *buf, size_t size);
/* Decodes and checks a record's bytes: NULL, or why it is refused (each
 * case its own string: truncated, bad checksum, not a record, future
 * version, oversized, malformed). */
const char *pf_remember_decode(const void *buf, size_t len, struct pf_remember *rec);

/* The record of file id in the directory, into rec; *why on a refusal.
 * Anything but PF_REMEMBER_LOADED leaves rec an empty record of id, ready
 * for pf_remember_merge.  id must not be &rec->id. */
enum pf_remember_status pf_remember_load(const struct pf_cachedir *cd, const struct pf_remember_id *id,
					 struct pf_remember *rec, union pf_remember_scratch *scratch,
					 const char **why);
/* Writes rec (atomically) and prunes the directory to max_records records
 * of max_bytes together, the oldest dropped.  NULL, or why not. */
const char *pf_remember_store(const struct pf_cachedir *cd, const struct pf_remember *rec,
			      union pf_remember_scratch *scratch, unsigned max_records, uint64_t max_bytes);

#endif
