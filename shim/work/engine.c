/*
 * engine.c - the policy: which mapping a helper serves next, and how far
 * it may read ahead.
 *
 * A helper takes one mapping at a time, round-robin by id, for a slice of
 * SLICE_BYTES when others are waiting (the whole mapping otherwise).  Within
 * it, MADV_WILLNEED runs at most a window ahead of MADV_POPULATE_READ, in
 * steps no larger than one WILLNEED call reads; POPULATE_READ waits for the
 * reads in flight, which is what bounds them.  The window adapts to the disk
 * (window.c), within PREFAULT_WINDOW; while the program itself waits on the
 * disk (progwait.h) one small step is in flight at most.  A slice ends
 * with nothing in flight.
 *
 * The budget caps what prefault holds at once, and counts all it causes
 * (the account: account.c).  Bytes are charged before WILLNEED is issued,
 * counting only pages already in memory as budget.c counts them; on a
 * block device the charge is then cut to what the thread read
 * (/proc/thread-self/io), and what a populate step read (the kernel's
 * readahead behind a page the program's readahead marked) is charged too
 * (populate_step).  When the budget is spent, pf_remeasure (remeasure.c)
 * measures again what the largest holders still have in memory and gives
 * back what the kernel evicted.  A mapping stopped by the budget waits
 * (PF_WAITING) and is picked again once RESUME_MIN is free (without a
 * second "budget" done record), by a running helper: a munmap alone starts
 * none.
 *
 * A remembered mapping (PREFAULT_REMEMBER, recall.c) first gets its
 * record's replay reads, charged as any read; it is then read ahead as
 * others are, but never populated (so that the pages present in pagemap
 * are the program's touches) and never followed.
 *
 * A mapping larger than what the budget has left is followed instead
 * (follow.c): a window kept ahead of where the program reads.  While a
 * followed mapping lives, a helper polls it (never idle, so it stays).
 *
 * Lock rule: table_lock (table.c) guards every entry, the account and
 * last_id; it is taken around bookkeeping only and never held across
 * madvise, mincore, a pagemap or /proc read.  An entry can vanish whenever
 * the lock is dropped: it is found again by start and id each time.
 */
#include "core/account.h"
#include "sys/advise.h"
#include "core/budget.h"
#include "work/charge.h"
#include "work/done.h"
#include "sys/clock.h"
#include "work/engine.h"
#include "work/follow.h"
#include "work/front.h"
#include "work/iolimit.h"
#include "work/prior.h"
#include "sys/procfs.h"
#include "work/recall.h"
#include "work/remeasure.h"
#include "core/options.h"
#include "core/pressure.h"
#include "core/progwait.h"
#include "work/stats.h"
#include "core/table.h"
#include "work/window.h"

#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define SLICE_BYTES (64u * 1024u * 1024u)
/* Pace of WILLNEED alone, on kernels without MADV_POPULATE_READ. */
#define UNPOPULATED_PACE_BPS (256u * 1024u * 1024u)
/* A mapping stopped by the budget is picked again once this much (or what
 * it has left, if less) is free: more than one step, so that it moves. */
#define RESUME_MIN ((uint64_t)4 << 20)

static uint64_t last_id;    /* round-robin cursor, guarded by table_lock */
/* This helper thread's window (window.c): what it learnt carries over. */
static __thread struct pf_window helper_window;

/* What a helper works from while the lock is dropped. */
struct job {
	struct pf_done rec;        /* the entry, as its done record will say */
	size_t done, ahead;
	dev_t dev;
	ino_t ino;
	enum pf_count count;       /* how the charge counts what is in memory */
	bool resumed;              /* picked again after the budget stopped it */
	bool remembered;           /* recall.c learns it: nothing mapped in */
	bool passed_by;            /* a populate step passed pages by (prior.h) */
	int64_t rb;                /* the thread's read bytes after its last step; -1: not counted */
};

/* A mapping the budget stopped may go on: RESUME_MIN (or what it has left)
 * is free in the budget and in the room memory pressure leaves. */
