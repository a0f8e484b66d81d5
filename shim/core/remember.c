/*
 * remember.c - working-set memory's records (see remember.h): their format,
 * checks, merging and fading.  No state, no lock, never logs.
 *
 * The record format, version 1.  One file per mapped file, named
 * "pf-%016x.rec" after the FNV-1a 64 hash of its st_dev (8 bytes,
 * little-endian) and path: not of the inode, so that a file replaced by a
 * rename finds its old record, is told "changed" and overwrites it rather
 * than leaving it behind.  Every number little-endian:
 *
 *   offset size  field
 *        0    4  magic "PFWS"
 *        4    2  version, 1 (a higher one is refused: "future version")
 *        6    2  header bytes, 64
 *        8    8  st_dev of the file
 *       16    8  st_ino
 *       24    8  st_size
 *       32    8  st_mtim in ns since the epoch (signed)
 *       40    4  runs learned
 *       44    4  n, extents (at most 4096)
 *       48    4  path bytes (no NUL, below 4096)
 *       52   12  zero
 *       64       the path, zero-padded to a multiple of 8
 *                n extents of 24 bytes, by offset, not overlapping:
 *                  8 offset, 8 length (> 0), 4 first touch in ms after
 *                  mapping (0xffffffff unknown), 4 weight (64..1024)
 *                4 CRC-32 (IEEE 802.3, as zlib's crc32) of all bytes before
 *
 * A record is at most 64 + 4096 + 4096 * 24 + 4 bytes; anything else is
 * refused with its own reason: shorter than it says ("truncated"), a wrong
 * checksum, another magic ("not a prefault record"), a later version, more
 * than the bounds ("oversized"), inconsistent fields ("malformed").
 */
#include "core/remember.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "PFWS"
#define VERSION 1u

/* Little-endian fields. */
static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t crc32_ieee(const unsigned char *p, size_t len)
{
	static const uint32_t nibble[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return ~crc;
}

static uint64_t end_of(const struct pf_remember_extent *e)
{
	return e->off + e->len;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint32_t max32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

int pf_remember_identity(struct pf_remember_id *id, const char *path, const struct stat *st)
{
	size_t len = strlen(path);
	if (len >= PF_REMEMBER_PATH_MAX)
		return -1;
	memset(id, 0, sizeof *id);
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->size = (uint64_t)st->st_size;
	id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	memcpy(id->path, path, len + 1);
	return 0;
}

bool pf_remember_same(const struct pf_remember_id *a, const struct pf_remember_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && strcmp(a->path, b->path) == 0;
}

void pf_remember_name(const struct pf_remember_id *id, char *out, size_t size)
{
	unsigned char key[8];
	uint64_t h = 0xcbf29ce484222325ull;
	put64(key, id->dev);
	for (size_t i = 0; i < sizeof key; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	for (const char *p = id->path; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	snprintf(out, size, PF_REMEMBER_NAME_PREFIX "%016llx" PF_REMEMBER_NAME_SUFFIX, (unsigned long long)h);
}

void pf_remember_init(struct pf_remember *rec, const struct pf_remember_id *id)
{
	if (&rec->id != id)
		rec->id = *id;
	rec->runs = 0;
	rec->n = 0;
}

/* Heapsort, so that nothing allocates (glibc's qsort may call malloc). */
struct sorter {
	bool (*less)(const struct sorter *s, size_t a, size_t b);
	void (*swap)(const struct sorter *s, size_t a, size_t b);
	void *base;
	const void *ctx;
};

static void sift_down(const struct sorter *s, size_t root, size_t n)
{
	for (;;) {
		size_t child = 2 * root + 1;
		if (child >= n)
			return;
		if (child + 1 < n && s->less(s, child, child + 1))
			child++;
		if (!s->less(s, root, child))
			return;
		s->swap(s, root, child);
		root = child;
	}
}

static void heap_sort(const struct sorter *s, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(s, i, n);
	for (size_t end = n; end-- > 1;) {
		s->swap(s, 0, end);
		sift_down(s, 0, end);
	}
}

static bool extent_less(const struct sorter *s, size_t a, size_t b)
{
	const struct pf_remember_extent *e = s->base;
	return e[a].off < e[b].off || (e[a].off == e[b].off && e[a].len < e[b].len);
}

static void extent_swap(const struct sorter *s, size_t a, size_t b)
{
	struct pf_remember_extent *e = s->base, t = e[a];
	e[a] = e[b];
	e[b] = t;
}

/* Joins neighbours across the smallest gaps until at most max remain:
 * the gap G below which all are joined is found by bisection. */
static size_t join_gaps(struct pf_remember_extent *ext, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t need = n - max;
	uint64_t lo = 0, hi = UINT64_MAX;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		size_t count = 0;
		for (size_t k = 1; k < n; k++)
			count += ext[k].off - end_of(&ext[k - 1]) <= mid;
		if (count >= need)
			hi = mid;
		else
			lo = mid + 1;
	}
	size_t below = 0;
	for (size_t k = 1; k < n; k++)
		below += ext[k].off - end_of(&ext[k - 1]) < lo;
	size_t at_lo = need - below;
	size_t w = 0;
	for (size_t k = 1; k < n; k++) {
		uint64_t gap = ext[k].off - end_of(&ext[k - 1]);
		bool join = gap < lo || (gap == lo && at_lo > 0);
		if (join) {
			if (gap == lo)
				at_lo--;
			ext[w].len = end_of(&ext[k]) - ext[w].off;
			ext[w].first_ms = min32(ext[w].first_ms, ext[k].first_ms);
			ext[w].weight = max32(ext[w].weight, ext[k].weight);
		} else {
			ext[++w] = ext[k];
		}
	}
	return w + 1;
}

size_t pf_remember_normalize(struct pf_remember_extent *ext, size_t n, size_t max)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ext[i].len)
			continue;
		ext[w] = ext[i];
		if (ext[w].len > UINT64_MAX - ext[w].off)
			ext[w].len = UINT64_MAX - ext[w].off;
		w++;
	}
	n = w;
	struct sorter s = { extent_less, extent_swap, ext, NULL };
	heap_sort(&s, n);
	w = 0;
	for (size_t i = 1; i < n; i++) {
		if (ext[i].off <= end_of(&ext[w])) {
			uint64_t end = end_of(&ext[i]) > end_of(&ext[w]) ? end_of(&ext[i]) : end_of(&ext[w]);
			ext[w].len = end - ext[w].off;
			ext[w].first_ms = min32(ext[w].first_ms, ext[i].first_ms);
			ext[w].weight = max32(ext[w].weight, ext[i].weight);
		} else {
			ext[++w] = ext[i];
		}
	}
	return join_gaps(ext, n ? w + 1 : 0, max);
}

