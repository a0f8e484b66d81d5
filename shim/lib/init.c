/*
 * init.c - the library's life in the process: the constructor (resolve
 * libc, register what the statistics and the thread start ask of the
 * library, read the settings, register fork handlers; no thread), the
 * destructor (a last report, for programs that run one), fork handling and
 * PREFAULT_INHERIT.
 *
 * Lock order, taken by the fork prepare handler and released by the parent
 * and child handlers: helpers_lock, then table_lock, then ring_lock.  The
 * child reinitialises all three (its copy of a lock another thread held
 * would stay held) and forgets the helpers it does not have.  The locks only
 * prefault's helpers take (pace_lock, iolimit.c; step_lock, advise.c;
 * count_lock, budget.c; the statistics' proc lock, stats.c, and event lock,
 * events.c) are not taken before a fork: the child, which has no helper,
 * makes them anew (a helper of the parent's may have held one: a proc
 * record in the child's destructor would then wait for pace_lock for ever).
 */
#include "sys/advise.h"
#include "sys/alloc.h"
#include "lib/attrib.h"
#include "core/budget.h"
#include "lib/discover.h"
#include "work/engine.h"
#include "work/helpers.h"
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


const char *pf_inactive_reason(void)
{
	return pf_opt.enabled ? NULL : "disabled by PREFAULT=0";
}

/* A signal handler that forks while its thread is inside a hook (holding
 * one of the locks below, or about to) must not wait for them: that thread
 * is this one.  Such a fork takes no lock, and the child, whose table may be
 * half updated, runs with prefault off. */
static __thread bool fork_in_hook;

static void fork_prepare(void)
{
	fork_in_hook = pf_in_hook();
	if (fork_in_hook)
		return;
	pf_helpers_lock();
	pf_table_lock();
	pf_stats_lock();
}

static void fork_parent(void)
{
	if (fork_in_hook)
		return;
	pf_stats_unlock();
	pf_table_unlock();
	pf_helpers_unlock();
}

static void fork_child(void)
{
	if (fork_in_hook) {
		pf_opt.enabled = false;
		pf_discover_init();
		return;
	}
	pf_stats_after_fork_child();
	pf_table_reset_lock();
	pf_table_after_fork_child();
	pf_engine_after_fork_child();
	pf_discover_after_fork_child();
	pf_iolimit_after_fork_child();
	pf_advise_after_fork_child();
	pf_budget_after_fork_child();
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
		.inactive_reason = pf_inactive_reason,
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
	pf_stats_flush();
	pf_stats_write_proc();
}
