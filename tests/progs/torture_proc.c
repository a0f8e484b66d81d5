/*
 * torture_proc MODE ... - process life under prefault: forks, vfork,
 * posix_spawn, exec chains, setuid and unshare while its helpers exist.
 * Every child checks the file words it maps; counts are key=value lines.
 *
 *   forks BIG SMALL N
 *       Maps BIG cold; forks N children, re-mapping BIG cold whenever it is
 *       all in, and then waiting until a helper has begun on it (a page
 *       resident, at most TL_DEADLINE_S, testlib.h), so that helpers are
 *       mid-populate at most forks however fast or slow the disk.
 *       Children map 1 MiB of SMALL, check it and leave by _exit (even) or
 *       exit (odd).
 *       -> forks=N ok=N mid_populate=N (forks made while BIG was partly in)
 *          remaps=N begun_timeouts=N
 *   sigfork SMALL N
 *       A thread sends SIGUSR1 to the main thread N times; the handler
 *       forks, and the child maps SMALL, checks it and _exits, while the
 *       main thread maps and unmaps SMALL (tracked) in a loop.
 *       -> sigforks=N ok=N loop_maps=N
 *   vfork BIG N        N vfork+execve(/bin/true) and N vfork+_exit while
 *                      the helpers bring BIG in.  -> vforks=N ok=N
 *   spawn BIG N        N posix_spawn(/bin/true).  -> spawns=N ok=N
 *   exec SMALL DEPTH   Maps and checks SMALL, reports, and execs itself
 *                      with DEPTH-1 until 0:
 *       -> level=D bad=N lib_mapped=0|1 ld_preload_lib=0|1 (one per level)
 *   setuid BIG SMALL   Maps BIG cold, starts 4 threads that map and unmap
 *                      SMALL, and calls setuid(65534) while helpers run:
 *                      once a helper is seen and the threads have mapped
 *                      4 times, and they map 4 times more after it (each
 *                      wait at most TL_DEADLINE_S).
 *       -> setuid=RET uid=U helpers=N loop_maps=N bad=N
 *   userns BIG         Maps BIG, checks it once the helpers are done and
 *                      gone (idle exit; at most TL_DEADLINE_S), then
 *                      unshare(CLONE_NEWUSER).
 *       -> helpers_seen=N helpers_left=0 waited_ms=N unshare=RET errno=E bad=N
 */
#include "testlib.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

static void *map_file(const char *path, size_t *len, bool evict)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", path);
	if (evict)
		tl_evict_fd(fd);
	if (*len == 0 || *len > (size_t)st.st_size)
		*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap %s", path);
	close(fd);
	return p;
}

/* Maps len bytes of path, checks them, unmaps; 0 when all is well.  Only
 * async-signal-safe calls. */
static int check_small(const char *path, size_t len)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 1;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

	close(fd);
	if (p == MAP_FAILED)
		return 2;
	size_t bad = tl_bad_words(p, len, 0);

	if (munmap(p, len) != 0)
		return 3;
	return bad ? 4 : 0;
}

static bool exited_ok(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static size_t resident(void *p, size_t len)
{
	static unsigned char vec[1 << 20];
	size_t page = tl_page(), n = (len + page - 1) / page, in = 0;

	if (n > sizeof vec || mincore(p, len, vec) != 0)
		tl_die("mincore");
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	return in;
}

static int mode_forks(char **argv, long n)
{
	size_t big_len = 0, page = tl_page();
	void *big = NULL;
	long ok = 0, mid = 0, remaps = 0, timeouts = 0;

	for (long i = 0; i < n; i++) {
		size_t in = big ? resident(big, big_len) : 0;

		if (!big || in == big_len / page) {
			if (big)
				munmap(big, big_len);
			big_len = 0;
			big = map_file(argv[2], &big_len, true);
			remaps++;
			double until = tl_now() + TL_DEADLINE_S;
			while ((in = resident(big, big_len)) == 0 && !timeouts && tl_now() < until)
				tl_sleep_ms(1);
			timeouts += in == 0;
		}

		if (in > 0 && in < big_len / page && tl_each_prefault_thread(NULL, NULL) > 0)
			mid++;
		pid_t pid = fork();

		if (pid < 0)
			tl_die("fork");
		if (pid == 0) {
			int rc = check_small(argv[3], 1 << 20);

			if (i % 2)
				exit(rc);
			_exit(rc);
		}
		ok += exited_ok(pid);
	}
	printf("forks=%ld\nok=%ld\nmid_populate=%ld\nremaps=%ld\nbegun_timeouts=%ld\n", n, ok, mid,
	       remaps, timeouts);
	return 0;
}

/* ---- sigfork ---- */

static const char *sf_path;
static atomic_long sf_forks, sf_ok, sf_sent, sf_done, sf_loops;
static atomic_bool sf_stop;
static pthread_t main_thread;

static void on_usr1(int sig)
{
	int saved = errno;
	pid_t pid = fork();

	(void)sig;
	if (pid == 0)
		_exit(check_small(sf_path, 1 << 20));
	if (pid > 0) {
		int st;

		sf_forks++;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			sf_ok++;
	}
	sf_done++;
	errno = saved;
}

static void *sf_sender(void *arg)
{
	long n = (long)(intptr_t)arg;

	for (long i = 0; i < n; i++) {
		long before = sf_done, loops = sf_loops;

		pthread_kill(main_thread, SIGUSR1);
		sf_sent++;
		while (sf_done == before) /* one at a time: none coalesce */
			sched_yield();
		/* A signal sent the moment the last handler returns lands before the
		 * loop runs a line; every 8th waits for the loop, so it also maps. */
		while (i % 8 == 7 && sf_loops == loops)
			sched_yield();
	}
	sf_stop = true;
	return NULL;
}

static int mode_sigfork(char **argv, long n)
{
	struct sigaction sa;
	pthread_t t;

	sf_path = argv[2];
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	if (pthread_create(&t, NULL, sf_sender, (void *)(intptr_t)n) != 0)
		tl_die("pthread_create");
	while (!sf_stop) {
		if (check_small(sf_path, 1 << 20) != 0)
			tl_die("check in the loop");
		sf_loops++;
	}
	pthread_join(t, NULL);
	printf("sigforks=%ld\nok=%ld\nloop_maps=%ld\n", (long)sf_forks, (long)sf_ok,
	       (long)sf_loops);
	return 0;
}

/* ---- vfork, spawn ---- */

static int mode_vfork(char **argv, long n)
{
	size_t big_len = 0;
	static long ok;
	char *args[] = { "/bin/true", NULL };

	map_file(argv[2], &big_len, true);
	for (long i = 0; i < 2 * n; i++) {
		pid_t pid = vfork();

		if (pid < 0)
			tl_die("vfork");
		if (pid == 0) {
			if (i % 2)
				_exit(0);
			execve(args[0], args, environ);
			_exit(127);
		}
		ok += exited_ok(pid);
	}
	printf("vforks=%ld\nok=%ld\n", 2 * n, ok);
	return 0;
}

static int mode_spawn(char **argv, long n)
{
	size_t big_len = 0;
	long ok = 0;
	char *args[] = { "/bin/true", NULL };

	map_file(argv[2], &big_len, true);
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int rc = posix_spawn(&pid, args[0], NULL, NULL, args, environ);

		if (rc != 0) {
			errno = rc;
			tl_die("posix_spawn");
		}
		ok += exited_ok(pid);
	}
	printf("spawns=%ld\nok=%ld\n", n, ok);
	return 0;
}

