/*
 * follow.c - the moving window, for mappings larger than the budget left.
 *
 * Design (docs/design.md, "Larger than the budget"):
 *  - Until the program shows a front (front.c), the mapping gets the
 *    whole-mapping behaviour from its start, within the budget, except that
 *    every chunk's sentinel block is read ahead but not mapped in.
 *  - A front not confirmed yet (live(), below) is a candidate: it gets
 *    the rest of the chunk it is in and CANDIDATE_CHUNKS ahead from free
 *    budget, first, in small batches, and the whole-mapping reads wait
 *    while one moved lately (CANDIDATE_HOLD_NS), so that a scan starting
 *    where prefault read nothing is served within a round or two.
 *  - For each front, chunks are brought in from the first one not yet in
 *    memory up to `target` past it: the front's consumption rate times
 *    LEAD_NS when the disk (measured while reading ahead) is clearly faster
 *    than the program consumes, else the front's share of the budget; never
 *    less than MIN_AHEAD, never more than the share.  The neediest front
 *    (least lead for its target) is served first, BATCH_CHUNKS per round,
 *    so the fronts are polled again every few MiB.
 *  - Chunks a front has passed by more than KEEP_BEHIND_CHUNKS (in whole
 *    2 MiB blocks, once it has travelled MIN_TRAVEL_CHUNKS) leave
 *    prefault's account: the budget caps what prefault holds, not its
 *    lifetime total.  They are also paged out (MADV_PAGEOUT), so the page
 *    cache does not fill with what the program is done with, including what
 *    the program read itself before its front was seen; except chunks
 *    another front is about to read, chunks mostly cached before prefault
 *    followed the mapping (another reader's), and everything once the
 *    program came back to a paged-out chunk.  The kernel ignores
 *    MADV_PAGEOUT on files the process could not open for writing; then
 *    only the account is released.
 *  - When a front needs budget that chunks read before any front hold
 *    (speculatively), those furthest from every front are given back.
 *  - Blind chunks (front.c: 2 MiB folios mapped whole) make the fronts'
 *    positions approximate: from BLIND_MANY on, KEEP_BEHIND_BLIND_CHUNKS are
 *    kept.  Chunks the program read itself are paged out then too: left,
 *    every stretch prefault fell behind stayed resident (the likely cause
 *    of one ahead.bats scan in ~45 peaking at 74 MiB for a 32 MiB budget,
 *    front kept, 32 blind chunks; not reproduced on demand).
 *  - Memory pressure (pressure.c) shrinks what may be added: nothing is
 *    read while MemAvailable or the cgroup's headroom is below the reserve.
 *    Nothing is ever locked in memory.
 *  - When a round finds the budget spent, the engine measures again what
 *    whole mappings hold (pf_remeasure) and, when it did, this
 *    mapping's chunks are measured too: pages the kernel evicted leave the
 *    account.
 *  - Charges count what is in memory as budget.c says for the file; on a
 *    block device a chunk's charge is then cut to what the thread read for
 *    it (counted high, PF_COUNT_MAPPED, or pages whose read was in flight):
 *    the engine's steps and these chunks are read alike (charge.c).
 *    Unlike the engine's, a round's populate steps are not charged for the
 *    kernel's readahead they start: here that readahead is the program's
 *    own, run a little early, ahead of its front.
 *
 * Lock rule: the state belongs to the helper that has the entry PF_ACTIVE;
 * table_lock is taken only to charge, credit and check the entry still
 * exists, and to set next_poll_ns (which other helpers read under it), never
 * across madvise, mincore or a pagemap read.
 */
#include "work/follow.h"
#include "work/iolimit.h"
#include "sys/pagemap.h"
#include "sys/advise.h"
#include "work/charge.h"
#include "work/done.h"
#include "core/account.h"
#include "work/remeasure.h"
#include "core/options.h"
#include "core/pressure.h"
#include "core/events.h"
#include "core/report.h"
#include "sys/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define MIN_AHEAD ((size_t)16 << 20)
#define LEAD_NS (2ll * 1000000000ll)
#define KEEP_BEHIND_CHUNKS 2
#define MIN_TRAVEL_CHUNKS 4
/* Once chunks went blind (2 MiB folios from the kernel's own readahead of a
 * large read_ahead_kb), a front can be that readahead ahead of the program:
 * keep more behind it. */
