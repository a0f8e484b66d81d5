/*
 * progwait.c - whether the program is waiting on the disk (see progwait.h).
 *
 * getrusage(RUSAGE_SELF) counts every thread's major faults, exited ones
 * included; each helper adds what getrusage(RUSAGE_THREAD) says it took
 * since it last looked, and the rest is the program's.  A helper's
 * populate faults are counted before the next look, so with one helper the
 * split is exact; with several, another helper's faults in progress can be
 * taken for the program's for a moment, which only makes prefault stand
 * back when it need not.  Faults of prefault's other threads (discovery,
 * statistics) are rare and count as the program's, to the same effect,
 * and so do the faults of the program's start (its binary, its libraries)
 * at the first look: prefault starts out standing back.
 *
 * Lock rule: none; atomics only, safe in any thread and across fork.
 */
#include "core/progwait.h"
#include "sys/clock.h"

#include <stdbool.h>
#include <sys/resource.h>

static uint64_t own_majflt;       /* atomic: the helpers' major faults, summed */
static uint64_t program_seen;     /* atomic: the program's count at the last look */
static int64_t waiting_until_ns;  /* atomic */
static int64_t spell_start_ns;    /* atomic: the first fault of the current wait */
static __thread uint64_t thread_folded; /* this thread's ru_majflt already added */

static void fold_own(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return;
	uint64_t mine = (uint64_t)ru.ru_majflt;
	if (mine > thread_folded) {
		__atomic_add_fetch(&own_majflt, mine - thread_folded, __ATOMIC_RELAXED);
		thread_folded = mine;
	}
}

/* The program's major faults so far. */
static uint64_t program_majflt(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return __atomic_load_n(&program_seen, __ATOMIC_RELAXED);
	uint64_t all = (uint64_t)ru.ru_majflt, own = __atomic_load_n(&own_majflt, __ATOMIC_RELAXED);
	return all > own ? all - own : 0;
}

uint64_t pf_progwait_program_majflt(void)
{
	fold_own();
	return program_majflt();
}

int64_t pf_progwait_waiting_ns(void)
{
	uint64_t prog = pf_progwait_program_majflt();
	int64_t now = pf_now_ns();
	uint64_t seen = __atomic_load_n(&program_seen, __ATOMIC_RELAXED);
	while (prog > seen) {
		if (__atomic_compare_exchange_n(&program_seen, &seen, prog, false, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			if (now >= __atomic_load_n(&waiting_until_ns, __ATOMIC_RELAXED))
				__atomic_store_n(&spell_start_ns, now, __ATOMIC_RELAXED);
			__atomic_store_n(&waiting_until_ns, now + PF_PROGWAIT_QUIET_MS * 1000000ll,
					 __ATOMIC_RELAXED);
			break;
		}
	}
	if (now >= __atomic_load_n(&waiting_until_ns, __ATOMIC_RELAXED))
		return 0;
	int64_t spell = now - __atomic_load_n(&spell_start_ns, __ATOMIC_RELAXED);
	return spell > 0 ? spell : 1;
}
