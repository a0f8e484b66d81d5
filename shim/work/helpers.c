/*
 * helpers.c - the helper threads: started when there is work (never from a
 * constructor), with every signal blocked, named "prefault-N"; they exit
 * after IDLE_EXIT_NS without work, so a program that later wants to be
 * single-threaded (unshare(CLONE_NEWUSER)) can be.
 *
 * This is the one place a tracked mapping becomes work: with
 * PREFAULT_PREFETCH=0 a helper never asks the engine for any (so nothing is
 * read ahead or mapped in) and only measures instead, while mappings are
 * tracked: the queued records, the fault samples every MEASURE_NS and a proc
 * record every PROC_EVERY_NS, as it would between steps.  One helper is
 * enough for that, whatever PREFAULT_THREADS says.
 *
 * Lock rule: helpers_lock guards `running`, `wake_gen` and the condition
 * variable; it is held only to start threads and to wait, never across a
 * madvise.  It is the outermost of prefault's locks (their order: init.c).
 * The registry of our thread ids is a fixed array of atomics.
 */
#include "work/helpers.h"
#include "work/recall.h"
#include "sys/clock.h"
#include "work/engine.h"
#include "core/events.h"
#include "core/log.h"
#include "core/options.h"
#include "core/report.h"
#include "work/stats.h"
#include "core/table.h"
#include "sys/threads.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_OWN_THREADS 32
#define IDLE_EXIT_NS (2ll * 1000000000ll)
#define PROC_EVERY_NS (1ll * 1000000000ll)
#define HELPER_STACK (256u * 1024u)
#define MEASURE_NS (250ll * 1000000ll)

static pthread_mutex_t helpers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t helpers_cond;
static unsigned running;
static unsigned started_total;
static uint64_t wake_gen;
static int own_tids[MAX_OWN_THREADS];
static pthread_once_t once_cond = PTHREAD_ONCE_INIT;
static __thread bool on_own_thread;

static void init_cond(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&helpers_cond, &a);
	pthread_condattr_destroy(&a);
}

bool pf_is_helper_thread(void)
{
	return on_own_thread;
}

void pf_helper_register(void)
{
	int tid = (int)syscall(SYS_gettid);
	on_own_thread = true;
	for (int i = 0; i < MAX_OWN_THREADS; i++) {
		int expected = 0;
		if (__atomic_compare_exchange_n(&own_tids[i], &expected, tid, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return;
	}
}

void pf_helper_unregister(void)
{
	int tid = (int)syscall(SYS_gettid);
	pf_procstat_helper_exiting();
	for (int i = 0; i < MAX_OWN_THREADS; i++) {
		int expected = tid;
		if (__atomic_compare_exchange_n(&own_tids[i], &expected, 0, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			break;
	}
}

bool pf_helper_tid_known(int tid)
{
	for (int i = 0; i < MAX_OWN_THREADS; i++)
		if (__atomic_load_n(&own_tids[i], __ATOMIC_ACQUIRE) == tid)
			return true;
	return false;
}

/* PREFAULT_PREFETCH=0: a helper's turn without work.  True while mappings
 * are tracked (the helper stays to measure them), false when none is. */
static bool measure_once(void)
{
	if (!pf_table_count() || !pf_stats_enabled())
		return false;
	struct timespec ts = { 0, MEASURE_NS };
	nanosleep(&ts, NULL);
	pf_stats_keep_up();
	return true;
}

static void *helper_main(void *arg)
{
	char name[16];
	snprintf(name, sizeof name, "prefault-%u", (unsigned)(uintptr_t)arg);
	pthread_setname_np(pthread_self(), name);
	pf_helper_register();

	int64_t last_proc = 0, last_work = pf_now_ns();
	uint64_t seen_gen = 0;
	for (;;) {
		bool did = pf_opt.prefetch ? pf_engine_work_once() : measure_once();
		/* Remembered mappings are sampled while they live (recall.c). */
		if (pf_opt.prefetch && pf_recall_tick(!did))
			did = true;
		pf_stats_flush();
		int64_t now = pf_now_ns();
		if (did)
			last_work = now;
		if (pf_stats_enabled() && now - last_proc >= PROC_EVERY_NS) {
			pf_stats_write_proc();
			last_proc = now;
		}
		if (did)
			continue;
		pthread_mutex_lock(&helpers_lock);
		if (wake_gen != seen_gen) {
			seen_gen = wake_gen;
			pthread_mutex_unlock(&helpers_lock);
			continue;
		}
		if (now - last_work >= IDLE_EXIT_NS) {
			running--;
			pthread_mutex_unlock(&helpers_lock);
			break;
		}
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&helpers_cond, &helpers_lock, &until);
		pthread_mutex_unlock(&helpers_lock);
	}
	pf_stats_flush();
	pf_stats_write_proc();
	pf_helper_unregister();
	return NULL;
}

/* Starts one helper; helpers_lock held. */
static int start_helper_locked(void)
{
	int rc = pf_thread_start(helper_main, (void *)(uintptr_t)started_total, HELPER_STACK);
	if (rc == 0) {
		running++;
		started_total++;
	}
	return rc;
}

void pf_helpers_wake(void)
{
	if (!pf_opt.enabled || (!pf_opt.prefetch && !pf_stats_enabled()))
		return; /* nothing to bring in, nothing to measure */
	int saved = errno, failed = 0;
	pthread_once(&once_cond, init_cond);
	pthread_mutex_lock(&helpers_lock);
	wake_gen++;
	unsigned want = pf_opt.prefetch ? pf_opt.threads : 1;
	while (running < want && !failed)
		failed = start_helper_locked();
	pthread_cond_broadcast(&helpers_cond);
	pthread_mutex_unlock(&helpers_lock);
	if (failed)
		pf_log("could not start a helper thread: %s", strerror(failed));
	errno = saved;
}

void pf_helpers_prefork(void)
{
	pthread_mutex_lock(&helpers_lock);
}

void pf_helpers_postfork_parent(void)
{
	pthread_mutex_unlock(&helpers_lock);
}

void pf_helpers_postfork_child(void)
{
	pthread_mutex_init(&helpers_lock, NULL);
	init_cond();
	running = 0;
	for (int i = 0; i < MAX_OWN_THREADS; i++)
		own_tids[i] = 0;
	on_own_thread = false;
}