#define KEEP_BEHIND_BLIND_CHUNKS 12
/* One blind chunk is the program touching a sentinel as it is mapped in;
 * 2 MiB folios make them by the dozen. */
#define BLIND_MANY 4
#define PMD_BYTES ((uintptr_t)2 << 20)
#define BATCH_CHUNKS 8
/* Until every front is confirmed (and in the whole-mapping behaviour, where
 * one may show at any time), rounds come back after this much so that a
 * new front is served soon, and the program's own faults there queue
 * behind little of prefault's reading. */
#define CANDIDATE_BATCH_CHUNKS 2
/* The whole-mapping behaviour waits while a candidate front moved this
 * recently: its reads would take the disk from the candidates, whose
 * programs are reading on their own meanwhile. */
#define CANDIDATE_HOLD_NS (200ll * 1000000ll)
#define CANDIDATE_CHUNKS 8
#define POLL_FRONTS_NS (10ll * 1000000ll)
#define POLL_IDLE_NS (50ll * 1000000ll)
#define REPORT_NS (1000ll * 1000000ll)

enum step_result { OK, NO_BUDGET, GONE };

/* How the round's charges count what is in memory (pf_follow_round's
 * argument, for the helper running the round). */
static __thread enum pf_count round_count;

/* Gives credit back to the budget and takes it off what f holds; false
 * when the mapping is gone (nothing changed). */
static bool release_credit(struct pf_follow *f, uint64_t credit)
{
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(f->start, f->id);
	if (m)
		pf_account_release_locked(m, credit);
	pf_table_unlock();
	if (m)
		f->held -= credit < f->held ? credit : f->held;
	return m != NULL;
}

/* A front is live once it has moved CONFIRM_CHUNKS and RUN_LIVE_CHUNKS lie
 * behind it in one run: a front is seen (and served as a candidate) from a
 * single touched chunk, and random reads fill in short runs soon enough. */
#define CONFIRM_CHUNKS 2
#define RUN_LIVE_CHUNKS 5
static bool live(const struct pf_front *fr)
{
	return fr->pos - fr->origin >= CONFIRM_CHUNKS * PF_CHUNK &&
	       fr->pos - fr->run_from >= RUN_LIVE_CHUNKS * PF_CHUNK;
}

static unsigned live_fronts(const struct pf_follow *f)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->nfronts; i++)
		n += live(&f->front[i]);
	return n;
}

struct pf_follow *pf_follow_for_locked(struct pf_mapping *m)
{
	struct pf_follow *f = pf_front_find_locked(m->start, m->id);
	if (f || m->done || m->ahead || !pf_populate_read_supported())
		return f;
	uint64_t budget = pf_budget_limit(), held = pf_account_held();
	uint64_t left = budget > held ? budget - held : 0, room = pf_pressure_room_cached();
	if (room < left)
		left = room;
	if (m->len <= left || m->len < 4 * PF_CHUNK)
		return NULL;
	return pf_front_new_locked(m->start, m->id, m->len);
}

bool pf_follow_due_locked(const struct pf_mapping *m, int64_t now)
{
	struct pf_follow *f = pf_front_find_locked(m->start, m->id);
	return !f || f->next_poll_ns <= now;
}

static size_t chunk_end(const struct pf_follow *f, size_t c)
{
	size_t e = (c + 1) * PF_CHUNK;
	return e < f->len ? e : f->len;
}

/* pf_charge_read's reads for a chunk: WILLNEED in steps (the one given,
 * as iolimit.c shrinks it), each paced as a read of its whole length. */
static void willneed_chunk(const struct pf_charge *c, uint64_t fresh)
{
	(void)fresh;
	const size_t *asked = c->arg;
	size_t step = pf_iolimit_step(c->dev, *asked, pf_iolimit_stand_back(c->dev));
	for (size_t o = 0; o < c->len; o += step) {
		size_t piece = c->len - o < step ? c->len - o : step;
		pf_iolimit_before_read(c->dev, piece);
		pf_advise_willneed(c->addr + o, piece);
	}
}

/* Charges chunk c (its pages the round's count mode does not count in
 * memory) and starts reading it; the chunk holds what the thread read for
 * it (charge.h). */