static bool may_resume_locked(const struct pf_mapping *m)
{
	uint64_t want = m->len > m->done ? m->len - m->done : 0;
	if (want > RESUME_MIN)
		want = RESUME_MIN;
	return pf_account_fits_locked(want) && want <= pf_pressure_room_cached();
}

/* A new mapping that fits the budget but not what is left of it: it would
 * be followed (follow.c) for want of what other mappings hold. */
static bool short_of_budget_locked(const struct pf_mapping *m)
{
	return m->state == PF_QUEUED && !m->done && !m->ahead && m->len <= pf_budget_limit() &&
	       !pf_account_fits_locked(m->len) && !pf_front_find_locked(m->start, m->id);
}

static struct pf_mapping *pick_locked(bool *others, int64_t now)
{
	struct pf_mapping *m, *best = NULL, *first = NULL;
	unsigned waiting = 0;
	for (m = pf_table_head_locked(); m; m = m->hh.next) {
		if (m->state == PF_WAITING ? !may_resume_locked(m) :
		    m->state != PF_QUEUED || !pf_follow_due_locked(m, now))
			continue;
		waiting++;
		if (!first || m->id < first->id)
			first = m;
		if (m->id > last_id && (!best || m->id < best->id))
			best = m;
	}
	*others = waiting > 1;
	return best ? best : first;
}

static void pace(size_t bytes)
{
	uint64_t ns = (uint64_t)bytes * 1000000000ull / UNPOPULATED_PACE_BPS;
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	nanosleep(&ts, NULL);
}

enum outcome { GOING, SLICE_END, COMPLETE, BUDGET, UNMAPPED, FAILED };

/* What the helper thread read since its last step (rounded up to pages),
 * or UINT64_MAX when that cannot be told: a file not on a block device
 * (pf_thread_read_bytes, sys/procfs.h), or /proc unreadable. */
static uint64_t read_since_last(struct job *j, size_t page)
{
	if (j->rb < 0)
		return UINT64_MAX;
	int64_t now = pf_thread_read_bytes();
	pf_progwait_own_read(now);
	if (now < j->rb) {
		j->rb = -1;
		return UINT64_MAX;
	}
	uint64_t d = (uint64_t)(now - j->rb);
	j->rb = now;
	return (d + page - 1) / page * page;
}

/* pf_charge_read's reads for a step: one WILLNEED, paced by iolimit.c. */
static void willneed_step(const struct pf_charge *c, uint64_t fresh)
{
	pf_iolimit_before_read(c->dev, (size_t)fresh);
	pf_advise_willneed(c->addr, c->len);
}

/* Issues WILLNEED for one step at j->ahead, charging the budget
 * (charge.h): the charge is cut to what the thread then read. */
static enum outcome read_ahead_step(struct job *j, size_t n, bool *fresh_out)
{
	if (j->count == PF_COUNT_CACHE)
		pf_prior_note(j->rec.start, j->ahead, n);
	struct pf_charge c = {
		.start = j->rec.start,
		.id = j->rec.id,
		.addr = j->rec.start + j->ahead,
		.len = n,
		.dev = j->dev,
		.count = j->count,
		.room = pf_pressure_room(),
		.count_reads = j->rb >= 0,
		.ahead = j->ahead + n,
		.rec = &j->rec,
		.read = willneed_step,
		.read_bytes = j->rb,
	};
	enum pf_charge_result r = pf_charge_read(&c);
	if (r == PF_CHARGE_GONE)
		return UNMAPPED;
	if (r == PF_CHARGE_NO_BUDGET)
		return BUDGET;
	j->rb = c.read_bytes;
	j->ahead += n;
	*fresh_out = c.fresh != 0;
	return GOING;
}

/* A remembered mapping's stand-in for POPULATE_READ's wait: until the
 * step's pages are in the page cache (mincore does not count a page whose
 * read is in flight), at most WAIT_READS_MS, so that the window bounds the
 * reads in flight and the budget's measures see what was read.  Only where
 * mincore tells the page cache (PF_COUNT_CACHE). */
