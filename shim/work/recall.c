/*
 * recall.c - working-set memory in the library: the states of remembered
 * mappings, their replay reads, learning from pagemap, and storing records
 * (see recall.h for the lock rule).
 *
 * Learning: the engine never maps a remembered mapping's pages in (no
 * MADV_POPULATE_READ), so a page present in /proc/self/pagemap is one the
 * program touched (or the kernel's fault-around mapped beside a touch: up to
 * 64 KiB, the granule here).  The companion's mappings are its own, which
 * the target never touches: each has a source (pf_recall_source), the
 * target's pagemap at the target's address, sampled instead; there the
 * companion's reads set no present bit, only the target's touches do.
 * Each granule keeps its first touch, in ms since the mapping was
 * tracked.  A helper samples every state about once a second, at most
 * SAMPLE_PAGES pages a round, and stores a state's record every STORE_NS
 * when something new was seen, when its mapping has left the table, when
 * its source changed, and at exit.  Each store merges this run's touches
 * into a copy of the record loaded at the start (pf_remember_merge), so a
 * run is learned once however often it is stored.  A hook about to unmap
 * or map over a remembered range samples it first (pf_recall_leaving), so
 * the touches of an munmap's last second are not lost.  A companion's
 * target can be sampled only while it lives: what it touched after the
 * last sample (up to a second) before it exited is not learned.
 */
#include "work/recall.h"
#include "work/done.h"
#include "core/log.h"
#include "core/options.h"
#include "core/remember.h"
#include "core/table.h"
#include "sys/alloc.h"
#include "sys/cachedir.h"
#include "sys/clock.h"
#include "sys/pagemap.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GRANULE_SHIFT 16u               /* 64 KiB */
#define MAX_GRANULES (1u << 20)         /* larger mappings get larger granules */
#define SAMPLE_NS (1000ll * 1000000ll)
#define STORE_NS (10ll * 1000000000ll)
#define SAMPLE_PAGES (64u * 1024u)      /* per round, across states */
#define IDLE_NS (100ll * 1000000ll)
#define REPLAY_GAP (512u * 1024u)       /* gaps read through in one replay read */
#define PM_BATCH 4096u

struct state {
	struct state *next;
	uintptr_t start;
	uint64_t id;
	size_t len;
	off_t offset;
	int64_t t0_ns;                  /* tracked */
	unsigned gshift;
	size_t ngran;
	uint32_t *first_ms;             /* per granule; PF_REMEMBER_NO_TIME: not seen */
	size_t cursor;                  /* next granule to sample */
	struct pf_remember *rec;        /* loaded (or empty: no replay) */
	bool replay;                    /* rec is this very file's */
	uint16_t *order;                /* needy order of rec's extents */
	uint8_t *covered;               /* per extent: read by replay */
	uint32_t pos;                   /* in order */
	bool pending;                   /* pend_addr/len asked, not read yet */
	uintptr_t pend_addr;
	size_t pend_len;
	bool dirty;
	int64_t last_store_ns;
	size_t bytes;                   /* of first_ms */
	uint64_t replayed, used, unremembered;
	struct pf_done *done;           /* deferred done record, or NULL */
	const char *result;
	int64_t done_ms_ns;             /* its time, as the engine finished */
};

/* Where a mapping's touches show, when not in this process (recall.h). */
struct source {
	struct source *next;
	uintptr_t start;                /* the mapping here */
	int fd;                         /* the other process's pagemap, or -1 */
	uintptr_t addr;                 /* its mapping there */
};

static pthread_mutex_t recall_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t learn_lock = PTHREAD_MUTEX_INITIALIZER;
/* Changed under both locks, read under either. */
static struct state *states;
static struct source *sources;
static int64_t last_sample_ns;
/* Shared buffers, made once (recall_lock). */
static union pf_remember_scratch *scratch;
static struct pf_remember *out;
static struct pf_remember_extent *seen;
static uint64_t pm[PM_BATCH];           /* learn_lock */
static bool store_failed_said;
/* The process's sums over every state, past ones included (atomic). */
static uint64_t total_replayed, total_used, total_unremembered;