static enum step_result issue(struct pf_follow *f, size_t c, size_t step, dev_t dev, uint64_t room)
{
	struct pf_charge ch = {
		.start = f->start,
		.id = f->id,
		.addr = f->start + c * PF_CHUNK,
		.len = chunk_end(f, c) - c * PF_CHUNK,
		.dev = dev,
		.count = round_count,
		.room = room,
		.count_reads = major(dev) != 0,
		.read = willneed_chunk,
		.arg = &step,
	};
	enum pf_charge_result r = pf_charge_read(&ch);
	if (r != PF_CHARGE_READ)
		return r == PF_CHARGE_GONE ? GONE : NO_BUDGET;
	f->held += ch.fresh;
	uint64_t pages = ch.fresh / (size_t)sysconf(_SC_PAGESIZE);
	f->chunk[c] = (f->chunk[c] & ~PF_CH_PAGES) | (uint32_t)pages | PF_CH_BROUGHT;
	return OK;
}

/* Maps chunk c in, all but its sentinel block.  A sentinel that was not
 * present before and is after makes the chunk blind; so does a neighbour's
 * (a 2 MiB folio spans two chunks): with fronts seen from one touched
 * chunk, such a neighbour would otherwise start a front of its own.
 * Unlike the engine's, these waits are not reported to the pacer
 * (pf_iolimit_after_populate): here they are mostly prefault's own reads held by
 * the throttle, and reporting them turned pacing off for good in 2 of 6
 * throttled scans (one 35-41 ms wait, then 88-93 ms ones, unpaced). */
static int populate(struct pf_follow *f, size_t c, int pagemap_fd)
{
	uintptr_t a = f->start + c * PF_CHUNK, e = f->start + chunk_end(f, c), sa, sb;
	int err = 0;
	if (!pf_front_sentinel(f, c, &sa, &sb))
		return pf_advise_populate(a, e - a);
	size_t nb[3] = { c, c - 1, c + 1 };
	bool before[3] = { true, true, true };
	for (unsigned k = 0; k < 3 && pagemap_fd >= 0; k++)
		if (nb[k] < f->nchunks && !(f->chunk[nb[k]] & (PF_CH_TOUCHED | PF_CH_BLIND)))
			before[k] = pf_front_touched_now(pagemap_fd, f, nb[k]);
	if (sa > a)
		err = pf_advise_populate(a, sa - a);
	if (!err && e > sb)
		err = pf_advise_populate(sb, e - sb);
	for (unsigned k = 0; k < 3 && !err; k++)
		if (!before[k] && pf_front_touched_now(pagemap_fd, f, nb[k])) {
			f->chunk[nb[k]] |= PF_CH_BLIND;
			f->blind_seen++;
		}
	return err;
}

static void note_error(struct pf_follow *f, int err)
{
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(f->start, f->id);
	if (m) {
		m->errors++;
		m->last_err = err;
	}
	pf_table_unlock();
}

/* Brings in up to `max` chunks of [c, c_end) not yet in memory, WILLNEED
 * running at most the window ahead of POPULATE_READ. */
static enum step_result bring(struct pf_follow *f, size_t c, size_t c_end, unsigned max,
			      dev_t dev, uint64_t room, unsigned *brought)
{
	size_t window = (size_t)(pf_opt.window / pf_opt.threads);
	size_t step = pf_readahead_step(dev);
	if (window < 2 * PF_CHUNK)
		window = 2 * PF_CHUNK;
	size_t queue[BATCH_CHUNKS];
	unsigned head = 0, tail = 0;
	enum step_result r = OK;
	uint64_t held0 = f->held;
	int64_t t0 = pf_now_ns();
	int fd = pf_pagemap_open();
	*brought = 0;
	if (max > BATCH_CHUNKS)
		max = BATCH_CHUNKS;
	for (; c < c_end && *brought < max; c++) {
		if (f->chunk[c] & (PF_CH_BROUGHT | PF_CH_TOUCHED | PF_CH_DROPPED))
			continue;
		r = issue(f, c, step, dev, room == UINT64_MAX ? room : pf_pressure_room());
		if (r != OK)
			break;
		queue[tail++] = c;
		(*brought)++;
		while ((tail - head) * PF_CHUNK > window) {
			int err = populate(f, queue[head++], fd);
			if (err == ENOMEM)
				r = GONE;
			else if (err)
				note_error(f, err);
		}
		if (r == GONE)
			break;
	}
	while (head < tail && r != GONE) {
		int err = populate(f, queue[head++], fd);
		if (err == ENOMEM)
			r = GONE;
		else if (err)
			note_error(f, err);
	}
	if (fd >= 0)
		close(fd);
	if (r == GONE)
		return r;
	uint64_t fresh = f->held - held0;
	int64_t dt = pf_now_ns() - t0;
	if (fresh >= PF_CHUNK && dt > 0) {
		double bps = (double)fresh * 1e9 / (double)dt;
		f->disk_bps = f->disk_bps > 0 ? 0.7 * f->disk_bps + 0.3 * bps : bps;
	}
	return r;
}

