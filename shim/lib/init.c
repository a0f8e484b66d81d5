/*
 * init.c - the library's life in the process: the constructor (resolve
 * libc, read the settings, register fork handlers; no thread), the
 * destructor (a last report, for programs that run one), fork handling and
 * PREFAULT_INHERIT.
 *
 * Lock order.  Every lock of prefault's, outermost first; a thread that
 * holds one takes only locks further down the list:
 *
 *   helpers_lock  helpers.c   (only ring_lock under it, by a log line)
 *   proc_lock     stats.c     (the proc record: attrib, table, pace, ring)
 *   attrib_lock   attrib.c    (table_lock under it, to copy the ranges)
 *   table_lock    table.c     (ring_lock under it, to queue a record)
 *   pace_lock     iolimit.c   (ring_lock under it, by a log line)
 *   step_lock     advise.c    (nothing under it)
 *   count_lock    budget.c    (nothing under it)
 *   ring_lock     stats.c     (nothing under it)
 *   event_lock    stats.c     (nothing under it)
 *
 * Fork, as jemalloc does it: the prepare handler takes them all in that
 * order (each module's pf_<module>_prefork), so no other thread is inside
 * one at the fork and the child's copy of every guarded state is whole;
 * the parent handler releases them and the child handler makes them anew,
 * in reverse order (pf_<module>_postfork_parent, _postfork_child).  The
 * child also forgets the helpers it does not have (the next mapping's wake
 * starts its own), queues again what they had in hand, drops the
 * statistics' queue, and opens its own fault samples.  Taking a lock in
 * the list's order cannot deadlock with a helper, whose nesting follows
 * the same order; a fork may wait for a helper's bounded I/O under a lock
 * (the proc record's /proc reads and write, the /sys reads of pace_lock and
 * step_lock).  Two are held across a malloc (attrib_lock, by opendir;
 * helpers_lock, by pthread_create): that relies on the allocator taking its
 * own locks after this handler, as glibc's does (fork takes them after
 * every prepare handler); an allocator whose own prepare handler ran first
 * (registered after this one) could make such a fork wait for ever.  A
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
#include "lib/hooks.h"
#include "work/iolimit.h"
#include "core/log.h"
#include "core/options.h"
#include "sys/real.h"
#include "work/stats.h"
#include "core/table.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


const char *pf_inactive_reason(void)
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
	pf_stats_proc_prefork();
	pf_attrib_prefork();
	pf_table_prefork();
	pf_iolimit_prefork();
	pf_advise_prefork();
	pf_budget_prefork();
	pf_stats_prefork();
}

static void fork_parent(void)
{
	if (fork_in_hook)
		return;
	pf_stats_postfork_parent();
	pf_budget_postfork_parent();
	pf_advise_postfork_parent();
	pf_iolimit_postfork_parent();
	pf_table_postfork_parent();
	pf_attrib_postfork_parent();
	pf_stats_proc_postfork_parent();
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
	pf_stats_postfork_child();
	pf_budget_postfork_child();
	pf_advise_postfork_child();
	pf_iolimit_postfork_child();
	pf_table_postfork_child();
	pf_attrib_postfork_child();
	pf_stats_proc_postfork_child();
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
	pf_real_resolve();
	pf_options_load();
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
	const char *why = pf_inactive_reason();
	if (why) {
		pf_note("inert: %s", why);
	} else {
		const char *dwhy;
		bool disc = pf_discover_wanted(&dwhy);
		pf_note("active: budget %llu MiB, discovery %s (%s)%s",
			(unsigned long long)(pf_engine_budget() >> 20), disc ? "on" : "off", dwhy,
			pf_opt.prefetch ? "" :
			pf_stats_enabled() ? ", measuring only (PREFAULT_PREFETCH=0)" :
			", measuring only (PREFAULT_PREFETCH=0) but no PREFAULT_STATS: nothing to do");
	}
}

__attribute__((destructor)) static void pf_fini(void)
{
	if (!pf_opt.enabled || !pf_stats_enabled())
		return;
	in_fini = true;
	pf_stats_flush();
	pf_stats_write_proc();
	in_fini = false;
}