/* Written by pf_recall_init only, before any thread of ours. */
static bool enabled;
static char dir[256];
static struct pf_cachedir cd;

void pf_recall_init(void)
{
	enabled = false;
	if (!pf_opt.remember_dir[0] && !pf_opt.remember_default)
		return;
	cd.secure_exec = pf_cachedir_secure_exec();
	if (cd.secure_exec) {
		pf_log("PREFAULT_REMEMBER: a secure-execution program: nothing remembered");
		return;
	}
	const char *why;
	if (pf_opt.remember_default) {
		why = pf_cachedir_default(dir, sizeof dir);
		cd.path = dir;
		if (!why)
			why = pf_cachedir_make(&cd);
	} else {
		memcpy(dir, pf_opt.remember_dir, sizeof dir);
		cd.path = dir;
		why = pf_cachedir_check(&cd);
	}
	if (why) {
		pf_log("PREFAULT_REMEMBER: %s: %s; nothing remembered", dir, why);
		return;
	}
	enabled = true;
}

bool pf_recall_enabled(void)
{
	return enabled;
}

static struct state *find(uintptr_t start, uint64_t id)
{
	for (struct state *s = states; s; s = s->next)
		if (s->start == start && s->id == id)
			return s;
	return NULL;
}

/* Memory from pf_alloc (table_lock, which guards its free list). */
static void *alloc(size_t size)
{
	pf_table_lock();
	void *p = pf_alloc(size);
	pf_table_unlock();
	if (p)
		memset(p, 0, size);
	return p;
}

static void release(void *p, size_t size)
{
	if (!p)
		return;
	pf_table_lock();
	pf_free(p, size);
	pf_table_unlock();
}

static bool buffers_locked(void)
{
	if (!scratch)
		scratch = alloc(sizeof *scratch);
	if (!out)
		out = alloc(sizeof *out);
	if (!seen)
		seen = alloc(PF_REMEMBER_MERGE_CAP * sizeof *seen);
	return scratch && out && seen;
}

static void free_state(struct state *s)
{
	release(s->first_ms, s->bytes);
	release(s->rec, sizeof *s->rec);
	release(s->order, PF_REMEMBER_MAX_EXTENTS * sizeof *s->order);
	release(s->covered, PF_REMEMBER_MAX_EXTENTS);
	release(s->done, sizeof *s->done);
	release(s, sizeof *s);
}

bool pf_recall_begin(uintptr_t start, uint64_t id, size_t len, off_t offset, dev_t dev, ino_t ino,
		     const char *path)
{
	if (!enabled || !len)
		return false;
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode) || st.st_dev != dev || st.st_ino != ino)
		return false;
	struct pf_remember_id fid;
	if (pf_remember_identity(&fid, path, &st))
		return false;
	pthread_mutex_lock(&recall_lock);
	if (find(start, id)) {
		pthread_mutex_unlock(&recall_lock);
		return true;
	}
	struct state *s = buffers_locked() ? alloc(sizeof *s) : NULL;
	if (!s) {
		pthread_mutex_unlock(&recall_lock);
		return false;
	}
	s->start = start;
	s->id = id;
	s->len = len;
	s->offset = offset;
	s->gshift = GRANULE_SHIFT;
	while (((len - 1) >> s->gshift) + 1 > MAX_GRANULES)
		s->gshift++;
	s->ngran = ((len - 1) >> s->gshift) + 1;
	s->bytes = s->ngran * sizeof *s->first_ms;
	s->first_ms = alloc(s->bytes);
	s->rec = alloc(sizeof *s->rec);
	s->order = alloc(PF_REMEMBER_MAX_EXTENTS * sizeof *s->order);
	s->covered = alloc(PF_REMEMBER_MAX_EXTENTS);
	if (!s->first_ms || !s->rec || !s->order || !s->covered) {
		free_state(s);
		pthread_mutex_unlock(&recall_lock);
		return false;
	}
	memset(s->first_ms, 0xff, s->bytes);
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(start, id);
	s->t0_ns = m ? m->found_ns : pf_now_ns();
	pf_table_unlock();
	const char *why = NULL;
	enum pf_remember_status st2 = pf_remember_load(&cd, &fid, s->rec, scratch, &why);
	if (st2 == PF_REMEMBER_REFUSED)
		pf_log("PREFAULT_REMEMBER: the record of %s: %s; learning a fresh one", path,
		       why ? why : "refused");
	s->replay = st2 == PF_REMEMBER_LOADED && s->rec->n;
	if (s->replay)
		pf_remember_needy_order(s->rec, s->order);
	s->last_store_ns = pf_now_ns();
	pthread_mutex_lock(&learn_lock);
	s->next = states;
	states = s;
	pthread_mutex_unlock(&learn_lock);
	pthread_mutex_unlock(&recall_lock);
	return true;
}