/* The rest of chunk c, which the program is reading on its own (a front
 * just seen there): its faults would each wait behind prefault's reads. */
static enum step_result bring_current(struct pf_follow *f, size_t c, dev_t dev, uint64_t room,
				      unsigned *brought)
{
	if (!(f->chunk[c] & PF_CH_TOUCHED) || (f->chunk[c] & (PF_CH_BROUGHT | PF_CH_DROPPED)))
		return OK;
	enum step_result r = issue(f, c, pf_readahead_step(dev), dev,
				   room == UINT64_MAX ? room : pf_pressure_room());
	if (r != OK)
		return r;
	int fd = pf_pagemap_open();
	int err = populate(f, c, fd);
	if (fd >= 0)
		close(fd);
	if (err == ENOMEM)
		return GONE;
	if (err)
		note_error(f, err);
	(*brought)++;
	return OK;
}

/* First chunk at or past the front that prefault has not brought in and the
 * program has not touched. */
static size_t first_missing(const struct pf_follow *f, size_t pos)
{
	size_t c = pos / PF_CHUNK;
	while (c < f->nchunks && (f->chunk[c] & (PF_CH_BROUGHT | PF_CH_TOUCHED)))
		c++;
	return c;
}

static size_t target_of(const struct pf_follow *f, const struct pf_front *fr, uint64_t budget)
{
	double total = 0;
	unsigned n = live_fronts(f);
	for (unsigned i = 0; i < f->nfronts; i++)
		total += live(&f->front[i]) ? f->front[i].rate : 0;
	size_t share = (size_t)(budget / (n ? n : 1));
	size_t t = share;
	if (f->disk_bps > 0 && total > 0 && f->disk_bps >= 1.5 * total)
		t = (size_t)(fr->rate * (double)LEAD_NS / 1e9);
	if (t < MIN_AHEAD)
		t = MIN_AHEAD;
	return t < share ? t : share;
}

static bool ahead_of_other(const struct pf_follow *f, unsigned self, size_t c, uint64_t budget)
{
	for (unsigned i = 0; i < f->nfronts; i++) {
		const struct pf_front *g = &f->front[i];
		if (i != self && live(g) && c * PF_CHUNK >= g->pos &&
		    c * PF_CHUNK < g->pos + target_of(f, g, budget))
			return true;
	}
	return false;
}

/* Releases the chunks each front has left KEEP_BEHIND_CHUNKS behind. */
static void release_behind(struct pf_follow *f, uint64_t budget)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = -1;
	for (unsigned i = 0; i < f->nfronts; i++) {
		struct pf_front *fr = &f->front[i];
		size_t upto = fr->pos / PF_CHUNK;
		bool blind = f->blind_seen >= BLIND_MANY;
		size_t keep = blind ? KEEP_BEHIND_BLIND_CHUNKS : KEEP_BEHIND_CHUNKS;
		/* Random touches can look like a front for a chunk or two; one
		 * that has travelled MIN_TRAVEL_CHUNKS is a scan. */
		if (!live(fr) || upto < keep || fr->pos - fr->origin < MIN_TRAVEL_CHUNKS * PF_CHUNK)
			continue;
		upto -= keep;
		/* Only whole 2 MiB blocks: a page-cache folio of 2 MiB is mapped
		 * whole, and paging out half of it while the program reads the
		 * other half would have it mapped (and counted) again. */
		uintptr_t limit = f->start + upto * PF_CHUNK;
		for (size_t c = fr->drop_next; c < upto; c++) {
			uintptr_t blk_end = (f->start + (c + 1) * PF_CHUNK + PMD_BYTES - 1) & ~(PMD_BYTES - 1);
			if (blk_end > limit) {
				upto = c;
				break;
			}
			uint32_t w = f->chunk[c];
			if (!(w & (PF_CH_BROUGHT | PF_CH_TOUCHED)) || (w & PF_CH_DROPPED) ||
			    ahead_of_other(f, i, c, budget))
				continue;
			uint64_t credit = (uint64_t)(w & PF_CH_PAGES) * page;
			if (!release_credit(f, credit))
				return;
			f->chunk[c] = (w & ~PF_CH_PAGES) | PF_CH_DROPPED;
			f->dropped += credit;
			if (f->no_drop || f->cannot_drop || (w & PF_CH_CACHED))
				continue;
			uintptr_t a = f->start + c * PF_CHUNK;
			pf_advise_pageout(a, chunk_end(f, c) - c * PF_CHUNK);
			if (fd < 0)
				fd = pf_pagemap_open();
			if (fd < 0)
				continue;
			/* Still mapped: a page was busy, or (every time) the kernel
			 * will not page this file out for us. */
			if (pf_front_touched_now(fd, f, c)) {
				f->pageout_failed++;
				f->cannot_drop = !f->pageout_ok && f->pageout_failed >= 4;
			} else {
				f->pageout_ok++;
				f->chunk[c] |= PF_CH_PAGEDOUT;
			}
		}
		fr->drop_next = upto > fr->drop_next ? upto : fr->drop_next;
	}
	if (fd >= 0)
		close(fd);
}

