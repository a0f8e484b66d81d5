/*
 * threads.c - starts prefault's own threads: detached, every signal blocked
 * from their first instruction.  pthread_create here is whichever the
 * program would get (a sanitizer's, or the library's own hook in
 * stdio_locks.c, which pf_own_thread_starting tells to stand aside).
 *
 * When the thread started is the first besides the program's one, glibc has
 * just switched the program's stdio streams to locking; the library hands
 * them back (stdio_locks.c's pf_stdio_first_thread, which init.c registers
 * with pf_thread_set_first_hook; the companion registers none).  This runs
 * on the creating thread, which is then the program's only one.  No lock:
 * the hook is registered before any thread of ours exists.
 */
#include "sys/threads.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/single_threaded.h>

__thread bool pf_own_thread_starting;

static void (*first_hook)(void);

void pf_thread_set_first_hook(void (*hook)(void))
{
	first_hook = hook;
}

int pf_thread_start(void *(*fn)(void *), void *arg, size_t stack)
{
	int saved = errno;
	bool alone = __libc_single_threaded;
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, stack);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pf_own_thread_starting = true;
	int rc = pthread_create(&t, &attr, fn, arg);
	pf_own_thread_starting = false;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc == 0 && alone && first_hook)
		first_hook();
	errno = saved;
	return rc;
}
