/*
 * table.c - the uthash table of tracked file mappings, kept true as the
 * program maps, unmaps, maps over and moves memory.
 *
 * Every way a range leaves the table (munmap, MAP_FIXED over it, mremap,
 * discovery finding it gone) goes through cut_locked, which first hands the
 * range to the cut handler (the account's, account.c, which registers it):
 * the budget's rule of what a range held and gives back lives there, not
 * here.
 *
 * Lock rule: table_lock guards the table, every entry, the id counter, the
 * cut handler and the bounding range; it is held for bookkeeping only (no
 * system call, no I/O).  The bounding range [lo, hi) and the count are
 * also published with atomics so the hooks can pass an unrelated munmap
 * without the lock.
 */
#include "core/table.h"
#include "sys/alloc.h"
#include "sys/clock.h"
#include "core/events.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pf_mapping *table;
static uint64_t next_id = 1;
static int table_oom;
static uintptr_t bound_lo = UINTPTR_MAX, bound_hi;
static size_t count;
static pf_table_cut_fn *cut_handler;

void pf_table_lock(void)
{
	pthread_mutex_lock(&table_lock);
}

void pf_table_unlock(void)
{
	pthread_mutex_unlock(&table_lock);
}

void pf_table_set_cut_handler_locked(pf_table_cut_fn *fn)
{
	cut_handler = fn;
}

struct pf_mapping *pf_table_head_locked(void)
{
	return table;
}

struct pf_mapping *pf_table_find_locked(uintptr_t start, uint64_t id)
{
	struct pf_mapping *m;
	HASH_FIND(hh, table, &start, sizeof start, m);
	return (m && m->id == id) ? m : NULL;
}

static void publish_bounds(void)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	struct pf_mapping *m, *tmp;
	HASH_ITER(hh, table, m, tmp) {
		if (m->start < lo)
			lo = m->start;
		if (m->start + m->len > hi)
			hi = m->start + m->len;
	}
	__atomic_store_n(&bound_lo, lo, __ATOMIC_RELAXED);
	__atomic_store_n(&bound_hi, hi, __ATOMIC_RELAXED);
	__atomic_store_n(&count, (size_t)HASH_COUNT(table), __ATOMIC_RELEASE);
}

/* Adds an entry; returns it, or NULL when memory ran out. */
static struct pf_mapping *insert_locked(const struct pf_mapping *proto)
{
	struct pf_mapping *m = pf_alloc(sizeof *m);
	if (!m)
		return NULL;
	*m = *proto;
	memset(&m->hh, 0, sizeof m->hh);
	m->id = next_id++;
	table_oom = 0;
	HASH_ADD(hh, table, start, sizeof m->start, m);
	if (table_oom) {
		pf_free(m, sizeof *m);
		return NULL;
	}
	return m;
}

static void delete_locked(struct pf_mapping *m)
{
	HASH_DEL(table, m);
	pf_free(m, sizeof *m);
}

static size_t clip(size_t progress, size_t cut)
{
	return progress > cut ? progress - cut : 0;
}

/* Removes [a, b) from m; the part past b, if any, becomes a new entry. */
static void cut_locked(struct pf_mapping *m, uintptr_t a, uintptr_t b)
{
	uintptr_t s = m->start, e = m->start + m->len;
	uintptr_t ca = a > s ? a : s, cb = b < e ? b : e;

	pf_events_queue_mapping(PF_EV_UNMAP, m, ca, cb - ca);
	struct pf_mapping *r = NULL;
	if (cb < e) {
		struct pf_mapping right = *m;
		right.held = 0; /* the cut handler's to set, below */
		size_t skip = cb - s;
		right.start = cb;
		right.len = e - cb;
		right.offset = m->offset + (off_t)skip;
		right.ahead = clip(m->ahead, skip);
		right.done = clip(m->done, skip);
		right.bytes_in = right.resident_before = right.caused_ahead = 0;
		/* Still remembered (never populated: the learning of m's range
		 * reads its pagemap), its counts its own. */
		right.replayed = right.replay_used = right.unremembered = 0;
		right.state = right.done >= right.len ? PF_FINISHED : PF_QUEUED;
		r = insert_locked(&right);
		if (r)
			pf_events_queue_mapping(PF_EV_MAP, r, r->start, r->len);
	}
	/* m is still whole here: the account gives [ca, cb)'s share of what
	 * it held back to the budget and splits the rest between m and r. */
	if (cut_handler)
		cut_handler(m, r, ca, cb);
	if (ca > s) {
		m->len = ca - s;
		if (m->ahead > m->len)
			m->ahead = m->len;
		if (m->done > m->len)
			m->done = m->len;
	} else {
		delete_locked(m);
	}
}

static void forget_locked(uintptr_t a, uintptr_t b)
{
	struct pf_mapping *m, *tmp;
	HASH_ITER(hh, table, m, tmp) {
		if (m->start < b && a < m->start + m->len)
			cut_locked(m, a, b);
	}
}