/* A front needs budget that chunks read ahead speculatively (before any
 * front, or for a front that is gone) hold: give back those furthest from
 * every live front's window, at most `want` bytes.  They may be read again
 * if a front comes to them. */
static void release_speculative(struct pf_follow *f, uint64_t budget, uint64_t want)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t freed = 0;
	for (size_t c = f->nchunks; c-- > 0 && freed < want;) {
		uint32_t w = f->chunk[c];
		if (!(w & PF_CH_BROUGHT) || (w & (PF_CH_TOUCHED | PF_CH_DROPPED)))
			continue;
		bool needed = false;
		for (unsigned i = 0; i < f->nfronts && !needed; i++) {
			const struct pf_front *fr = &f->front[i];
			size_t span = live(fr) ? target_of(f, fr, budget) : CANDIDATE_CHUNKS * PF_CHUNK;
			needed = c * PF_CHUNK + PF_CHUNK > fr->pos && c * PF_CHUNK < fr->pos + span;
		}
		if (needed)
			continue;
		uint64_t credit = (uint64_t)(w & PF_CH_PAGES) * page;
		if (!release_credit(f, credit))
			return;
		f->chunk[c] = w & PF_CH_CACHED;
		freed += credit;
		if (!f->no_drop && !f->cannot_drop && !(w & PF_CH_CACHED))
			pf_advise_pageout(f->start + c * PF_CHUNK, chunk_end(f, c) - c * PF_CHUNK);
	}
}

static void report(struct pf_follow *f, uint64_t budget, uint64_t room)
{
	char buf[1500];
	size_t n = 0, blind = f->blind_seen;
	const char *mode = f->random ? "random" : live_fronts(f) ? "fronts" : "whole";
	const char *drop = f->no_drop ? "off" : f->cannot_drop ? "refused" : "on";
	n += (size_t)snprintf(buf + n, sizeof buf - n,
			      ",\"id\":%" PRIu64 ",\"len\":%zu,\"mode\":\"%s\",\"held\":%" PRIu64
			      ",\"budget\":%" PRIu64 ",\"room\":%" PRIu64 ",\"disk_mbps\":%.1f"
			      ",\"dropped\":%" PRIu64 ",\"drop\":\"%s\",\"retouched\":%" PRIu64
			      ",\"pageout\":[%u,%u],\"blind\":%zu,\"isolated\":%u,\"fronts\":[",
			      f->id, f->len, mode, f->held, budget, room == UINT64_MAX ? 0 : room,
			      f->disk_bps / 1048576.0, f->dropped, drop, f->retouched, f->pageout_ok,
			      f->pageout_failed, blind, f->isolated);
	for (unsigned i = 0, k = 0; i < f->nfronts && n < sizeof buf; i++) {
		struct pf_front *fr = &f->front[i];
		if (!live(fr))
			continue;
		size_t lead = first_missing(f, fr->pos) * PF_CHUNK;
		lead = lead > f->len ? f->len : lead;
		n += (size_t)snprintf(buf + n, sizeof buf - n,
				      "%s{\"pos\":%zu,\"lead\":%zu,\"min_lead\":%lld,\"target\":%zu,\"mbps\":%.1f}",
				      k++ ? "," : "", fr->pos, lead - fr->pos, (long long)fr->lead_min,
				      target_of(f, fr, budget), fr->rate / 1048576.0);
		fr->lead_min = -1;
	}
	if (n < sizeof buf)
		snprintf(buf + n, sizeof buf - n, "]");
	pf_stats_write_record("ahead", buf);
}

