/*
 * progwait.c - whether the program is waiting on the disk (see progwait.h).
 *
 * Two counts of the whole process, each less what prefault's helpers did
 * themselves: major faults (getrusage(RUSAGE_SELF), exited threads
 * included; each helper adds what getrusage(RUSAGE_THREAD) says it took
 * since it last looked) and bytes read from storage (read_bytes of
 * /proc/self/io, less each helper's /proc/thread-self/io).  A fault is
 * counted when it ends, a read when it is submitted: a program whose first
 * fault waits 40 ms on a throttled disk shows no fault until then, and on
 * bench-startup's first answer prefault's reads went in that gap (the
 * answer took 211-217 ms against plain's 136-146).  So a read the program
 * submitted is taken to be in flight until its next major fault, READ_HOLD
 * at most (a read() is never a fault).  A look that sees both rise cannot
 * tell their order: a read was in flight before, so the fault ended it and
 * the read is the next (a program that reads file after file, each read
 * submitted microseconds after the last ended); none was, so the fault was
 * that read's.
 *
 * A helper's reads are counted before its next look, and right after each
 * read where the caller passes its count (pf_progwait_own_read); another
 * helper's read in progress can still be taken for the program's for a
 * moment, which only makes prefault stand back when it need not.  Reads
 * and faults of prefault's other threads (discovery, statistics) are rare
 * and count as the program's, to the same effect, and so do the faults of
 * the program's start (its binary, its libraries) at the first look:
 * prefault starts out standing back.  Where /proc/self/io cannot be read
 * (no task I/O accounting), faults alone tell.
 *
 * Lock rule: none; atomics only, safe in any thread and across fork.
 */
#include "core/progwait.h"
#include "sys/clock.h"
#include "sys/procfs.h"

#include <stdbool.h>
#include <sys/resource.h>

/* Two throttle slices: a read queued in blk-throttle waits up to one. */
#define READ_HOLD_NS (200ll * 1000000ll)
#define QUIET_NS (PF_PROGWAIT_QUIET_MS * 1000000ll)

static uint64_t own_majflt;   /* atomic: the helpers' major faults, summed */
static uint64_t own_read;     /* atomic: the helpers' read bytes, summed */
static uint64_t fault_seen;   /* atomic: the program's faults at the last look */
static uint64_t read_seen;    /* atomic: the program's read bytes at the last look */
static int64_t fault_ns;      /* atomic: when a look last saw its faults rise */
static int64_t read_ns;       /* atomic: when a look last saw its read bytes rise */
static int64_t spell_start_ns; /* atomic: the start of the current wait */
static bool in_flight;        /* atomic: a read seen since the last fault */
static uint64_t spell_base;   /* atomic: the program's faults at the wait's first look */
static int64_t last_spell_ns; /* atomic: what the last look returned */
static __thread uint64_t thread_majflt; /* this thread's ru_majflt already added */
static __thread uint64_t thread_read;  /* its read_bytes already added */

/* Adds what the calling thread did since it last looked to prefault's own. */
static void fold(uint64_t *own, uint64_t *folded, uint64_t mine)
{
	if (mine > *folded) {
		__atomic_add_fetch(own, mine - *folded, __ATOMIC_RELAXED);
		*folded = mine;
	}
}

void pf_progwait_own_read(int64_t thread_read_bytes)
{
	if (thread_read_bytes >= 0)
		fold(&own_read, &thread_read, (uint64_t)thread_read_bytes);
}

static void fold_own(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) == 0)
		fold(&own_majflt, &thread_majflt, (uint64_t)ru.ru_majflt);
	pf_progwait_own_read(pf_thread_read_bytes());
}

/* What the program did: all less own, or seen when all cannot be told. */
static uint64_t program_part(int64_t all, const uint64_t *own, const uint64_t *seen)
{
	if (all < 0)
		return __atomic_load_n(seen, __ATOMIC_RELAXED);
	uint64_t mine = __atomic_load_n(own, __ATOMIC_RELAXED);
	return (uint64_t)all > mine ? (uint64_t)all - mine : 0;
}

static uint64_t program_majflt(void)
{
	struct rusage ru;
	int64_t all = getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_majflt : -1;
	return program_part(all, &own_majflt, &fault_seen);
}

uint64_t pf_progwait_program_majflt(void)
{
	fold_own();
	return program_majflt();
}

/* When the program's wait ends, as the last rises say (0: not waiting). */
static int64_t waiting_until(void)
{
	int64_t f = __atomic_load_n(&fault_ns, __ATOMIC_RELAXED);
	int64_t r = __atomic_load_n(&read_ns, __ATOMIC_RELAXED);
	if (!f && !r)
		return 0;
	int64_t until = (f > r ? f : r) + QUIET_NS;
	if (__atomic_load_n(&in_flight, __ATOMIC_RELAXED) && r + READ_HOLD_NS > until)
		until = r + READ_HOLD_NS;
	return until;
}

/* Notes a rise of *seen to now_count at now; true for the look that saw it. */
static bool rose(uint64_t *seen, uint64_t now_count)
{
	uint64_t was = __atomic_load_n(seen, __ATOMIC_RELAXED);
	while (now_count > was)
		if (__atomic_compare_exchange_n(seen, &was, now_count, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return true;
	return false;
}

int64_t pf_progwait_waiting_ns(void)
{
	fold_own();
	uint64_t faults = program_majflt();
	uint64_t reads = program_part(pf_process_read_bytes(), &own_read, &read_seen);
	int64_t now = pf_now_ns();
	bool faulted = rose(&fault_seen, faults), read = rose(&read_seen, reads);
	if (faulted || read) {
		if (now >= waiting_until()) {
			__atomic_store_n(&spell_start_ns, now, __ATOMIC_RELAXED);
			__atomic_store_n(&spell_base, faults, __ATOMIC_RELAXED);
		}
		bool was = __atomic_load_n(&in_flight, __ATOMIC_RELAXED) &&
			   now < __atomic_load_n(&read_ns, __ATOMIC_RELAXED) + READ_HOLD_NS;
		__atomic_store_n(&in_flight, read && (!faulted || was), __ATOMIC_RELAXED);
		if (faulted)
			__atomic_store_n(&fault_ns, now, __ATOMIC_RELAXED);
		if (read)
			__atomic_store_n(&read_ns, now, __ATOMIC_RELAXED);
	}
	int64_t spell = 0;
	if (now < waiting_until()) {
		spell = now - __atomic_load_n(&spell_start_ns, __ATOMIC_RELAXED);
		if (spell <= 0)
			spell = 1;
	}
	__atomic_store_n(&last_spell_ns, spell, __ATOMIC_RELAXED);
	return spell;
}

int64_t pf_progwait_last_spell(uint64_t *faults)
{
	int64_t spell = __atomic_load_n(&last_spell_ns, __ATOMIC_RELAXED);
	uint64_t seen = __atomic_load_n(&fault_seen, __ATOMIC_RELAXED);
	uint64_t base = __atomic_load_n(&spell_base, __ATOMIC_RELAXED);
	*faults = spell && seen > base ? seen - base : 0;
	return spell;
}
