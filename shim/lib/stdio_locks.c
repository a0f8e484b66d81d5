/*
 * stdio_locks.c - keeps glibc's lock-free stdio for a program that has a
 * single thread of its own.
 *
 * glibc marks every stdio stream as needing its lock (_IO_FLAGS2_NEED_LOCK)
 * when a process creates its first thread, and never unmarks them; from
 * then on putc, getc and the other one-character calls lock and unlock the
 * stream each time.  Prefault's first helper thread is enough to do that:
 * LMDB's mdb_dump, which writes one putc at a time, ran 9x slower hot with
 * nothing else changed.  Prefault's threads never touch a FILE, so while
 * the program has one thread the locks protect nothing: right after the
 * first helper starts (pf_stdio_first_thread) the mark is cleared on every
 * stream, and on the streams the program opens afterwards (the fopen
 * family below; not fmemopen, which has two ABIs: such a stream just stays
 * locked).
 *
 * The marks come back on every stream, for good, before the program can
 * run code on a second thread: in the hooks for pthread_create and
 * thrd_create, and on any call that may start a thread running the
 * program's code (SIGEV_THREAD notifications: timer_create, mq_notify, the
 * aio calls, lio_listio, getaddrinfo_a), the moment glibc would have set
 * them itself.  These hooks forward to the default version of each
 * function: a binary linked against glibc < 2.4 calling the old
 * timer_create or lio_listio ABI would be given the new one.
 *
 * Done only when glibc is seen doing what is described here (every stream
 * marked just after our first thread), and unless PREFAULT_FAST_STDIO=0.
 *
 * Lock rule: the state changes and the stream walks run on the program's
 * only thread (our first thread's creator, or a hook it calls), holding
 * glibc's own _IO_list_lock; prefault's threads never take it or touch a
 * stream.
 */
#include "lib/stdio_locks.h"
#include "lib/hooks.h"
#include "core/log.h"
#include "core/options.h"
#include "sys/threads.h"

#include <aio.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <mqueue.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>
#include <wchar.h>

#define NEED_LOCK 0x80 /* glibc's _IO_FLAGS2_NEED_LOCK (libio/libioP.h) */

/* glibc's list of open streams and its lock (exported since 2.2.5). */
extern FILE *_IO_list_all;
extern void _IO_list_lock(void);
extern void _IO_list_unlock(void);

enum { ST_GLIBC, ST_FAST, ST_LOCKED };
static int state = ST_GLIBC;

static int get_state(void)
{
	return __atomic_load_n(&state, __ATOMIC_ACQUIRE);
}

/* glibc >= 2.27 has the mark, and has set it on every stream. */
static bool glibc_as_expected(void)
{
	int major = 0, minor = 0;
	if (sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor) != 2 ||
	    major < 2 || (major == 2 && minor < 27))
		return false;
	for (FILE *fp = _IO_list_all; fp; fp = fp->_chain)
		if (!(fp->_flags2 & NEED_LOCK))
			return false;
	return true;
}

/* Sets or clears the mark on every open stream; _IO_list_lock held. */
static void mark_all(bool need_lock)
{
	for (FILE *fp = _IO_list_all; fp; fp = fp->_chain)
		fp->_flags2 = need_lock ? fp->_flags2 | NEED_LOCK : fp->_flags2 & ~NEED_LOCK;
}

void pf_stdio_first_thread(void)
{
	if (!pf_opt.fast_stdio || get_state() != ST_GLIBC)
		return;
	_IO_list_lock();
	bool ok = glibc_as_expected();
	if (ok) {
		mark_all(false);
		__atomic_store_n(&state, ST_FAST, __ATOMIC_RELEASE);
	}
	_IO_list_unlock();
	if (!ok)
		pf_log("stdio: left to glibc (%s not as expected)", gnu_get_libc_version());
}

/* The program may be about to have a second thread of its own. */
static void relock(void)
{
	if (get_state() != ST_FAST)
		return;
	int saved = errno;
	_IO_list_lock();
	__atomic_store_n(&state, ST_LOCKED, __ATOMIC_RELEASE);
	mark_all(true);
	_IO_list_unlock();
	errno = saved;
}

static FILE *opened(FILE *fp)
{
	if (fp && get_state() == ST_FAST)
		fp->_flags2 &= ~NEED_LOCK;
	return fp;
}

const char *pf_stdio_state(void)
{
	switch (get_state()) {
	case ST_FAST: return "fast";
	case ST_LOCKED: return "locked";
	default: return "glibc";
	}
}

/* The next definition of `name`, looked up once; NULL only if libc lacks it. */
static void *next(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}

#define NEXT(type, name) ({ static void *slot_; (type)next(&slot_, #name); })

/* ---- calls after which the program may run code on another thread ---- */

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
PF_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (!pf_own_thread_starting)
		relock();
	pthread_create_fn f = NEXT(pthread_create_fn, pthread_create);
	return f ? f(t, attr, fn, arg) : EAGAIN;
}