/* The whole-mapping reads stopped at the budget: the done record says so
 * once, with the followed length. */
static void queue_budget_done(struct pf_follow *f, const char *path)
{
	struct pf_done d;
	pf_table_lock();
	struct pf_mapping *m = pf_table_find_locked(f->start, f->id);
	if (m) {
		pf_done_snapshot_locked(&d, m);
		d.t_begin_ns = m->t_begin_ns;
	}
	pf_table_unlock();
	if (!m)
		return;
	d.start = f->start;
	d.id = f->id;
	d.len = f->len;
	snprintf(d.path, sizeof d.path, "%s", path);
	pf_done_queue(&d, "budget");
}

/* What was cached before prefault came is someone else's: never paged out. */
static void note_cached(struct pf_follow *f)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t c = 0; c < f->nchunks; c++) {
		size_t n = chunk_end(f, c) - c * PF_CHUNK;
		long res = pf_count_resident(round_count, f->start + c * PF_CHUNK, n);
		if (res < 0)
			return;
		if ((size_t)res * page * 2 >= n)
			f->chunk[c] |= PF_CH_CACHED;
	}
}

/* A mapping's chunks are measured again at most every REMEASURE_CHUNKS_NS
 * (a round of a 1 GiB mapping reads 1024 chunks), per helper thread. */
#define REMEASURE_CHUNKS_NS (2000ll * 1000000ll)
static bool chunks_due(const struct pf_follow *f, int64_t now)
{
	static __thread struct {
		uint64_t id;
		int64_t t;
	} last[16];
	unsigned oldest = 0;
	for (unsigned i = 0; i < 16; i++) {
		if (last[i].id == f->id) {
			if (now - last[i].t < REMEASURE_CHUNKS_NS)
				return false;
			last[i].t = now;
			return true;
		}
		if (last[i].t < last[oldest].t)
			oldest = i;
	}
	last[oldest].id = f->id;
	last[oldest].t = now;
	return true;
}

/* The budget is spent: pages of chunks still charged that the kernel has
 * evicted leave the account.  Counted by mapped pages (PF_COUNT_MAPPED), a
 * sentinel block, never mapped by prefault, is taken to be still there. */
static void remeasure_chunks(struct pf_follow *f)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t c = 0; c < f->nchunks; c++) {
		uint32_t w = f->chunk[c];
		uint64_t pages = w & PF_CH_PAGES;
		if (!pages || (w & PF_CH_DROPPED))
			continue;
		uintptr_t a = f->start + c * PF_CHUNK, sa, sb;
		long res = pf_count_resident(round_count, a, chunk_end(f, c) - c * PF_CHUNK);
		if (res < 0)
			return;
		if (round_count == PF_COUNT_MAPPED && pf_front_sentinel(f, c, &sa, &sb)) {
			long in_sentinel = pf_count_resident(round_count, sa, sb - sa);
			if (in_sentinel >= 0)
				res += (long)((sb - sa) / page) - in_sentinel;
		}
		if ((uint64_t)res >= pages)
			continue;
		if (!release_credit(f, (pages - (uint64_t)res) * page))
			return;
		f->chunk[c] = (w & ~PF_CH_PAGES) | (uint32_t)res;
	}
}