/* Appends [off, off + len) to seg[0..*m), joined with the last one when
 * adjacent and of the same weight. */
static void emit(struct pf_remember_extent *seg, size_t *m, uint64_t off, uint64_t len,
		 uint32_t first_ms, uint32_t weight)
{
	struct pf_remember_extent *last = *m ? &seg[*m - 1] : NULL;
	if (last && end_of(last) == off && last->weight == weight) {
		last->len += len;
		last->first_ms = min32(last->first_ms, first_ms);
		return;
	}
	/* Never reached: two lists of n and k extents cut into at most
	 * 2(n + k) - 1 pieces, fewer than PF_REMEMBER_MERGE_CAP. */
	if (*m == PF_REMEMBER_MERGE_CAP)
		return;
	seg[(*m)++] = (struct pf_remember_extent){ off, len, first_ms, weight };
}

void pf_remember_merge(struct pf_remember *rec, struct pf_remember_extent *seen, size_t n_seen,
		       union pf_remember_scratch *scratch)
{
	const struct pf_remember_extent *o = rec->ext;
	size_t no = rec->n;
	size_t ns = pf_remember_normalize(seen, n_seen, PF_REMEMBER_MAX_EXTENTS);
	struct pf_remember_extent *seg = scratch->seg;
	size_t i = 0, j = 0, m = 0;
	uint64_t p = 0;
	/* A sweep over both lists in file order: [p, q) is a piece in which
	 * being in the record and being touched do not change. */
	for (;;) {
		while (i < no && end_of(&o[i]) <= p)
			i++;
		while (j < ns && end_of(&seen[j]) <= p)
			j++;
		if (i >= no && j >= ns)
			break;
		bool in_old = i < no && o[i].off <= p;
		bool in_seen = j < ns && seen[j].off <= p;
		if (!in_old && !in_seen) {
			p = min64(i < no ? o[i].off : UINT64_MAX, j < ns ? seen[j].off : UINT64_MAX);
			continue;
		}
		uint64_t q = UINT64_MAX;
		if (i < no)
			q = min64(q, in_old ? end_of(&o[i]) : o[i].off);
		if (j < ns)
			q = min64(q, in_seen ? end_of(&seen[j]) : seen[j].off);
		if (in_old && in_seen)
			emit(seg, &m, p, q - p, min32(o[i].first_ms, seen[j].first_ms),
			     min32(o[i].weight + PF_REMEMBER_WEIGHT_NEW, PF_REMEMBER_WEIGHT_MAX));
		else if (in_seen)
			emit(seg, &m, p, q - p, seen[j].first_ms, PF_REMEMBER_WEIGHT_NEW);
		else if (o[i].weight / 2 >= PF_REMEMBER_WEIGHT_MIN)
			emit(seg, &m, p, q - p, o[i].first_ms, o[i].weight / 2);
		p = q;
	}
	m = join_gaps(seg, m, PF_REMEMBER_MAX_EXTENTS);
	memcpy(rec->ext, seg, m * sizeof *seg);
	rec->n = (uint32_t)m;
	rec->runs++;
}

