/*
 * supervise.c - prefault-supervise: runs COMMAND in this very process, so it
 * keeps the wrapper's pid, and leaves behind a watcher that sums the
 * statistics up on stderr once that process has ended (`prefault --stats
 * PATH`).
 *
 *   prefault-supervise --stats DEST --preload VALUE --report TOOL -- COMMAND [ARGS...]
 *
 * DEST is the statistics path as PREFAULT_STATS holds it (%p: the pid),
 * VALUE the LD_PRELOAD that COMMAND gets (this program runs without the
 * library: it would write statistics under COMMAND's own pid), TOOL the
 * summariser, run at the end as `TOOL --at-exit PID DEST` (prefault-report).
 *
 * Why no parent.  A parent that outlives the program takes its place where
 * the pid matters: systemd takes the process it started for the main PID,
 * accepts READY=1 (Type=notify, NotifyAccess=main) and watchdog pings only
 * from it, and passes sockets (LISTEN_PID) and WATCHDOG_PID to that pid; a
 * shell, a pid file or `kill $!` reach the parent, which must forward every
 * signal and fake the exit status.  Relaying all of that is a list that never
 * ends.  So this process execs COMMAND, which inherits the pid, the
 * environment (NOTIFY_SOCKET untouched), the descriptors, the signal
 * dispositions and mask, and gives its own exit status to its parent; only
 * LD_PRELOAD is set.
 *
 * The watcher.  Before the exec, a child forks the watcher and exits, so the
 * watcher is not COMMAND's child (a program that waits for all its children
 * would wait for it forever) but stays in its session, process group and
 * cgroup.  It opens a pidfd on this pid while this process still waits for
 * it (so the pid cannot have been reused), says so through a pipe, and polls
 * the pidfd: that ends when the process ends, and never for a later process
 * with the same pid.  Then it execs TOOL, which reads DEST and writes the
 * summary on stderr.  Its descriptors are stderr (for the summary), /dev/null
 * on 0 and 1, and its own pidfd and pipes, none of which COMMAND sees: it
 * keeps no pipe of COMMAND's open, so a reader of COMMAND's stdout sees EOF
 * when COMMAND's process ends (stderr is held until the summary is written).
 * It ignores SIGHUP, SIGINT, SIGQUIT and SIGTERM, which the terminal or
 * systemd (KillMode=control-group) send to the whole group or cgroup: those
 * end COMMAND, and the summary is written after it.  SIGTTOU too, so that a
 * terminal with `stty tostop` shows the summary once the shell has taken the
 * terminal back.  SIGKILL ends it.
 *
 * Consequences, said in README: the summary comes after COMMAND's parent has
 * seen it end (a shell's prompt may come first; read stderr to its end to get
 * it); it sums up COMMAND's own process (children write their own files, %p);
 * as PID 1 of a pid namespace (a container without --init) there is no
 * watcher, because the kernel kills every process of the namespace with it.
 * Where the watcher cannot be set up (no pidfd_open: Linux < 5.3), one line
 * says so and COMMAND runs all the same.
 *
 * Exit status: COMMAND's; 2 for a usage error; 126 or 127 when COMMAND cannot
 * be executed (the watcher is cancelled then: a byte in the cancel pipe).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* What the watcher tells us once it is ready (0) or why it is not (errno). */
struct ready_msg {
	int err;
	char what[32];
};

/* One line on stderr, in one write: "prefault: " FMT (two strings) "\n". */
static void say(const char *fmt, const char *a, const char *b)
{
	char line[1024] = "prefault: ";
	size_t n = strlen(line);
	snprintf(line + n, sizeof line - n - 1, fmt, a, b);
	n = strlen(line);
	line[n++] = '\n';
	ssize_t w = write(2, line, n);
	(void)w;
}

/* fd moved to a number above 2 (close-on-exec), so that it can never take
 * the place of a standard descriptor the program was started without. */