bool pf_recall_next_replay(uintptr_t start, uint64_t id, uintptr_t *addr, size_t *len)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	bool found = false;
	pthread_mutex_lock(&recall_lock);
	struct state *s = find(start, id);
	if (s && s->replay && s->pending) {
		*addr = s->pend_addr;
		*len = s->pend_len;
		found = true;
	}
	while (s && s->replay && !found && s->pos < s->rec->n) {
		uint32_t i = s->order[s->pos++];
		if (s->covered[i])
			continue;
		uint64_t end;
		uint32_t after = pf_remember_next_read(s->rec, i, REPLAY_GAP, &end);
		for (uint32_t k = i; k < after; k++)
			s->covered[k] = 1;
		uint64_t lo = s->rec->ext[i].off, mlo = (uint64_t)s->offset, mhi = mlo + s->len;
		if (end > s->rec->id.size)
			end = s->rec->id.size;
		if (lo < mlo)
			lo = mlo;
		if (end > mhi)
			end = mhi;
		lo = lo / page * page;
		if (lo >= end)
			continue;
		s->pend_addr = start + (uintptr_t)(lo - mlo);
		s->pend_len = (size_t)(end - lo);
		s->pending = found = true;
		*addr = s->pend_addr;
		*len = s->pend_len;
	}
	pthread_mutex_unlock(&recall_lock);
	return found;
}

void pf_recall_replayed(uintptr_t start, uint64_t id, uint64_t bytes, bool done)
{
	pthread_mutex_lock(&recall_lock);
	struct state *s = find(start, id);
	if (s && done)
		s->pending = false;
	if (s)
		s->replayed += bytes;
	pthread_mutex_unlock(&recall_lock);
	__atomic_add_fetch(&total_replayed, bytes, __ATOMIC_RELAXED);
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(start, id);
	if (m)
		m->replayed += bytes;
	pf_table_unlock();
}

/* True when the file's [lo, hi) overlaps an extent of the loaded record. */
static bool remembered(const struct state *s, uint64_t lo, uint64_t hi)
{
	if (!s->replay)
		return false;
	uint32_t a = 0, b = s->rec->n;
	while (a < b) {
		uint32_t mid = (a + b) / 2;
		const struct pf_remember_extent *e = &s->rec->ext[mid];
		if (e->off + e->len <= lo)
			a = mid + 1;
		else if (e->off >= hi)
			b = mid;
		else
			return true;
	}
	return false;
}

/* ms since s's mapping was tracked, a first touch's time. */
static uint32_t ms_since_tracked(const struct state *s, int64_t now)
{
	return (uint32_t)((now - s->t0_ns) / 1000000);
}

/* Marks granule g of s first seen at ms; learn_lock held. */
static void mark_locked(struct state *s, size_t g, uint32_t ms, uint64_t *used, uint64_t *unrem)
{
	s->first_ms[g] = ms;
	s->dirty = true;
	uint64_t lo = (uint64_t)s->offset + ((uint64_t)g << s->gshift);
	uint64_t hi = lo + ((uint64_t)1 << s->gshift);
	if (remembered(s, lo, hi))
		*used += hi - lo;
	else
		*unrem += hi - lo;
}