/* ---- exec chain ---- */

static int lib_mapped(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		tl_die("open /proc/self/maps");
	while (fgets(line, sizeof line, f))
		if (strstr(line, "libprefault"))
			found = 1;
	fclose(f);
	return found;
}

static int mode_exec(char **argv, long depth)
{
	size_t len = 1 << 20;
	void *p = map_file(argv[2], &len, false);
	const char *pre = getenv("LD_PRELOAD");
	char next[32];

	printf("level=%ld bad=%zu lib_mapped=%d ld_preload_lib=%d\n", depth,
	       tl_bad_words(p, len, 0), lib_mapped(), pre && strstr(pre, "libprefault") ? 1 : 0);
	fflush(stdout);
	if (depth == 0)
		return 0;
	snprintf(next, sizeof next, "%ld", depth - 1);
	char *args[] = { argv[0], "exec", argv[2], next, NULL };
	execv("/proc/self/exe", args);
	tl_die("execv");
}

/* ---- setuid ---- */

static atomic_bool su_stop;
static atomic_long su_loops, su_bad;
static const char *su_path;

static void *su_worker(void *arg)
{
	(void)arg;
	while (!su_stop) {
		if (check_small(su_path, 1 << 20) != 0)
			su_bad++;
		su_loops++;
	}
	return NULL;
}

static int mode_setuid(char **argv)
{
	size_t big_len = 0;
	pthread_t t[4];

	map_file(argv[2], &big_len, true);
	su_path = argv[3];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, su_worker, NULL) != 0)
			tl_die("pthread_create");
	double until = tl_now() + TL_DEADLINE_S;
	tl_wait_helpers(1);
	while (su_loops < 4 && tl_now() < until)
		tl_sleep_ms(1);
	int helpers = tl_each_prefault_thread(NULL, NULL);
	long before = su_loops;
	int rc = setuid(65534);
	int e = errno;

	until = tl_now() + TL_DEADLINE_S;
	while (su_loops < before + 4 && tl_now() < until)
		tl_sleep_ms(1);
	su_stop = true;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("setuid=%d errno=%d\nuid=%d euid=%d\nhelpers=%d\nloop_maps=%ld\nbad=%ld\n", rc,
	       rc ? e : 0, (int)getuid(), (int)geteuid(), helpers, (long)su_loops, (long)su_bad);
	return 0;
}

/* ---- userns ---- */

static int mode_userns(char **argv)
{
	size_t len = 0, page = tl_page();
	void *p = map_file(argv[2], &len, true);
	int seen = 0, left;
	double t0 = tl_now();

	/* The helpers bring it in, then leave after their idle time. */
	while ((left = tl_each_prefault_thread(NULL, NULL)) > 0 || resident(p, len) < len / page) {
		if (left > seen)
			seen = left;
		if (tl_now() - t0 > TL_DEADLINE_S)
			break;
		tl_sleep_ms(10);
	}
	long waited = (long)((tl_now() - t0) * 1000);
	int rc = unshare(CLONE_NEWUSER);
	int e = errno;

	printf("helpers_seen=%d\nhelpers_left=%d\nwaited_ms=%ld\nunshare=%d errno=%d\nbad=%zu\n",
	       seen, left, waited, rc, rc ? e : 0, tl_bad_words(p, len, 0));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "forks"))
		return mode_forks(argv, atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "sigfork"))
		return mode_sigfork(argv, atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "vfork"))
		return mode_vfork(argv, atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "spawn"))
		return mode_spawn(argv, atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "exec"))
		return mode_exec(argv, atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "setuid"))
		return mode_setuid(argv);
	if (argc == 3 && !strcmp(argv[1], "userns"))
		return mode_userns(argv);
	fprintf(stderr, "usage: torture_proc forks BIG SMALL N | sigfork SMALL N | vfork BIG N |"
			" spawn BIG N | exec SMALL DEPTH | setuid BIG SMALL | userns BIG\n");
	return 2;
}
