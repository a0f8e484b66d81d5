/*
 * stdiolocks PATH HOW OUT - the stdio lock marks of a program that has one
 * thread, then two.
 *
 * Maps PATH (prefault, preloaded, starts its first helper thread in that
 * call) and prints "before: threads=N std=S opened=S", where S is "unlocked"
 * or "locked" for glibc's per-stream mark (_IO_FLAGS2_NEED_LOCK, set on
 * every stream when a process gets its first thread) on stdin, stdout and
 * stderr, and on OUT opened after the mapping ("mixed" when they differ).
 * Then it lets code of its own run on a second thread, started as HOW says:
 * pthread, thrd (C11), timer (timer_create, SIGEV_THREAD), aio (aio_read,
 * SIGEV_THREAD), lio (lio_listio, SIGEV_THREAD), mq (mq_notify,
 * SIGEV_THREAD) or gai (getaddrinfo_a, SIGEV_THREAD), and prints "after:"
 * the same way from that thread, before it writes.  Both threads then putc
 * PUTS characters each to OUT at once; it prints "bytes=N", the size of
 * OUT at the end (2 * PUTS unless unlocked writes raced).
 */
#include "testlib.h"

#include <aio.h>
#include <mqueue.h>
#include <netdb.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <threads.h>
#include <time.h>

#define NEED_LOCK 0x80 /* glibc's _IO_FLAGS2_NEED_LOCK */
#define PUTS 2000000

static FILE *out;
static sem_t started, finished;

static const char *marks(FILE *const *fps, int n)
{
	int locked = 0;
	for (int i = 0; i < n; i++)
		locked += (fps[i]->_flags2 & NEED_LOCK) != 0;
	return locked == 0 ? "unlocked" : locked == n ? "locked" : "mixed";
}

/* From /proc/self/status, read without stdio (fopen would add a stream). */
static int threads(void)
{
	static char buf[8192];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	char *t = strstr(buf, "Threads:");
	return t ? atoi(t + 8) : -1;
}

static void report(const char *when)
{
	FILE *std[] = { stdin, stdout, stderr };
	/* One write, so that the two threads' lines cannot interleave. */
	char line[160];
	int len = snprintf(line, sizeof line, "%s: threads=%d std=%s opened=%s\n", when,
			   threads(), marks(std, 3), marks(&out, 1));
	if (write(1, line, (size_t)len) != len)
		tl_die("write");
}

static void writer(void)
{
	for (int i = 0; i < PUTS; i++)
		putc('a' + i % 26, out);
}

/* The second thread's work, whichever way it was started. */
static void second(void)
{
	report("after");
	sem_post(&started);
	writer();
	sem_post(&finished);
}

static void *on_pthread(void *arg) { second(); return arg; }
static int on_thrd(void *arg) { (void)arg; second(); return 0; }
static void on_sigev(union sigval v) { (void)v; second(); }

static void start_second(const char *how, const char *path)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_sigev };
	static char buf[16];
	static struct aiocb cb;
	cb.aio_buf = buf;
	cb.aio_nbytes = sizeof buf;
	cb.aio_sigevent = sev;
	if (!strcmp(how, "pthread")) {
		pthread_t t;
		if (pthread_create(&t, NULL, on_pthread, NULL) != 0)
			tl_die("pthread_create");
	} else if (!strcmp(how, "thrd")) {
		thrd_t t;
		if (thrd_create(&t, on_thrd, NULL) != thrd_success)
			tl_die("thrd_create");
	} else if (!strcmp(how, "timer")) {
		timer_t id;
		struct itimerspec once = { .it_value = { 0, 1000000 } };
		if (timer_create(CLOCK_MONOTONIC, &sev, &id) != 0 || timer_settime(id, 0, &once, NULL) != 0)
			tl_die("timer_create");
	} else if (!strcmp(how, "aio") || !strcmp(how, "lio")) {
		cb.aio_fildes = open(path, O_RDONLY);
		if (cb.aio_fildes < 0)
			tl_die("open %s", path);
		struct aiocb *list[] = { &cb };
		cb.aio_lio_opcode = LIO_READ;
		if (!strcmp(how, "lio")) /* lio_listio's own notification only */
			cb.aio_sigevent.sigev_notify = SIGEV_NONE;
		int rc = !strcmp(how, "aio") ? aio_read(&cb) : lio_listio(LIO_NOWAIT, list, 1, &sev);
		if (rc != 0)
			tl_die("%s", how);
	} else if (!strcmp(how, "mq")) {
		char name[64];
		snprintf(name, sizeof name, "/stdiolocks-%d", (int)getpid());
		struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 8 };
		mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, &attr);
		if (q == (mqd_t)-1)
			tl_die("mq_open");
		mq_unlink(name);
		if (mq_notify(q, &sev) != 0 || mq_send(q, "x", 1, 0) != 0)
			tl_die("mq_notify");
	} else if (!strcmp(how, "gai")) {
		static struct addrinfo hints = { .ai_flags = AI_NUMERICHOST };
		static struct gaicb req = { .ar_name = "127.0.0.1", .ar_request = &hints };
		struct gaicb *list[] = { &req };
		if (getaddrinfo_a(GAI_NOWAIT, list, 1, &sev) != 0)
			tl_die("getaddrinfo_a");
	} else {
		tl_die("HOW: pthread, thrd, timer, aio, lio, mq or gai, not %s", how);
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: stdiolocks PATH HOW OUT\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[1]);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	out = fopen(argv[3], "w");
	if (!out)
		tl_die("fopen %s", argv[3]);
	sem_init(&started, 0, 0);
	sem_init(&finished, 0, 0);
	report("before");

	start_second(argv[2], argv[1]);
	sem_wait(&started);
	writer();
	sem_wait(&finished);
	if (fclose(out) != 0)
		tl_die("fclose");
	if (stat(argv[3], &st) != 0)
		tl_die("stat %s", argv[3]);
	printf("bytes=%lld\n", (long long)st.st_size);
	return 0;
}
