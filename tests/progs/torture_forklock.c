/*
 * torture_forklock - forks, vforks and posix_spawns while a helper of
 * prefault's holds one chosen lock (tests/torture.bats, "fork while a
 * helper holds each lock"), under tests/preload/slowlock.so with
 * SLOWLOCK_OFFSET naming the lock: slowlock_holding (slowlock.so) says
 * when a helper sits on it.
 *
 *   torture_forklock rounds STIR FILE N
 *       N rounds.  Each maps STIR cold (helpers wake and work on it: every
 *       lock of theirs is taken), waits until a helper holds the lock (at
 *       most TL_DEADLINE_S), then starts a child: two rounds in four fork,
 *       one posix_spawns this program, one vforks and execs it, with
 *       "child FILE".  A child maps FILE cold, waits until prefault (its
 *       own helper: a fork child inherits the parent's locks) has brought
 *       a page of it in, checks every word and leaves by exit(), so that
 *       its destructor writes its last statistics.  A child that has not
 *       ended after TL_DEADLINE_S is killed and the rounds stop.
 *       -> rounds=N forks=N spawns=N vforks=N ok=N held=N (children
 *          started while the lock was held) hold_timeouts=N hung=N
 *          failed=N first_failure=KIND:STATUS|none
 *   torture_forklock child FILE
 *       The child's part, run by itself: exit status 0 when all went well,
 *       3 when nothing was brought in, 4 when a word was wrong.
 */
#include "testlib.h"

#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>

extern char **environ;

/* Pages of [p, p+len) in the page cache. */
static size_t cached(void *p, size_t len)
{
	static unsigned char vec[1 << 16];
	size_t page = tl_page(), n = (len + page - 1) / page, in = 0;

	if (n > sizeof vec || mincore(p, len, vec) != 0)
		tl_die("mincore");
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	return in;
}

static void *map_cold(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", path);
	tl_evict_fd(fd);
	*len = (size_t)st.st_size;
	void *p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		tl_die("mmap %s", path);
	close(fd);
	return p;
}

static int child(const char *path)
{
	size_t len;
	void *p = map_cold(path, &len);
	double until = tl_now() + TL_DEADLINE_S / 2;

	while (cached(p, len) == 0) {
		if (tl_now() > until)
			return 3;
		tl_sleep_ms(1);
	}
	if (tl_bad_words(p, len, 0))
		return 4;
	munmap(p, len);
	return 0;
}

/* Waits for pid at most TL_DEADLINE_S; -1 when it was killed for it. */
static int reap(pid_t pid)
{
	double until = tl_now() + TL_DEADLINE_S;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno != EINTR)
			tl_die("waitpid");
		if (tl_now() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		tl_sleep_ms(1);
	}
}

/* In a function of its own: nothing of the caller's lives across vfork. */
static __attribute__((noinline)) pid_t vfork_exec(char **args)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execve(args[0], args, environ);
		_exit(127);
	}
	return pid;
}

static int rounds(char **argv, long n)
{
	int *holding = dlsym(RTLD_DEFAULT, "slowlock_holding");
	char self[4096];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	long forks = 0, spawns = 0, vforks = 0, ok = 0, held = 0, timeouts = 0, hung = 0, failed = 0;
	char failure[64] = "none";

	if (!holding)
		tl_die("slowlock.so is not preloaded");
	if (sl <= 0)
		tl_die("readlink /proc/self/exe");
	self[sl] = '\0';
	char *args[] = { self, "child", argv[3], NULL };

	for (long i = 0; i < n && !hung && !failed; i++) {
		size_t len;
		void *stir = map_cold(argv[2], &len);
		double until = tl_now() + TL_DEADLINE_S;

		while (!__atomic_load_n(holding, __ATOMIC_ACQUIRE) && tl_now() < until)
			tl_sleep_ms(1);
		bool on = __atomic_load_n(holding, __ATOMIC_ACQUIRE);
		const char *kind;
		pid_t pid;

		held += on;
		timeouts += !on;
		switch (i % 4) {
		case 2:
			kind = "spawn";
			spawns++;
			errno = posix_spawn(&pid, self, NULL, NULL, args, environ);
			if (errno)
				tl_die("posix_spawn");
			break;
		case 3:
			kind = "vfork";
			vforks++;
			pid = vfork_exec(args);
			break;
		default:
			kind = "fork";
			forks++;
			pid = fork();
			if (pid == 0)
				exit(child(argv[3]));
			break;
		}
		if (pid < 0)
			tl_die("%s", kind);
		int rc = reap(pid);

		ok += rc == 0;
		hung += rc < 0;
		failed += rc > 0;
		if (rc < 0)
			snprintf(failure, sizeof failure, "%s:hung", kind);
		else if (rc > 0)
			snprintf(failure, sizeof failure, "%s:%d", kind, rc);
		munmap(stir, len);
	}
	printf("rounds=%ld\nforks=%ld\nspawns=%ld\nvforks=%ld\nok=%ld\nheld=%ld\nhold_timeouts=%ld\n"
	       "hung=%ld\nfailed=%ld\nfirst_failure=%s\n",
	       forks + spawns + vforks, forks, spawns, vforks, ok, held, timeouts, hung, failed,
	       failure);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "rounds"))
		return rounds(argv, atol(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "child"))
		return child(argv[2]);
	fprintf(stderr, "usage: torture_forklock rounds STIR FILE N | child FILE\n");
	return 2;
}
