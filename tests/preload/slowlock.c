/*
 * slowlock.so - a test interposer (tests/torture.bats, "fork while a
 * helper holds a lock"): preloaded before libprefault.so, it wraps
 * pthread_mutex_lock so that a thread named prefault-N keeps each mutex it
 * takes SLOWLOCK_US (default 2000) microseconds longer before going on.
 * Every critical section of prefault's helpers is then wide, so a program
 * that forks while they work forks, most of the time, with a lock of
 * theirs held; a child that inherits one locked and needs it hangs.
 *
 * Only explicit pthread_mutex_lock calls are seen (glibc's own locks are
 * not); the program's threads are never slowed.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static __thread int is_helper = -1;

static int helper(void)
{
	if (is_helper < 0) {
		char name[16] = "";
		pthread_getname_np(pthread_self(), name, sizeof name);
		is_helper = !strncmp(name, "prefault-", 9) && name[9] >= '0' && name[9] <= '9';
	}
	return is_helper;
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
	if (rc == 0 && us > 0 && helper()) {
		struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
		nanosleep(&ts, NULL);
	}
	return rc;
}