const char *pf_follow_round(struct pf_follow *f, dev_t dev, const char *path, enum pf_count count)
{
	int64_t now = pf_now_ns();
	round_count = count;
	if (!f->started) {
		f->started = true;
		note_cached(f);
	}
	if (pf_front_poll(f, now) < 0)
		f->random = true;
	uint64_t budget = pf_budget_limit(), room = pf_pressure_room();
	uint64_t held = pf_account_held();
	/* Under pressure the budget shrinks to what is held plus the room. */
	if (room != UINT64_MAX && held + room < budget)
		budget = held + room;
	for (unsigned i = 0; i < f->nfronts; i++) {
		struct pf_front *fr = &f->front[i];
		int64_t lead = (int64_t)(first_missing(f, fr->pos) * PF_CHUNK) - (int64_t)fr->pos;
		if (fr->lead_min < 0 || lead < fr->lead_min)
			fr->lead_min = lead;
	}
	release_behind(f, budget);

	enum step_result r = OK;
	bool starved = false;
	unsigned brought = 0, batch = live_fronts(f) < f->nfronts ? CANDIDATE_BATCH_CHUNKS : BATCH_CHUNKS;
	bool hold = false;
	for (unsigned i = 0; i < f->nfronts; i++)
		hold |= !live(&f->front[i]) && now - f->front[i].t_moved < CANDIDATE_HOLD_NS;
	/* A front not confirmed yet is a scan starting (or random touches): it
	 * gets CANDIDATE_CHUNKS ahead from what budget is free, so that a real
	 * one does not crawl behind the others' reads while it proves itself;
	 * first the rest of the chunk it is in. */
	for (unsigned i = 0; i < f->nfronts && !brought && r == OK; i++) {
		struct pf_front *fr = &f->front[i];
		if (live(fr))
			continue;
		if (fr->pos >= PF_CHUNK)
			r = bring_current(f, fr->pos / PF_CHUNK - 1, dev, room, &brought);
		starved |= r == NO_BUDGET;
		if (r == NO_BUDGET)
			r = OK;
		if (brought || r != OK)
			break;
		size_t c0 = first_missing(f, fr->pos), c_end = fr->pos / PF_CHUNK + CANDIDATE_CHUNKS;
		if (c_end > f->nchunks)
			c_end = f->nchunks;
		if (c0 < c_end)
			r = bring(f, c0, c_end, CANDIDATE_CHUNKS, dev, room, &brought);
		starved |= r == NO_BUDGET;
		if (r == NO_BUDGET)
			r = OK;
	}
	if (brought) {
		/* again at once */
	} else if (live_fronts(f)) {
		/* The neediest front: least lead for its target. */
		unsigned best = 0;
		double best_score = 2;
		for (unsigned i = 0; i < f->nfronts; i++) {
			struct pf_front *fr = &f->front[i];
			if (!live(fr))
				continue;
			size_t miss = first_missing(f, fr->pos);
			size_t tgt = target_of(f, fr, budget);
			double score = (double)(miss * PF_CHUNK - fr->pos) / (double)tgt;
			if (score < best_score) {
				best_score = score;
				best = i;
			}
		}
		if (best_score < 1) {
			struct pf_front *fr = &f->front[best];
			size_t end = fr->pos + target_of(f, fr, budget);
			size_t c_end = (end + PF_CHUNK - 1) / PF_CHUNK;
			if (c_end > f->nchunks)
				c_end = f->nchunks;
			r = bring(f, first_missing(f, fr->pos), c_end, batch, dev, room, &brought);
			starved |= r == NO_BUDGET;
			if (r == NO_BUDGET && !brought)
				release_speculative(f, budget, BATCH_CHUNKS * PF_CHUNK);
		}
	} else if (f->whole_next < f->nchunks && !hold) {
		r = bring(f, f->whole_next, f->nchunks, CANDIDATE_BATCH_CHUNKS, dev, room, &brought);
		while (f->whole_next < f->nchunks &&
		       (f->chunk[f->whole_next] & (PF_CH_BROUGHT | PF_CH_TOUCHED)))
			f->whole_next++;
		starved |= r == NO_BUDGET;
		if (r == NO_BUDGET && !f->budget_sent) {
			f->budget_sent = true;
			queue_budget_done(f, path);
		}
	}
	if (r == GONE)
		return "unmapped";
	/* Spent: what the kernel evicted since is not held any more. */
	if (starved && pf_remeasure(0, 0) >= 0 && chunks_due(f, now))
		remeasure_chunks(f);

	if (pf_stats_enabled() && now - f->last_report_ns >= REPORT_NS &&
	    (live_fronts(f) || f->dropped || f->random)) {
		report(f, budget, room);
		f->last_report_ns = now;
	}

	bool all = true;
	for (size_t c = 0; c < f->nchunks && all; c++)
		all = (f->chunk[c] & (PF_CH_TOUCHED | PF_CH_DROPPED)) != 0;
	if (all && !f->nfronts)
		return "complete";
	if (brought)
		f->last_busy_ns = now;
	/* Other helpers read it under the lock (pf_follow_due_locked, the
	 * sweep in front.c). */
	pf_table_lock();
	f->next_poll_ns = brought ? 0 : now + (f->nfronts ? POLL_FRONTS_NS : POLL_IDLE_NS);
	pf_table_unlock();
	return NULL;
}
