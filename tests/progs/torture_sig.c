/*
 * torture_sig thread|proc FILE COUNT - a flood of real-time signals (queued,
 * never merged) whose handler maps and unmaps FILE and anonymous memory,
 * while the main thread maps, checks and unmaps FILE in a loop (so signals
 * land inside prefault's hooks).
 *
 *   thread   a thread of this process sends COUNT SIGRTMIN to the main
 *            thread with pthread_sigqueue
 *   proc     a child process sends COUNT SIGRTMIN to this process with
 *            sigqueue (process-directed: any thread that does not block it
 *            may take it, so a helper with signals open would show)
 *
 * Each signal carries its sequence number; the handler checks that they
 * arrive in order and on the main thread.  EAGAIN (the queue is full) makes
 * the sender retry, so every one sent is delivered.  Signals go in bursts of
 * 64; before each burst the sender waits until every signal sent so far was
 * handled, the main loop has run since the last burst, and it is inside
 * mmap or munmap (state shared with the sending child through a shared
 * page): however fast or slow each side runs, the loop runs between bursts
 * and each burst starts while a hooked call is under way.  alarm(WATCHDOG)
 * ends a hang with SIGALRM (exit 142).
 *
 *   sent=N received=N out_of_order=N wrong_thread=N handler_maps=N bad=N loop_maps=N
 *   during_call=N (signals taken while the main loop was in mmap or munmap)
 *   bursts=N
 */
#include "testlib.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define WATCHDOG 600
#define BURST 64

static int file_fd;
static size_t file_len;
static pid_t main_tid;
static volatile long out_of_order, wrong_thread, handler_maps, handler_bad;

/* What the sender waits on, in a page shared with a sending child. */
struct shared {
	volatile sig_atomic_t in_call;
	volatile long during_call, received, loops, bursts;
};
static struct shared *sh;
/* TORTURE_SIG_ANYTIME=1: bursts need not start inside a call.  Under
 * valgrind, which runs one thread at a time and keeps its lock across mmap,
 * the sender never sees the loop inside one. */
static bool any_time;
#define in_call (sh->in_call)
#define during_call (sh->during_call)
#define received (sh->received)

/* Before signal i: at a burst's start, waits until all sent so far were
 * handled, the loop has run since the last burst, and it is in a call. */
static void before_send(long i, long *loops_seen)
{
	if (i % BURST)
		return;
	while (received < i || sh->loops == *loops_seen || (!in_call && !any_time))
		sched_yield();
	*loops_seen = sh->loops;
	sh->bursts++;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	long seq = si->si_value.sival_int;

	(void)sig;
	(void)uc;
	if (seq != received)
		out_of_order++;
	received++;
	if (in_call)
		during_call++;
	if (syscall(SYS_gettid) != main_tid)
		wrong_thread++;
	size_t len = (size_t)(64 << 10) << (seq % 4); /* 64K .. 512K, tracked */
	if (len > file_len)
		len = file_len;
	char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, file_fd, 0);
	if (p != MAP_FAILED) {
		const volatile uint64_t *w = (const void *)p;
		if (w[0] != tl_word(0) || w[len / 8 - 1] != tl_word(len - 8))
			handler_bad++;
		if (munmap(p, len) != 0)
			handler_bad++;
		handler_maps++;
	} else {
		handler_bad++;
	}
	char *a = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a != MAP_FAILED) {
		a[0] = 1;
		if (munmap(a, 1 << 16) != 0)
			handler_bad++;
	} else {
		handler_bad++;
	}
	errno = saved;
}

static long count;
static atomic_bool done_sending;
static pthread_t main_thread;

static void *sender(void *arg)
{
	long loops_seen = -1;

	(void)arg;
	for (long i = 0; i < count; i++) {
		union sigval v = { .sival_int = (int)i };

		before_send(i, &loops_seen);
		while (pthread_sigqueue(main_thread, SIGRTMIN, v) != 0)
			sched_yield(); /* EAGAIN: the queue is full */
	}
	done_sending = true;
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct stat st;
	bool proc;
	long bad = 0;
	pid_t child = 0;

	if (argc != 4 || (strcmp(argv[1], "thread") && strcmp(argv[1], "proc"))) {
		fprintf(stderr, "usage: torture_sig thread|proc FILE COUNT\n");
		return 2;
	}
	proc = !strcmp(argv[1], "proc");
	count = atol(argv[3]);
	any_time = getenv("TORTURE_SIG_ANYTIME") && !strcmp(getenv("TORTURE_SIG_ANYTIME"), "1");
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		tl_die("mmap the shared page");
	sh->loops = 0;
	file_fd = open(argv[2], O_RDONLY);
	if (file_fd < 0 || fstat(file_fd, &st) != 0)
		tl_die("open %s", argv[2]);
	file_len = (size_t)st.st_size;
	main_tid = (pid_t)syscall(SYS_gettid);
	main_thread = pthread_self();
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMIN, &sa, NULL);
	alarm(WATCHDOG);

	/* Something for the helpers to do, and a helper that exists. */
	tl_evict_fd(file_fd);
	void *whole = mmap(NULL, file_len, PROT_READ, MAP_SHARED, file_fd, 0);
	if (whole == MAP_FAILED)
		tl_die("mmap");

	if (proc) {
		pid_t parent = getpid();
		sigset_t block;

		/* The child must not get our signals' handler side effects. */
		sigemptyset(&block);
		sigaddset(&block, SIGRTMIN);
		pthread_sigmask(SIG_BLOCK, &block, NULL);
		child = fork();
		if (child < 0)
			tl_die("fork");
		if (child == 0) {
			long loops_seen = -1;

			for (long i = 0; i < count; i++) {
				union sigval v = { .sival_int = (int)i };

				before_send(i, &loops_seen);
				while (sigqueue(parent, SIGRTMIN, v) != 0) {
					if (errno != EAGAIN)
						_exit(3);
					sched_yield();
				}
			}
			_exit(0);
		}
		pthread_sigmask(SIG_UNBLOCK, &block, NULL);
	} else {
		pthread_t t;

		if (pthread_create(&t, NULL, sender, NULL) != 0)
			tl_die("pthread_create");
		pthread_detach(t);
	}

	while (received < count) {
		size_t len = file_len < (4u << 20) ? file_len : (4u << 20);
		in_call = 1;
		char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, file_fd, 0);
		in_call = 0;

		if (p == MAP_FAILED)
			tl_die("mmap in the loop");
		if (sh->loops % 64 == 0)
			bad += (long)tl_bad_words(p, len, 0);
		in_call = 1;
		int rc = munmap(p, len);
		in_call = 0;
		if (rc != 0)
			tl_die("munmap in the loop");
		sh->loops++;
	}
	if (proc) {
		int status;

		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			tl_die("the sending child failed");
	} else {
		while (!done_sending)
			sched_yield();
	}
	bad += (long)tl_bad_words(whole, file_len, 0);
	printf("sent=%ld\nreceived=%ld\nout_of_order=%ld\nwrong_thread=%ld\nhandler_maps=%ld\n"
	       "bad=%ld\nloop_maps=%ld\nduring_call=%ld\nbursts=%ld\n",
	       count, received, out_of_order, wrong_thread, handler_maps, bad + handler_bad, sh->loops,
	       during_call, sh->bursts);
	return 0;
}
