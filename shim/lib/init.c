/*
 * init.c - the library's life in the process: the constructor (resolve
 * libc, register what the statistics and the thread start ask of the
 * library, read the settings, register fork handlers; no thread), the
 * destructor (a last report, for programs that run one), fork handling and
 * PREFAULT_INHERIT.
 *
 * Lock order.  Every lock of prefault's, outermost first; a thread that
 * holds one takes only locks further down the list:
 *
 *   helpers_lock  helpers.c   (only ring_lock under it, by a log line)
 *   proc_lock     stats.c     (the proc record: attrib, table, pace, ring)
 *   attrib_lock   attrib.c    (table_lock under it, to copy the ranges)
 *   recall_lock   recall.c    (learn_lock, table_lock under it)
 *   learn_lock    recall.c    (table_lock under it: an entry's counts)
 *   table_lock    table.c     (ring_lock under it, to queue a record)
 *   pace_lock     iolimit.c   (ring_lock under it, by a log line)
 *   step_lock     advise.c    (nothing under it)
 *   count_lock    budget.c    (nothing under it)
 *   ring_lock     events.c    (nothing under it)
 *   event_lock    events.c    (nothing under it)
 *
 * Fork, as jemalloc does it: the prepare handler runs each module's
 * pf_<module>_prefork in that order, the parent and child handlers their
 * _postfork_parent and _postfork_child in reverse.  A prefork takes its
 * module's locks, so no other thread is inside one at the fork and the
 * child's copy of what they guard is whole; the child makes them anew.
 * Four are not taken, only made anew in the child, because a helper may
 * hold them across a wait with no bound: proc_lock and event_lock across a
 * write to the statistics' destination (a pipe nobody reads blocks it),
 * recall_lock across a record's load or store (the cache directory may be
 * on a network file system; the child forgets the parent's records),
 * attrib_lock across a malloc (opendir), which a fork must not wait for
 * whatever the allocator's fork handlers do.  learn_lock goes with
 * recall_lock: made anew, its states forgotten.  What they guard is line
 * buffers and fault samples the child starts afresh.  The child also
 * forgets the helpers it does not have (the next mapping's wake starts its
 * own), queues again what they had in hand, drops the statistics' queue,
 * and opens its own fault samples.  Taking locks in the list's order cannot
 * deadlock with a helper, whose nesting follows the same order; a fork may
 * wait for a helper's bounded I/O under a lock (the /sys reads of pace_lock
 * and step_lock).  helpers_lock is held across pthread_create's malloc:
 * glibc's fork takes the allocator's locks after every prepare handler.  A
 * thread that forks from a signal handler while it holds one of the locks
 * (inside a hook, or the destructor's last report) takes none and its
 * child runs with prefault off.
 *
 * vfork and posix_spawn (glibc's clone(CLONE_VM|CLONE_VFORK)) run no fork
 * handler: the child shares the parent's memory until it execs, and the
 * calls glibc's spawn child makes (dup2, sigprocmask, execve...) are none
 * that prefault hooks, so it takes no lock of prefault's.
 */
#include "sys/advise.h"
#include "sys/alloc.h"
#include "lib/attrib.h"
#include "core/budget.h"
#include "lib/discover.h"
#include "work/engine.h"
#include "work/helpers.h"
#include "work/recall.h"
#include "core/events.h"
#include "lib/hooks.h"
#include "work/iolimit.h"
#include "core/log.h"
#include "core/options.h"
#include "sys/real.h"
#include "core/report.h"
#include "lib/residency.h"
#include "work/stats.h"
#include "lib/stdio_locks.h"
#include "core/table.h"
#include "sys/threads.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* NULL when prefault is active in this process, else why it is not (the
 * start record's, through struct pf_stats_host). */
static const char *inactive_reason(void)
{
	return pf_opt.enabled ? NULL : "disabled by PREFAULT=0";
}

/* A signal handler that forks while its thread is inside a hook or the
 * destructor (holding one of the locks below, or about to) must not wait
 * for them: that thread is this one.  Such a fork takes no lock, and the
 * child, whose table may be half updated, runs with prefault off. */
static __thread bool fork_in_hook, in_fini;

static void fork_prepare(void)
{
	fork_in_hook = pf_in_hook() || in_fini;
	if (fork_in_hook)
		return;
	pf_helpers_prefork();
	pf_table_prefork();
	pf_iolimit_prefork();
	pf_advise_prefork();
	pf_budget_prefork();
	pf_events_prefork();
}