#define WAIT_READS_MS 500
static void wait_for_reads(const struct job *j, uintptr_t addr, size_t n, size_t page)
{
	if (j->count != PF_COUNT_CACHE)
		return;
	long want = (long)((n + page - 1) / page);
	for (int i = 0; i < WAIT_READS_MS; i++) {
		long res = pf_count_resident(j->count, addr, n);
		if (res < 0 || res >= want)
			return;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* Maps in one step at j->done.  A page the program's own readahead marked
 * (PG_readahead) makes the step's fault start the kernel's readahead of the
 * next read_ahead_kb: prefault's doing, so what the thread read meanwhile
 * is charged too, even past the budget (it is in memory already; the next
 * step then finds the budget spent), and remembered (caused_ahead) for
 * the steps that reach it. */
static enum outcome populate_step(struct job *j, size_t n, size_t page)
{
	int err = 0;
	size_t passed = 0;
	if (j->remembered) {
		/* WILLNEED only: the program's touch maps the page. */
		wait_for_reads(j, j->rec.start + j->done, n, page);
	} else if (pf_populate_read_supported()) {
		pf_iolimit_before_read(j->dev, 0);
		int64_t t0 = pf_now_ns();
		if (j->count == PF_COUNT_CACHE)
			err = pf_prior_populate(j->rec.start, j->done, n, j->rec.len,
						pf_readahead_reach(j->dev), &passed);
		else
			err = pf_advise_populate(j->rec.start + j->done, n);
		pf_iolimit_after_populate(j->dev, pf_now_ns() - t0);
	} else {
		pace(n);
	}
	uint64_t caused = read_since_last(j, page);
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(j->rec.start, j->rec.id);
	if (!m) {
		pf_table_unlock();
		return UNMAPPED;
	}
	if (caused && caused != UINT64_MAX)
		pf_account_charge_caused_locked(m, caused);
	if (passed)
		m->passed_by = j->passed_by = true;
	if (err) {
		m->errors++;
		m->last_err = err;
	}
	m->done = j->done + n;
	pf_done_snapshot_locked(&j->rec, m);
	pf_table_unlock();
	j->done += n;
	return err ? FAILED : GOING;
}

static enum outcome run_slice(struct job *j, size_t slice_end)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct pf_window *w = &helper_window;
	pf_window_start(w, pf_readahead_step(j->dev), (size_t)(pf_opt.window / pf_opt.threads), page,
			pf_iolimit_queue_ms(j->dev));
	j->rb = major(j->dev) ? pf_thread_read_bytes() : -1;
	bool budget_hit = false;

	for (;;) {
		if (slice_end > j->rec.len)
			slice_end = j->rec.len;
		/* While the program waits on the disk, one read at a time. */
		bool stand_back = pf_iolimit_stand_back(j->dev);
		while (!budget_hit && j->ahead < slice_end &&
		       (stand_back ? j->ahead == j->done : pf_window_room(w, j->ahead, j->done))) {
			size_t step = pf_iolimit_step(j->dev, pf_window_step(w, page), stand_back);
			size_t n = slice_end - j->ahead < step ? slice_end - j->ahead : step;
			if (j->ahead + n - j->done > pf_prior_span())
				break;
			bool fresh = false;
			enum outcome o = read_ahead_step(j, n, &fresh);
			if (o == BUDGET)
				budget_hit = true;
			else if (o != GOING)
				return o;
			else
				pf_window_issued(w, j->ahead, fresh);
		}
		if (j->done < j->ahead) {
			size_t step = pf_window_step(w, page);
			size_t n = j->ahead - j->done < step ? j->ahead - j->done : step;
			enum outcome o = populate_step(j, n, page);
			pf_window_populated(w, j->done);
			if (o != GOING)
				return o;
			pf_stats_tick();
			continue;
		}
		if (j->done >= j->rec.len)
			return COMPLETE;
		return budget_hit ? BUDGET : SLICE_END;
	}
}

/* A complete mapping whose steps passed pages by gets them mapped in now
 * (prior.h); what that made the kernel read is charged as a step's is. */
static void finish(struct job *j)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (j->rb >= 0)
		j->rb = pf_thread_read_bytes();
	pf_prior_finish(j->rec.start, j->rec.len);
	uint64_t caused = read_since_last(j, page);
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(j->rec.start, j->rec.id);
	if (m) {
		m->passed_by = false;
		if (caused && caused != UINT64_MAX)
			pf_account_charge_caused_locked(m, caused);
	}
	pf_table_unlock();
}