/* Reads the pagemap of s's unseen granules from *g up to g_hi until budget
 * pages are read: fd's, where s->start shows at `at`; *g is where it
 * stopped.  Returns the pages read; learn_lock held. */
static size_t sample_span_locked(struct state *s, int fd, uintptr_t at, size_t *g, size_t g_hi,
				 size_t budget, uint32_t ms, uint64_t *used, uint64_t *unrem)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const size_t gpages = ((size_t)1 << s->gshift) / page;
	const size_t npages = (s->len + page - 1) / page;
	size_t done = 0;
	while (*g < g_hi && done < budget) {
		if (s->first_ms[*g] != PF_REMEMBER_NO_TIME) {
			(*g)++;
			continue;
		}
		/* A batch from this granule's first page, over unseen and seen alike. */
		size_t p0 = *g * gpages, pend = g_hi * gpages;
		if (pend > npages)
			pend = npages;
		size_t n = pend - p0;
		if (n > PM_BATCH)
			n = PM_BATCH;
		if (n > budget - done)
			n = budget - done < gpages ? gpages : budget - done;
		if (n > pend - p0)
			n = pend - p0;
		size_t got = pf_pagemap_read(fd, at + p0 * page, pm, n);
		if (!got) {
			*g = g_hi;
			break;
		}
		done += got;
		for (size_t k = 0; k < got; k++) {
			size_t gg = (p0 + k) / gpages;
			if ((pm[k] & PF_PM_PRESENT) && s->first_ms[gg] == PF_REMEMBER_NO_TIME)
				mark_locked(s, gg, ms, used, unrem);
		}
		*g += got / gpages ? got / gpages : 1;
	}
	return done;
}

/* Credits what sampling found to s and its table entry; learn_lock held. */
static void credit(struct state *s, uint64_t used, uint64_t unrem)
{
	s->used += used;
	s->unremembered += unrem;
	if (!used && !unrem)
		return;
	__atomic_add_fetch(&total_used, used, __ATOMIC_RELAXED);
	__atomic_add_fetch(&total_unremembered, unrem, __ATOMIC_RELAXED);
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(s->start, s->id);
	if (m) {
		m->replay_used += used;
		m->unremembered += unrem;
	}
	pf_table_unlock();
}

static struct source *source_of(uintptr_t start)
{
	for (struct source *src = sources; src; src = src->next)
		if (src->start == start)
			return src;
	return NULL;
}

/* Reads up to *budget pages of s's pagemap from its cursor, wrapping
 * around once: self_fd's at s->start, or its source's; learn_lock held.
 * False when its entry is gone. */
static bool sample_locked(struct state *s, int self_fd, size_t *budget, int64_t now)
{
	pf_table_lock();
	bool alive = pf_table_find_locked(s->start, s->id) != NULL;
	pf_table_unlock();
	if (!alive)
		return false;
	const struct source *src = source_of(s->start);
	int fd = src ? src->fd : self_fd;
	uintptr_t at = src ? src->addr : s->start;
	if (fd < 0)
		return true; /* nothing to learn from */
	uint32_t ms = ms_since_tracked(s, now);
	uint64_t used = 0, unrem = 0;
	size_t from = s->cursor, g = from;
	*budget -= sample_span_locked(s, fd, at, &g, s->ngran, *budget, ms, &used, &unrem);
	if (g >= s->ngran) {
		g = 0;
		*budget -= sample_span_locked(s, fd, at, &g, from, *budget, ms, &used, &unrem);
	}
	s->cursor = g % s->ngran;
	credit(s, used, unrem);
	return true;
}