static bool strong(const struct pf_remember_extent *e)
{
	return e->weight >= PF_REMEMBER_WEIGHT_NEW;
}

static bool needier(const struct sorter *s, size_t a, size_t b)
{
	const uint16_t *order = s->base;
	const struct pf_remember *rec = s->ctx;
	const struct pf_remember_extent *x = &rec->ext[order[a]], *y = &rec->ext[order[b]];
	if (strong(x) != strong(y))
		return strong(x);
	if (x->first_ms != y->first_ms)
		return x->first_ms < y->first_ms;
	if (x->weight != y->weight)
		return x->weight > y->weight;
	return x->off < y->off;
}

static void index_swap(const struct sorter *s, size_t a, size_t b)
{
	uint16_t *order = s->base, t = order[a];
	order[a] = order[b];
	order[b] = t;
}

void pf_remember_needy_order(const struct pf_remember *rec, uint16_t *order)
{
	for (uint32_t i = 0; i < rec->n; i++)
		order[i] = (uint16_t)i;
	struct sorter s = { needier, index_swap, order, rec };
	heap_sort(&s, rec->n);
}

uint32_t pf_remember_next_read(const struct pf_remember *rec, uint32_t i, uint64_t max_gap, uint64_t *end)
{
	*end = end_of(&rec->ext[i]);
	for (i++; i < rec->n && rec->ext[i].off - *end <= max_gap; i++)
		*end = end_of(&rec->ext[i]);
	return i;
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t pf_remember_encode(const struct pf_remember *rec, void *buf, size_t size)
{
	unsigned char *b = buf;
	size_t path_len = strlen(rec->id.path);
	size_t len = PF_REMEMBER_HEADER_BYTES + pad8(path_len) + (size_t)rec->n * PF_REMEMBER_EXTENT_BYTES + 4;
	if (len > size || rec->n > PF_REMEMBER_MAX_EXTENTS || path_len >= PF_REMEMBER_PATH_MAX)
		return 0;
	memset(b, 0, PF_REMEMBER_HEADER_BYTES + pad8(path_len));
	memcpy(b, MAGIC, 4);
	put16(b + 4, VERSION);
	put16(b + 6, PF_REMEMBER_HEADER_BYTES);
	put64(b + 8, rec->id.dev);
	put64(b + 16, rec->id.ino);
	put64(b + 24, rec->id.size);
	put64(b + 32, (uint64_t)rec->id.mtime_ns);
	put32(b + 40, rec->runs);
	put32(b + 44, rec->n);
	put32(b + 48, (uint32_t)path_len);
	memcpy(b + PF_REMEMBER_HEADER_BYTES, rec->id.path, path_len);
	unsigned char *e = b + PF_REMEMBER_HEADER_BYTES + pad8(path_len);
	for (uint32_t i = 0; i < rec->n; i++, e += PF_REMEMBER_EXTENT_BYTES) {
		put64(e, rec->ext[i].off);
		put64(e + 8, rec->ext[i].len);
		put32(e + 16, rec->ext[i].first_ms);
		put32(e + 20, rec->ext[i].weight);
	}
	put32(e, crc32_ieee(b, len - 4));
	return len;
}

const char *pf_remember_decode(const void *buf, size_t len, struct pf_remember *rec)
{
	const unsigned char *b = buf;
	if (len >= 4 && memcmp(b, MAGIC, 4) != 0)
		return "not a prefault record";
	if (len < PF_REMEMBER_HEADER_BYTES)
		return "truncated record";
	if (get16(b + 4) > VERSION)
		return "record of a future version";
	if (get16(b + 4) != VERSION || get16(b + 6) != PF_REMEMBER_HEADER_BYTES)
		return "malformed record";
	uint32_t n = get32(b + 44), path_len = get32(b + 48);
	if (n > PF_REMEMBER_MAX_EXTENTS || path_len >= PF_REMEMBER_PATH_MAX)
		return "oversized record";
	size_t want = PF_REMEMBER_HEADER_BYTES + pad8(path_len) + (size_t)n * PF_REMEMBER_EXTENT_BYTES + 4;
	if (len < want)
		return "truncated record";
	if (len > want)
		return "malformed record";
	if (get32(b + want - 4) != crc32_ieee(b, want - 4))
		return "record with a bad checksum";
	const char *path = (const char *)b + PF_REMEMBER_HEADER_BYTES;
	if (memchr(path, '\0', path_len))
		return "malformed record";
	rec->id.dev = get64(b + 8);
	rec->id.ino = get64(b + 16);
	rec->id.size = get64(b + 24);
	rec->id.mtime_ns = (int64_t)get64(b + 32);
	memcpy(rec->id.path, path, path_len);
	rec->id.path[path_len] = '\0';
	rec->runs = get32(b + 40);
	rec->n = n;
	const unsigned char *e = b + PF_REMEMBER_HEADER_BYTES + pad8(path_len);
	uint64_t prev_end = 0;
	for (uint32_t i = 0; i < n; i++, e += PF_REMEMBER_EXTENT_BYTES) {
		struct pf_remember_extent *x = &rec->ext[i];
		x->off = get64(e);
		x->len = get64(e + 8);
		x->first_ms = get32(e + 16);
		x->weight = get32(e + 20);
		if (!x->len || x->len > UINT64_MAX - x->off || x->off < prev_end ||
		    x->weight < PF_REMEMBER_WEIGHT_MIN || x->weight > PF_REMEMBER_WEIGHT_MAX) {
			rec->n = 0;
			return "malformed record";
		}
		prev_end = end_of(x);
	}
	return NULL;
}

enum pf_remember_status pf_remember_load(const struct pf_cachedir *cd, const struct pf_remember_id *id,
					 struct pf_remember *rec, union pf_remember_scratch *scratch,
					 const char **why)
{
	char name[32];
	size_t len;
	enum pf_remember_status status = PF_REMEMBER_LOADED;
	pf_remember_name(id, name, sizeof name);
	*why = pf_cachedir_read(cd, name, scratch->raw, sizeof scratch->raw, &len);
	if (*why == pf_cachedir_absent) {
		*why = NULL;
		status = PF_REMEMBER_ABSENT;
	} else if (*why || (*why = pf_remember_decode(scratch->raw, len, rec))) {
		status = PF_REMEMBER_REFUSED;
	} else if (!pf_remember_same(&rec->id, id)) {
		status = PF_REMEMBER_CHANGED;
	}
	if (status != PF_REMEMBER_LOADED)
		pf_remember_init(rec, id);
	return status;
}

const char *pf_remember_store(const struct pf_cachedir *cd, const struct pf_remember *rec,
			      union pf_remember_scratch *scratch, unsigned max_records, uint64_t max_bytes)
{
	char name[32];
	size_t len = pf_remember_encode(rec, scratch->raw, sizeof scratch->raw);
	if (!len)
		return "record too large to store";
	pf_remember_name(&rec->id, name, sizeof name);
	const char *why = pf_cachedir_write(cd, name, scratch->raw, len);
	if (!why)
		why = pf_cachedir_prune(cd, PF_REMEMBER_NAME_PREFIX, PF_REMEMBER_NAME_SUFFIX,
					max_records, max_bytes);
	return why;
}