static const char *result_name(enum outcome o)
{
	switch (o) {
	case COMPLETE: return "complete";
	case BUDGET: return "budget";
	case UNMAPPED: return "unmapped";
	default: return "error";
	}
}

static bool entry_alive(uintptr_t start, uint64_t id)
{
	struct pf_mapping *m = pf_table_find_locked(start, id);
	return m && m->state != PF_FINISHED;
}

/* A followed mapping's round (follow.c); table_lock held on entry, not on
 * return. */
static bool follow_once(struct pf_mapping *m, struct pf_follow *f)
{
	uintptr_t start = m->start;
	uint64_t id = m->id;
	dev_t dev = m->dev;
	ino_t ino = m->ino;
	char path[PF_PATH_MAX];
	memcpy(path, m->path, sizeof path);
	pf_table_unlock();

	const char *result = pf_follow_round(f, dev, path, pf_count_mode(path, dev, ino));

	pf_table_lock();
	m = pf_table_find_locked(start, id);
	if (m) {
		m->state = result ? PF_FINISHED : PF_QUEUED;
		if (result && strcmp(result, "unmapped")) {
			struct pf_done d;
			d.start = start;
			d.id = id;
			d.t_begin_ns = m->t_begin_ns;
			memcpy(d.path, path, sizeof d.path);
			pf_done_snapshot_locked(&d, m);
			pf_done_queue(&d, result);
		}
	}
	if (result)
		pf_front_free_locked(f);
	pf_table_unlock();
	return true;
}

/* The replay reads of a remembered mapping, neediest first, each charged
 * as a read ahead (without moving `ahead`).  BUDGET when the budget
 * stopped them (the next pick goes on), UNMAPPED, or GOING. */
static enum outcome replay(struct job *j)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uintptr_t addr;
	size_t len;
	int64_t rb = major(j->dev) ? pf_thread_read_bytes() : -1;
	while (pf_recall_next_replay(j->rec.start, j->rec.id, &addr, &len)) {
		size_t step = pf_readahead_step(j->dev);
		if (step < page)
			step = page;
		uint64_t got = 0;
		for (size_t o = 0; o < len; o += step) {
			size_t n = len - o < step ? len - o : step;
			struct pf_charge c = {
				.start = j->rec.start,
				.id = j->rec.id,
				.addr = addr + o,
				.len = n,
				.dev = j->dev,
				.count = j->count,
				.room = pf_pressure_room(),
				.count_reads = rb >= 0,
				.rec = &j->rec,
				.read = willneed_step,
				.read_bytes = rb,
			};
			enum pf_charge_result r = pf_charge_read(&c);
			if (r != PF_CHARGE_READ) {
				pf_recall_replayed(j->rec.start, j->rec.id, got, false);
				return r == PF_CHARGE_GONE ? UNMAPPED : BUDGET;
			}
			rb = c.read_bytes;
			got += c.fresh;
		}
		wait_for_reads(j, addr, len, page);
		pf_recall_replayed(j->rec.start, j->rec.id, got, true);
	}
	return GOING;
}