void pf_recall_leaving(uintptr_t addr, size_t len)
{
	if (!enabled || !len || __atomic_load_n(&states, __ATOMIC_RELAXED) == NULL)
		return;
	int fd = -1;
	int64_t now = pf_now_ns();
	pthread_mutex_lock(&learn_lock);
	for (struct state *s = states; s; s = s->next) {
		uintptr_t lo = addr > s->start ? addr : s->start;
		uintptr_t hi = addr + len < s->start + s->len ? addr + len : s->start + s->len;
		if (lo >= hi || source_of(s->start)) /* a companion's: not this process's */
			continue;
		if (fd < 0 && (fd = pf_pagemap_open()) < 0)
			break;
		uint64_t used = 0, unrem = 0;
		size_t g = (lo - s->start) >> s->gshift, g_hi = ((hi - s->start - 1) >> s->gshift) + 1;
		sample_span_locked(s, fd, s->start, &g, g_hi, SIZE_MAX, ms_since_tracked(s, now), &used,
				   &unrem);
		credit(s, used, unrem);
	}
	pthread_mutex_unlock(&learn_lock);
	if (fd >= 0)
		close(fd);
}

/* This run's touches of s as extents in seen[]: their number; learn_lock
 * held (the granules), and recall_lock (seen). */
static size_t collect_locked(struct state *s)
{
	size_t n = 0;
	uint64_t mlo = (uint64_t)s->offset, mhi = mlo + s->len, size = s->rec->id.size;
	s->dirty = false;
	for (size_t g = 0; g < s->ngran; g++) {
		uint32_t t = s->first_ms[g];
		if (t == PF_REMEMBER_NO_TIME)
			continue;
		uint64_t lo = mlo + ((uint64_t)g << s->gshift), hi = lo + ((uint64_t)1 << s->gshift);
		if (hi > mhi)
			hi = mhi;
		if (hi > size)
			hi = size;
		if (lo >= hi)
			continue;
		if (n && seen[n - 1].off + seen[n - 1].len == lo) {
			seen[n - 1].len = hi - seen[n - 1].off;
			if (t < seen[n - 1].first_ms)
				seen[n - 1].first_ms = t;
			continue;
		}
		if (n == PF_REMEMBER_MERGE_CAP) { /* join into the last one */
			seen[n - 1].len = hi - seen[n - 1].off;
			continue;
		}
		seen[n].off = lo;
		seen[n].len = hi - lo;
		seen[n].first_ms = t;
		seen[n].weight = 0;
		n++;
	}
	return n;
}

/* Merges the n extents collected into a copy of the loaded record and
 * stores it; recall_lock held, not learn_lock (file I/O). */
static void store_locked(struct state *s, size_t n, int64_t now)
{
	s->last_store_ns = now;
	memcpy(out, s->rec, sizeof *out);
	pf_remember_merge(out, seen, n, scratch);
	const char *why = pf_remember_store(&cd, out, scratch, PF_REMEMBER_DIR_RECORDS,
					    PF_REMEMBER_DIR_BYTES);
	if (why && !store_failed_said) {
		store_failed_said = true;
		pf_log("PREFAULT_REMEMBER: the record of %s not stored: %s", s->rec->id.path, why);
	}
}

bool pf_recall_defer_done(const struct pf_done *d, const char *result)
{
	bool kept = false;
	pthread_mutex_lock(&recall_lock);
	struct state *s = find(d->start, d->id);
	if (s && !s->done)
		s->done = alloc(sizeof *s->done);
	if (s && s->done) {
		memcpy(s->done, d, sizeof *d);
		s->result = result;
		s->done_ms_ns = pf_now_ns() - d->t_begin_ns;
		kept = true;
	}
	pthread_mutex_unlock(&recall_lock);
	return kept;
}

/* Queues s's deferred done record with its counts now; recall_lock held
 * (learn_lock taken for the counts a hook's sample may be adding to). */
static void queue_done_locked(struct state *s)
{
	if (!s->done)
		return;
	s->done->remembered = true;
	s->done->replayed = s->replayed;
	pthread_mutex_lock(&learn_lock);
	s->done->replay_used = s->used;
	s->done->unremembered = s->unremembered;
	pthread_mutex_unlock(&learn_lock);
	s->done->t_begin_ns = pf_now_ns() - s->done_ms_ns;
	pf_done_queue(s->done, s->result);
	release(s->done, sizeof *s->done);
	s->done = NULL;
}

/* A round over every state; recall_lock held.  With all, every page of
 * every state is sampled and every state with news stored (exit). */
