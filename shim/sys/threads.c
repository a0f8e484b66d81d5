/*
 * threads.c - starts prefault's own threads: detached, every signal blocked
 * from their first instruction.  pthread_create here is whichever the
 * program would get (a sanitizer's, or the library's own hook in
 * stdio_locks.c, which pf_own_thread_starting tells to stand aside).
 *
 * When the thread started is the first besides the program's one, glibc has
 * just switched the program's stdio streams to locking; the library hands
 * them back (pf_stdio_first_thread, weak: the companion has none).  This
 * runs on the creating thread, which is then the program's only one.
 * No lock of its own.
 */
#include "sys/threads.h"
#include "lib/stdio_locks.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/single_threaded.h>

__thread bool pf_own_thread_starting;

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
	if (rc == 0 && alone && pf_stdio_first_thread)
		pf_stdio_first_thread();
	errno = saved;
	return rc;
}