static int lift(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

static int pipe_lifted(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	fds[0] = lift(fds[0]);
	fds[1] = lift(fds[1]);
	return fds[0] < 0 || fds[1] < 0 ? -1 : 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Closes every descriptor above 2 but the n in keep (each above 2). */
static void close_others(int *keep, int n)
{
	qsort(keep, (size_t)n, sizeof *keep, cmp_int);
	int from = 3;
	bool ranges = true;
	for (int i = 0; i <= n && ranges; i++) {
		unsigned to = i < n ? (unsigned)keep[i] - 1 : ~0u;
		if ((unsigned)from <= to && syscall(SYS_close_range, from, to, 0) < 0)
			ranges = false;
		if (i < n)
			from = keep[i] + 1;
	}
	if (ranges)
		return;
	/* Before Linux 5.9: what /proc lists (the listing's own fd is skipped). */
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		bool kept = fd <= 2 || fd == dirfd(d);
		for (int i = 0; i < n && !kept; i++)
			kept = fd == keep[i];
		if (!kept)
			close(fd);
	}
	closedir(d);
}

static void tell(int fd, int err, const char *what)
{
	struct ready_msg m = { .err = err };
	snprintf(m.what, sizeof m.what, "%s", what);
	ssize_t w = write(fd, &m, sizeof m);
	(void)w;
}

/* The watcher: never returns. */
static void watch(pid_t target, int ready_fd, int cancel_fd, const char *dest, const char *report)
{
	static const int ignored[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTTOU };
	for (size_t i = 0; i < sizeof ignored / sizeof *ignored; i++)
		signal(ignored[i], SIG_IGN);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "prefault-watch", 0, 0, 0);

	int pidfd = lift((int)syscall(SYS_pidfd_open, target, 0));
	if (pidfd < 0) {
		tell(ready_fd, errno, "pidfd_open");
		_exit(1);
	}
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0) {
		tell(ready_fd, errno, "/dev/null");
		_exit(1);
	}
	if (null > 2)
		close(null);
	int keep[] = { pidfd, ready_fd, cancel_fd };
	close_others(keep, 3);
	tell(ready_fd, 0, "");
	close(ready_fd);

	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	char byte;
	fcntl(cancel_fd, F_SETFL, O_NONBLOCK);
	if (read(cancel_fd, &byte, 1) == 1)
		_exit(0); /* COMMAND was never run */
	close(pidfd);
	close(cancel_fd);

	char pid[24];
	snprintf(pid, sizeof pid, "%d", (int)target);
	unsetenv("LD_PRELOAD");
	execl(report, report, "--at-exit", pid, dest, (char *)NULL);
	say("no summary at the end: %s: %s", report, strerror(errno));
	_exit(1);
}

/* Starts the watcher of this process; returns the write end of its cancel
 * pipe (close-on-exec), or -1 when there is none (said on stderr). */
static int start_watcher(const char *dest, const char *report)
{
	if (fcntl(2, F_GETFD) < 0)
		return -1; /* nowhere to write a summary */
	if (getpid() == 1) {
		say("warning: no summary at the end: %s%s", "PID 1 of its namespace ends every process with it;",
		    " read the statistics with prefault report");
		return -1;
	}
	int ready[2], cancel[2];
	if (pipe_lifted(ready) < 0 || pipe_lifted(cancel) < 0) {
		say("warning: no summary at the end: %s: %s", "pipe", strerror(errno));
		return -1;
	}
	pid_t target = getpid();
	pid_t middle = fork();
	if (middle == 0) {
		close(ready[0]);
		close(cancel[1]);
		pid_t w = fork();
		if (w == 0)
			watch(target, ready[1], cancel[0], dest, report);
		if (w < 0)
			tell(ready[1], errno, "fork");
		_exit(0);
	}
	close(ready[1]);
	close(cancel[0]);
	struct ready_msg m = { .err = EPIPE, .what = "watcher" };
	if (middle < 0) {
		m.err = errno;
		snprintf(m.what, sizeof m.what, "fork");
	} else {
		while (waitpid(middle, NULL, 0) < 0 && errno == EINTR)
			;
		ssize_t r;
		while ((r = read(ready[0], &m, sizeof m)) < 0 && errno == EINTR)
			;
		if (r != (ssize_t)sizeof m)
			m = (struct ready_msg){ .err = EPIPE, .what = "watcher" };
	}
	close(ready[0]);
	if (m.err) {
		m.what[sizeof m.what - 1] = '\0';
		say("warning: no summary at the end: %s: %s", m.what, strerror(m.err));
		close(cancel[1]);
		return -1;
	}
	return cancel[1];
}

static int usage(void)
{
	dprintf(2, "usage: prefault-supervise --stats DEST --preload VALUE --report TOOL -- COMMAND [ARGS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *dest = NULL, *preload = NULL, *report = NULL;
	int i = 1;
	for (; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
		if (strcmp(argv[i], "--stats") == 0)
			dest = argv[i + 1];
		else if (strcmp(argv[i], "--preload") == 0)
			preload = argv[i + 1];
		else if (strcmp(argv[i], "--report") == 0)
			report = argv[i + 1];
		else
			return usage();
	}
	if (!dest || !preload || !report || i + 1 >= argc || strcmp(argv[i], "--") != 0)
		return usage();
	char **cmd = argv + i + 1;

	int cancel = start_watcher(dest, report);
	if (setenv("LD_PRELOAD", preload, 1) < 0) {
		say("%s: %s", "LD_PRELOAD", strerror(errno));
		return 127;
	}
	execvp(cmd[0], cmd);
	int err = errno;
	if (cancel >= 0) {
		ssize_t w = write(cancel, "x", 1);
		(void)w;
	}
	say("%s: %s", cmd[0], strerror(err));
	return err == ENOENT || err == ENOTDIR ? 127 : 126;
}