static void round_locked(int64_t now, bool all)
{
	int fd = pf_pagemap_open();
	size_t budget = all ? SIZE_MAX : SAMPLE_PAGES;
	for (struct state **pp = &states; *pp;) {
		struct state *s = *pp;
		pthread_mutex_lock(&learn_lock);
		bool alive = sample_locked(s, fd, &budget, now);
		bool due = !alive || all || now - s->last_store_ns >= STORE_NS;
		size_t n = due && s->dirty ? collect_locked(s) : SIZE_MAX;
		bool drop = !alive && !all;
		if (drop)
			*pp = s->next;
		pthread_mutex_unlock(&learn_lock);
		if (n != SIZE_MAX)
			store_locked(s, n, now);
		if (!alive || all)
			queue_done_locked(s);
		if (drop) {
			free_state(s);
			continue;
		}
		pp = &s->next;
	}
	if (fd >= 0)
		close(fd);
}

bool pf_recall_tick(bool idle)
{
	if (!enabled)
		return false;
	if (idle) {
		struct timespec ts = { 0, IDLE_NS };
		nanosleep(&ts, NULL);
	}
	int64_t now = pf_now_ns();
	if (__atomic_load_n(&states, __ATOMIC_RELAXED) == NULL)
		return false;
	if (now - __atomic_load_n(&last_sample_ns, __ATOMIC_RELAXED) < SAMPLE_NS)
		return true;
	if (pthread_mutex_trylock(&recall_lock))
		return true; /* another helper samples */
	last_sample_ns = now;
	round_locked(now, false);
	bool live = states != NULL;
	pthread_mutex_unlock(&recall_lock);
	return live;
}

void pf_recall_fini(void)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&recall_lock);
	round_locked(pf_now_ns(), true);
	pthread_mutex_unlock(&recall_lock);
}

void pf_recall_totals(uint64_t *replayed, uint64_t *used, uint64_t *unremembered)
{
	*replayed = __atomic_load_n(&total_replayed, __ATOMIC_RELAXED);
	*used = __atomic_load_n(&total_used, __ATOMIC_RELAXED);
	*unremembered = __atomic_load_n(&total_unremembered, __ATOMIC_RELAXED);
}

void pf_recall_source(uintptr_t start, int fd, uintptr_t addr)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&recall_lock);
	struct source *src = source_of(start);
	/* Without memory for it the mapping samples itself: it learns nothing. */
	struct source *made = src ? NULL : alloc(sizeof *src);
	pthread_mutex_lock(&learn_lock);
	if (made) {
		made->start = start;
		made->next = sources;
		sources = src = made;
	} else if (src && (src->fd != fd || src->addr != addr)) {
		/* What the last source showed is stored at the next sample. */
		for (struct state *s = states; s; s = s->next)
			if (s->start == start)
				s->last_store_ns = pf_now_ns() - STORE_NS;
	}
	if (src) {
		src->fd = fd;
		src->addr = addr;
	}
	pthread_mutex_unlock(&learn_lock);
	pthread_mutex_unlock(&recall_lock);
}

void pf_recall_unsource(uintptr_t start)
{
	if (!enabled)
		return;
	struct source *gone = NULL;
	pthread_mutex_lock(&recall_lock);
	pthread_mutex_lock(&learn_lock);
	for (struct source **pp = &sources; *pp; pp = &(*pp)->next)
		if ((*pp)->start == start) {
			gone = *pp;
			*pp = gone->next;
			break;
		}
	pthread_mutex_unlock(&learn_lock);
	if (gone)
		release(gone, sizeof *gone);
	pthread_mutex_unlock(&recall_lock);
}

void pf_recall_postfork_child(void)
{
	pthread_mutex_init(&recall_lock, NULL);
	pthread_mutex_init(&learn_lock, NULL);
	states = NULL;
	sources = NULL;
	last_sample_ns = 0;
	total_replayed = total_used = total_unremembered = 0;
	/* The child learns nothing of the parent's mappings: served as usual. */
	pf_table_lock();
	for (struct pf_mapping *m = pf_table_head_locked(); m; m = m->hh.next)
		m->remembered = false;
	pf_table_unlock();
}
