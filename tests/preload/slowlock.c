/*
 * slowlock.so - a test interposer (tests/torture.bats, "fork while a
 * helper holds a lock" and "fork while a helper holds each lock"):
 * preloaded before libprefault.so, it wraps pthread_mutex_lock so that a
 * thread named prefault-N keeps the mutexes it takes SLOWLOCK_US (default
 * 2000) microseconds longer before going on.  Every critical section of
 * prefault's helpers is then wide, so a program that forks while they work
 * forks, most of the time, with a lock of theirs held; a child that
 * inherits one locked and needs it hangs.
 *
 * SLOWLOCK_OFFSET (hex, as nm prints it) picks one lock: only the mutex at
 * that offset from libprefault's load base is widened, and while a helper
 * sits on it the exported slowlock_holding is 1, so that the program can
 * fork at that moment.  The library is found by name (an object whose file
 * name contains "libprefault"); when SLOWLOCK_OFFSET is set and it is not
 * loaded, that is said on stderr.
 *
 * Only explicit pthread_mutex_lock calls are seen (glibc's own locks are
 * not, nor the lock pthread_cond_timedwait takes back); the program's
 * threads are never slowed.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int slowlock_holding; /* atomic: a helper sits on the chosen lock */

static __thread int is_helper = -1;
static uintptr_t target; /* the chosen mutex, 0: every one */

static int helper(void)
{
	if (is_helper < 0) {
		char name[16] = "";
		pthread_getname_np(pthread_self(), name, sizeof name);
		is_helper = !strncmp(name, "prefault-", 9) && name[9] >= '0' && name[9] <= '9';
	}
	return is_helper;
}

static int find_prefault(struct dl_phdr_info *info, size_t size, void *base)
{
	(void)size;
	const char *slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	const char *name = slash ? slash + 1 : info->dlpi_name;
	if (!name || !strstr(name, "libprefault"))
		return 0;
	*(uintptr_t *)base = (uintptr_t)info->dlpi_addr;
	return 1;
}

__attribute__((constructor)) static void pick_target(void)
{
	const char *off = getenv("SLOWLOCK_OFFSET");
	uintptr_t base = 0;
	if (!off || !*off)
		return;
	if (!dl_iterate_phdr(find_prefault, &base)) {
		static const char msg[] = "slowlock: SLOWLOCK_OFFSET set, libprefault not loaded\n";
		if (write(2, msg, sizeof msg - 1) < 0)
			return;
		return;
	}
	target = base + (uintptr_t)strtoull(off, NULL, 16);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	static int (*real)(pthread_mutex_t *);
	static long us = -1;
	if (!real)
		real = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	if (us < 0) {
		const char *s = getenv("SLOWLOCK_US");
		us = s ? atol(s) : 2000;
	}
	int rc = real(m);
	if (rc == 0 && us > 0 && (!target || (uintptr_t)m == target) && helper()) {
		struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
		if (target)
			__atomic_store_n(&slowlock_holding, 1, __ATOMIC_RELEASE);
		while (nanosleep(&ts, &ts) != 0)
			;
		if (target)
			__atomic_store_n(&slowlock_holding, 0, __ATOMIC_RELEASE);
	}
	return rc;
}