static void fork_parent(void)
{
	if (fork_in_hook)
		return;
	pf_events_postfork_parent();
	pf_budget_postfork_parent();
	pf_advise_postfork_parent();
	pf_iolimit_postfork_parent();
	pf_table_postfork_parent();
	pf_helpers_postfork_parent();
}

static void fork_child(void)
{
	if (fork_in_hook) {
		pf_opt.enabled = false;
		pf_discover_init();
		if (!in_fini) /* a hook never holds attrib_lock; the destructor may */
			pf_attrib_postfork_child();
		return;
	}
	pf_events_postfork_child();
	pf_budget_postfork_child();
	pf_advise_postfork_child();
	pf_iolimit_postfork_child();
	pf_table_postfork_child();
	pf_attrib_postfork_child();
	pf_recall_postfork_child();
	pf_stats_postfork_child();
	pf_helpers_postfork_child();
	pf_discover_after_fork_child(); /* no lock: discovery's thread is gone */
}

/* Removes this library from LD_PRELOAD, in place, so that programs started
 * from here run without it (PREFAULT_INHERIT=0). */
static void drop_from_ld_preload(void)
{
	Dl_info info;
	char *v = getenv("LD_PRELOAD");
	if (!v || !dladdr((void *)drop_from_ld_preload, &info) || !info.dli_fname)
		return;
	const char *self = strrchr(info.dli_fname, '/');
	self = self ? self + 1 : info.dli_fname;
	char *out = v;
	for (char *p = v; *p;) {
		size_t len = strcspn(p, " :");
		const char *base = p;
		for (size_t i = 0; i < len; i++)
			if (p[i] == '/')
				base = p + i + 1;
		bool ours = (size_t)(p + len - base) == strlen(self) && !strncmp(base, self, strlen(self));
		if (!ours && len) {
			if (out != v)
				*out++ = ' ';
			memmove(out, p, len);
			out += len;
		}
		p += len;
		while (*p == ' ' || *p == ':')
			p++;
	}
	*out = '\0';
}

__attribute__((constructor)) static void pf_init(void)
{
	static const struct pf_stats_host stats_host = {
		.inactive_reason = inactive_reason,
		.discover_wanted = pf_discover_wanted,
		.discover_how = pf_discover_how,
		.discover_lookup = pf_discover_lookup,
		.stdio_state = pf_stdio_state,
		.mappings_json = pf_residency_json,
		.drain = pf_attrib_drain,
	};
	bool libc_found = pf_real_resolve();
	pf_thread_set_first_hook(pf_stdio_first_thread);
	pf_stats_init(&stats_host);
	pf_options_load();
	if (pf_opt.enabled)
		pf_recall_init();
	if (!libc_found)
		pf_log("libc's mmap, munmap or mremap not found; using system calls");
	if (!pf_opt.inherit)
		drop_from_ld_preload();
	if (pf_opt.enabled) {
		const char *fail = getenv("PREFAULT_TEST_ALLOC_FAIL");
		if (fail)
			pf_alloc_set_failure_rate((unsigned)strtoul(fail, NULL, 10));
		pf_budget_compute();
		pthread_atfork(fork_prepare, fork_parent, fork_child);
		pf_discover_init();
		pf_attrib_init(); /* one thread yet: its event follows every later one */
	}
	pf_hooks_set_ready();
	pf_stats_write_start(0);
	const char *why = inactive_reason();
	if (why) {
		pf_note("inert: %s", why);
	} else {
		const char *dwhy;
		bool disc = pf_discover_wanted(&dwhy);
		pf_note("active: budget %llu MiB, discovery %s (%s)%s",
			(unsigned long long)(pf_budget_limit() >> 20), disc ? "on" : "off", dwhy,
			pf_opt.prefetch ? "" :
			pf_stats_enabled() ? ", measuring only (PREFAULT_PREFETCH=0)" :
			", measuring only (PREFAULT_PREFETCH=0) but no PREFAULT_STATS: nothing to do");
	}
}

__attribute__((destructor)) static void pf_fini(void)
{
	if (!pf_opt.enabled)
		return;
	in_fini = true;
	pf_recall_fini(); /* Go programs never get here: recall.c stores as it goes */
	if (!pf_stats_enabled()) {
		in_fini = false;
		return;
	}
	pf_stats_flush();
	pf_stats_write_proc();
	in_fini = false;
}