typedef int (*thrd_create_fn)(thrd_t *, thrd_start_t, void *);
PF_EXPORT int thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
	relock();
	thrd_create_fn f = NEXT(thrd_create_fn, thrd_create);
	return f ? f(t, fn, arg) : thrd_error;
}

/* For the rest libc has every function it exports, so `f` is never NULL. */
typedef int (*timer_create_fn)(clockid_t, struct sigevent *, timer_t *);
PF_EXPORT int timer_create(clockid_t clock, struct sigevent *sev, timer_t *id)
{
	relock();
	return NEXT(timer_create_fn, timer_create)(clock, sev, id);
}

typedef int (*mq_notify_fn)(mqd_t, const struct sigevent *);
PF_EXPORT int mq_notify(mqd_t q, const struct sigevent *sev)
{
	relock();
	return NEXT(mq_notify_fn, mq_notify)(q, sev);
}

typedef int (*aio_fn)(struct aiocb *);
typedef int (*aio64_fn)(struct aiocb64 *);
PF_EXPORT int aio_read(struct aiocb *cb) { relock(); return NEXT(aio_fn, aio_read)(cb); }
PF_EXPORT int aio_write(struct aiocb *cb) { relock(); return NEXT(aio_fn, aio_write)(cb); }
PF_EXPORT int aio_read64(struct aiocb64 *cb) { relock(); return NEXT(aio64_fn, aio_read64)(cb); }
PF_EXPORT int aio_write64(struct aiocb64 *cb) { relock(); return NEXT(aio64_fn, aio_write64)(cb); }

typedef int (*aio_fsync_fn)(int, struct aiocb *);
typedef int (*aio_fsync64_fn)(int, struct aiocb64 *);
PF_EXPORT int aio_fsync(int op, struct aiocb *cb)
{
	relock();
	return NEXT(aio_fsync_fn, aio_fsync)(op, cb);
}
PF_EXPORT int aio_fsync64(int op, struct aiocb64 *cb)
{
	relock();
	return NEXT(aio_fsync64_fn, aio_fsync64)(op, cb);
}

typedef int (*lio_fn)(int, struct aiocb *const[], int, struct sigevent *);
typedef int (*lio64_fn)(int, struct aiocb64 *const[], int, struct sigevent *);
PF_EXPORT int lio_listio(int mode, struct aiocb *const list[], int n, struct sigevent *sev)
{
	relock();
	return NEXT(lio_fn, lio_listio)(mode, list, n, sev);
}
PF_EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int n, struct sigevent *sev)
{
	relock();
	return NEXT(lio64_fn, lio_listio64)(mode, list, n, sev);
}

typedef int (*gai_a_fn)(int, struct gaicb *[], int, struct sigevent *);
PF_EXPORT int getaddrinfo_a(int mode, struct gaicb *list[], int n, struct sigevent *sev)
{
	relock();
	return NEXT(gai_a_fn, getaddrinfo_a)(mode, list, n, sev);
}

/* ---- streams opened while the program has one thread ---- */

typedef FILE *(*fopen_fn)(const char *, const char *);
PF_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return opened(NEXT(fopen_fn, fopen)(path, mode));
}
PF_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return opened(NEXT(fopen_fn, fopen64)(path, mode));
}

typedef FILE *(*fdopen_fn)(int, const char *);
PF_EXPORT FILE *fdopen(int fd, const char *mode)
{
	return opened(NEXT(fdopen_fn, fdopen)(fd, mode));
}

typedef FILE *(*freopen_fn)(const char *, const char *, FILE *);
PF_EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	return opened(NEXT(freopen_fn, freopen)(path, mode, fp));
}
PF_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	return opened(NEXT(freopen_fn, freopen64)(path, mode, fp));
}

typedef FILE *(*tmpfile_fn)(void);
PF_EXPORT FILE *tmpfile(void) { return opened(NEXT(tmpfile_fn, tmpfile)()); }
PF_EXPORT FILE *tmpfile64(void) { return opened(NEXT(tmpfile_fn, tmpfile64)()); }

PF_EXPORT FILE *popen(const char *cmd, const char *mode)
{
	return opened(NEXT(fopen_fn, popen)(cmd, mode));
}

typedef FILE *(*memstream_fn)(char **, size_t *);
PF_EXPORT FILE *open_memstream(char **buf, size_t *size)
{
	return opened(NEXT(memstream_fn, open_memstream)(buf, size));
}
typedef FILE *(*wmemstream_fn)(wchar_t **, size_t *);
PF_EXPORT FILE *open_wmemstream(wchar_t **buf, size_t *size)
{
	return opened(NEXT(wmemstream_fn, open_wmemstream)(buf, size));
}

typedef FILE *(*cookie_fn)(void *, const char *, cookie_io_functions_t);
PF_EXPORT FILE *fopencookie(void *cookie, const char *mode, cookie_io_functions_t io)
{
	return opened(NEXT(cookie_fn, fopencookie)(cookie, mode, io));
}