bool pf_engine_work_once(void)
{
	struct job j;
	bool others;
	int64_t now = pf_now_ns();
	(void)pf_pressure_room(); /* refreshes the cache follow.c reads under the lock */
	pf_table_lock();
	struct pf_mapping *m = pick_locked(&others, now);
	if (m && short_of_budget_locked(m)) {
		/* It would be followed for want of what others hold: first
		 * give back what of that the kernel evicted.  While another
		 * helper measures, decide nothing (it may give back enough). */
		pf_table_unlock();
		if (pf_remeasure(0, 0) < 0 && pf_remeasure_running()) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			return true;
		}
		pf_table_lock();
		m = pick_locked(&others, now);
	}
	if (!m) {
		/* Followed mappings wait for their next poll: sleep until then. */
		int64_t due = pf_front_sweep_locked(entry_alive);
		pf_table_unlock();
		if (!due)
			return false;
		int64_t ns = due - now;
		if (ns > 100000000)
			ns = 100000000;
		if (ns > 0) {
			struct timespec ts = { 0, (long)ns };
			nanosleep(&ts, NULL);
		}
		return true;
	}
	j.resumed = m->state == PF_WAITING;
	m->state = PF_ACTIVE;
	bool first = !m->t_begin_ns;
	if (!m->t_begin_ns)
		m->t_begin_ns = now;
	last_id = m->id;
	if (first && pf_recall_enabled() && !pf_front_find_locked(m->start, m->id)) {
		/* Its record loads on this helper, without the lock. */
		uintptr_t start = m->start;
		uint64_t id = m->id;
		size_t len = m->len;
		off_t offset = m->offset;
		dev_t dev = m->dev;
		ino_t ino = m->ino;
		memcpy(j.rec.path, m->path, sizeof j.rec.path);
		pf_table_unlock();
		bool rem = pf_recall_begin(start, id, len, offset, dev, ino, j.rec.path);
		pf_table_lock();
		m = pf_table_find_locked(start, id);
		if (!m) {
			pf_table_unlock();
			return true;
		}
		m->remembered = rem;
	}
	j.remembered = m->remembered;
	j.passed_by = m->passed_by;
	struct pf_follow *f = j.remembered ? NULL : pf_follow_for_locked(m);
	if (f)
		return follow_once(m, f);
	j.rec.start = m->start;
	j.rec.id = m->id;
	j.done = m->done;
	j.ahead = m->ahead > m->done ? m->done : m->ahead;
	j.dev = m->dev;
	j.ino = m->ino;
	j.rec.t_begin_ns = m->t_begin_ns;
	memcpy(j.rec.path, m->path, sizeof j.rec.path);
	pf_done_snapshot_locked(&j.rec, m);
	pf_table_unlock();

	j.count = pf_count_mode(j.rec.path, j.dev, j.ino);
	size_t slice_end = others ? j.done + SLICE_BYTES : j.rec.len;
	enum outcome o = j.remembered ? replay(&j) : GOING;
	if (o == GOING)
		o = run_slice(&j, slice_end);
	if (o == COMPLETE && j.passed_by)
		finish(&j);
	/* Spent: what the kernel evicted since is not held any more. */
	if (o == BUDGET && pf_remeasure(j.rec.start, j.rec.id) > 0)
		o = SLICE_END;

	pf_table_lock();
	m = pf_table_find_locked(j.rec.start, j.rec.id);
	bool finished = o != SLICE_END;
	if (m) {
		pf_done_snapshot_locked(&j.rec, m);
		if (o == SLICE_END && m->done >= m->len) {
			o = COMPLETE;
			finished = true;
		}
		m->state = o == BUDGET ? PF_WAITING : finished ? PF_FINISHED : PF_QUEUED;
	}
	/* A mapping the budget stopped again says so once.  A remembered
	 * mapping's record waits for what the program touches (recall.c). */
	bool say = finished && !(o == BUDGET && j.resumed);
	bool defer = say && j.remembered && o != UNMAPPED;
	if (say && !defer)
		pf_done_queue(&j.rec, result_name(o));
	pf_table_unlock();
	if (defer && !pf_recall_defer_done(&j.rec, result_name(o)))
		pf_done_queue(&j.rec, result_name(o));
	return true;
}