int pf_table_track(const struct pf_desc *d)
{
	struct pf_mapping proto;
	memset(&proto, 0, sizeof proto);
	proto.start = d->start;
	proto.len = d->len;
	proto.offset = d->offset;
	proto.dev = d->dev;
	proto.ino = d->ino;
	proto.source = d->source;
	proto.state = PF_QUEUED;
	proto.found_ns = pf_now_ns(); /* after the mapping was made or seen */
	snprintf(proto.path, sizeof proto.path, "%s", d->path ? d->path : "");

	pthread_mutex_lock(&table_lock);
	forget_locked(d->start, d->start + d->len);
	struct pf_mapping *m = insert_locked(&proto);
	if (m)
		pf_events_queue_mapping(PF_EV_MAP, m, m->start, m->len);
	publish_bounds();
	pthread_mutex_unlock(&table_lock);
	return m ? 0 : -1;
}

void pf_table_forget(uintptr_t start, size_t len)
{
	pthread_mutex_lock(&table_lock);
	forget_locked(start, start + len);
	publish_bounds();
	pthread_mutex_unlock(&table_lock);
}

bool pf_table_forget_from(uintptr_t entry, uint64_t id, size_t entry_len, uintptr_t start,
			  size_t len)
{
	pthread_mutex_lock(&table_lock);
	struct pf_mapping *m = pf_table_find_locked(entry, id);
	bool still = m && m->len == entry_len && m->start < start + len && start < m->start + m->len;
	if (still) {
		cut_locked(m, start, start + len);
		publish_bounds();
	}
	pthread_mutex_unlock(&table_lock);
	return still;
}

bool pf_table_clear_stale(uintptr_t start, size_t len, int64_t t_ns)
{
	bool newer = false, cut = false;
	uintptr_t end = start + len;
	pthread_mutex_lock(&table_lock);
	struct pf_mapping *m, *tmp;
	HASH_ITER(hh, table, m, tmp) {
		if (!(m->start < end && start < m->start + m->len))
			continue;
		if (m->found_ns < t_ns) {
			cut_locked(m, start, end);
			cut = true;
		} else {
			newer = true;
		}
	}
	if (cut)
		publish_bounds();
	pthread_mutex_unlock(&table_lock);
	return newer;
}

void pf_table_moved(uintptr_t old_addr, size_t old_len, uintptr_t new_addr, size_t new_len)
{
	pthread_mutex_lock(&table_lock);
	struct pf_mapping *m, *tmp, *first = NULL;
	HASH_ITER(hh, table, m, tmp) {
		if (m->start < old_addr + old_len && old_addr < m->start + m->len &&
		    (!first || m->start < first->start))
			first = m;
	}
	struct pf_mapping moved;
	bool have = first != NULL;
	if (have) {
		moved = *first;
		if (old_addr >= first->start)
			moved.offset = first->offset + (off_t)(old_addr - first->start);
		moved.start = new_addr;
		moved.len = new_len;
		moved.ahead = moved.done = 0;
		moved.bytes_in = moved.resident_before = moved.caused_ahead = 0;
		moved.remembered = false; /* decided again when a helper reaches it */
		moved.passed_by = false;
		moved.replayed = moved.replay_used = moved.unremembered = 0;
		moved.held = 0; /* the old range's is given back as it is forgotten */
		moved.t_begin_ns = 0;
		moved.found_ns = pf_now_ns();
		moved.state = PF_QUEUED;
	}
	forget_locked(old_addr, old_addr + old_len);
	forget_locked(new_addr, new_addr + new_len);
	if (have) {
		struct pf_mapping *n = insert_locked(&moved);
		if (n)
			pf_events_queue_mapping(PF_EV_MAP, n, n->start, n->len);
	}
	publish_bounds();
	pthread_mutex_unlock(&table_lock);
}

bool pf_table_may_overlap(uintptr_t start, size_t len)
{
	if (__atomic_load_n(&count, __ATOMIC_ACQUIRE) == 0)
		return false;
	uintptr_t lo = __atomic_load_n(&bound_lo, __ATOMIC_RELAXED);
	uintptr_t hi = __atomic_load_n(&bound_hi, __ATOMIC_RELAXED);
	return start < hi && lo < start + len;
}

bool pf_table_contains(uintptr_t start, size_t len, dev_t dev, ino_t ino)
{
	struct pf_mapping *m;
	pthread_mutex_lock(&table_lock);
	HASH_FIND(hh, table, &start, sizeof start, m);
	bool found = m && m->len == len && m->dev == dev && m->ino == ino;
	pthread_mutex_unlock(&table_lock);
	return found;
}

size_t pf_table_count(void)
{
	return __atomic_load_n(&count, __ATOMIC_ACQUIRE);
}

void pf_table_prefork(void)
{
	pthread_mutex_lock(&table_lock);
}

void pf_table_postfork_parent(void)
{
	pthread_mutex_unlock(&table_lock);
}

void pf_table_postfork_child(void)
{
	struct pf_mapping *m;
	pthread_mutex_init(&table_lock, NULL);
	for (m = table; m; m = m->hh.next)
		if (m->state == PF_ACTIVE)
			m->state = PF_QUEUED;
}
