/*
 * main.c - prefault-companion: warms the page cache for a process that a
 * preload cannot enter.
 *
 *   prefault-companion [--] COMMAND [ARGS...]   start COMMAND and follow it
 *   prefault-companion --pid PID                follow a running process
 *
 * Settings are the library's PREFAULT_* variables (README), read the same
 * way.  Usually run by the wrapper (tools/prefault) for static and setuid
 * programs and for --pid.
 *
 * Starting a command: the companion forks; the child execs COMMAND with the
 * environment unchanged; the parent follows it (follow.c), forwards SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it through its pidfd, and
 * exits with its status (128+N when signal N killed it, as a shell does).
 * A signal the terminal sent to the whole foreground group (si_code
 * SI_KERNEL) already reached the target when it shares our group, and is not
 * sent twice.  The target never outlives the companion: PR_SET_PDEATHSIG
 * and the guard (guard.c) for setuid targets, which exec strips of it.
 *
 * Attaching (--pid): follows the process until it exits (status 0) or a
 * SIGINT, SIGTERM, SIGHUP or SIGQUIT stops the companion (128+N).  Not
 * allowed to read its maps, no such process, or a kernel without pidfd_open
 * (5.3) or MADV_POPULATE_READ (5.14): one line on stderr and status 1.
 *
 * PREFAULT_REMEMBER: records are loaded and stored as the library does
 * (shim/work/recall.c); what the target touches is learnt from its pagemap
 * (follow.c), and what is left is stored before the companion exits.
 *
 * Signals are blocked in every thread and read from a signalfd in the one
 * poll loop; the helpers (shim/work/helpers.c) block everything themselves.
 */
#include "companion.h"
#include "procstat.h"

#include "sys/advise.h"
#include "core/budget.h"
#include "sys/clock.h"
#include "work/engine.h"
#include "work/recall.h"
#include "core/events.h"
#include "core/options.h"
#include "core/report.h"
#include "work/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 2
#define STATS_FLUSH_NS (100ll * 1000000ll)
#define MAX_POLL 260

/* Sent on to the target; the last, SIGPIPE, only has its disposition kept. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE };
#define NFORWARDED (sizeof forwarded / sizeof *forwarded)
/* The dispositions the companion was started with, for the target: a shell
 * starts background jobs with SIGINT and SIGQUIT ignored, and an ignored
 * signal would never reach our signalfd. */
static struct sigaction inherited[NFORWARDED];

void pfc_error(const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(2, PFC_NAME ": %s\n", msg);
}

int pfc_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int pfc_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

bool pfc_pidfd_alive(int pidfd)
{
	struct pollfd p = { pidfd, POLLIN, 0 };
	return poll(&p, 1, 0) == 0;
}

/* The start record's question (the library's init.c answers it for a
 * preloaded process). */
static const char *inactive_reason(void)
{
	return pf_opt.enabled ? NULL : "disabled by PREFAULT=0";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: prefault-companion [--] COMMAND [ARGS...]\n"
		   "       prefault-companion --pid PID\n"
		   "Warms the page cache for the files COMMAND (or process PID) maps, from a\n"
		   "separate process; settings are the PREFAULT_* variables (see prefault --help).\n");
}

/* Why this kernel cannot host the companion, or NULL. */
static const char *kernel_lacks(void)
{
	int fd = pfc_pidfd_open(getpid());
	if (fd < 0 && errno == ENOSYS)
		return "pidfd_open (Linux 5.3)";
	if (fd >= 0)
		close(fd);
	if (!pf_populate_read_supported())
		return "MADV_POPULATE_READ (Linux 5.14)";
	return NULL;
}

static int64_t now_ns(void)
{
	return pf_now_ns();
}

static void finish_stats(void)
{
	if (!pf_stats_enabled())
		return;
	pf_stats_flush();
	pf_stats_write_proc();
}

/* Starts argv[0] with the signal mask and dispositions the companion found;
 * returns the child's pid, or exits (127/126) when exec failed. */
static pid_t start_target(char **argv, const sigset_t *orig_mask)
{
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC)) {
		pfc_error("cannot start %s: %s", argv[0], strerror(errno));
		exit(126);
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		pfc_error("cannot start %s: %s", argv[0], strerror(errno));
		exit(126);
	}
	if (pid == 0) {
		close(errpipe[0]);
		for (size_t i = 0; i < NFORWARDED; i++)
			sigaction(forwarded[i], &inherited[i], NULL);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		/* Exec of a setuid program clears this: guard.c covers that. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(127);
		execvp(argv[0], argv);
		int e = errno;
		if (write(errpipe[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(e == ENOENT ? 127 : 126);
	}
	close(errpipe[1]);
	int e = 0;
	ssize_t n;
	while ((n = read(errpipe[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(errpipe[0]);
	if (n == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		pfc_error("%s: %s", argv[0], e == ENOENT ? "command not found" : strerror(e));
		exit(e == ENOENT ? 127 : 126);
	}
	return pid;
}

struct run {
	pid_t child;      /* 0 when attached */
	pid_t pid;        /* the target */
	int pidfd;
	int sigfd;
	bool following;
	int status;       /* exit status of the companion */
	bool done;
};

static void on_signal(struct run *r)
{
	struct signalfd_siginfo si;
	while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		int sig = (int)si.ssi_signo;
		if (!r->child) {
			if (sig == SIGUSR1 || sig == SIGUSR2)
				continue;
			r->status = 128 + sig;
			r->done = true;
			return;
		}
		/* The terminal signalled the whole group; the target is in it. */
		if (si.ssi_code == SI_KERNEL && getpgid(r->child) == getpgrp())
			continue;
		pfc_pidfd_send_signal(r->pidfd, sig);
	}
}

static void on_target_exit(struct run *r)
{
	r->done = true;
	if (!r->child) {
		r->status = 0;
		return;
	}
	int st;
	while (waitpid(r->child, &st, 0) < 0 && errno == EINTR)
		;
	r->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void loop(struct run *r)
{
	int64_t last_flush = 0;
	while (!r->done) {
		struct pollfd pfd[MAX_POLL];
		int fds[MAX_POLL];
		size_t n = 0;
		pfd[n++] = (struct pollfd){ r->sigfd, POLLIN, 0 };
		pfd[n++] = (struct pollfd){ r->pidfd, POLLIN, 0 };
		size_t nf = pfc_follow_pidfds(fds, MAX_POLL - n);
		for (size_t i = 0; i < nf; i++)
			pfd[n++] = (struct pollfd){ fds[i], POLLIN, 0 };
		int rc = poll(pfd, n, nf ? POLL_MS : -1);
		if (rc < 0 && errno != EINTR) {
			pfc_error("poll: %s", strerror(errno));
			r->status = 1;
			return;
		}
		if (pfd[0].revents)
			on_signal(r);
		if (pfd[1].revents)
			on_target_exit(r);
		if (r->done)
			return;
		for (size_t i = 2; i < n; i++)
			if (pfd[i].revents && pfd[i].fd != r->pidfd)
				pfc_follow_exited(pfd[i].fd);
		int64_t now = now_ns();
		pfc_follow_poll(now);
		if (now - last_flush >= STATS_FLUSH_NS) {
			pf_stats_flush();
			last_flush = now;
		}
	}
}

int main(int argc, char **argv)
{
	pid_t attach = 0;
	int argi = 1;
	if (argi < argc && (!strcmp(argv[argi], "-h") || !strcmp(argv[argi], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argi < argc && !strncmp(argv[argi], "--pid", 5)) {
		const char *v = argv[argi][5] == '=' ? argv[argi] + 6 : NULL;
		if (!v && !argv[argi][5] && argi + 1 < argc)
			v = argv[++argi];
		char *end;
		long pid = v ? strtol(v, &end, 10) : 0;
		if (!v || !*v || *end || pid <= 0 || pid > 1 << 30) {
			pfc_error("--pid needs a process id, not '%s'", v ? v : "");
			return 2;
		}
		if (++argi != argc) {
			pfc_error("--pid takes no command");
			return 2;
		}
		attach = (pid_t)pid;
	} else {
		if (argi < argc && !strcmp(argv[argi], "--"))
			argi++;
		if (argi == argc) {
			usage(stderr);
			return 2;
		}
	}

	static const struct pf_stats_host stats_host = {
		.inactive_reason = inactive_reason,
		.read_faults = pfc_procstat_read,
	};
	pf_stats_init(&stats_host);
	pf_options_load();
	if (pf_opt.enabled) {
		pf_budget_compute();
		pf_recall_init();
	}
	const char *lacks = kernel_lacks();
	if (!attach && (lacks || !pf_opt.enabled)) {
		if (lacks)
			pfc_error("warning: this kernel lacks %s; running %s without prefault", lacks,
				  argv[argi]);
		execvp(argv[argi], argv + argi);
		pfc_error("%s: %s", argv[argi], errno == ENOENT ? "command not found" : strerror(errno));
		return errno == ENOENT ? 127 : 126;
	}
	if (lacks) {
		pfc_error("cannot follow process %d: this kernel lacks %s", (int)attach, lacks);
		return 1;
	}

	struct run r = { 0 };
	sigset_t block, orig;
	sigemptyset(&block);
	for (size_t i = 0; i + 1 < NFORWARDED; i++) {
		sigaddset(&block, forwarded[i]);
		sigaction(forwarded[i], NULL, &inherited[i]);
		signal(forwarded[i], SIG_DFL); /* blocked: they wait in the signalfd */
	}
	sigaction(SIGPIPE, NULL, &inherited[NFORWARDED - 1]);
	sigprocmask(SIG_BLOCK, &block, &orig);
	r.sigfd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r.sigfd < 0) {
		pfc_error("signalfd: %s", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* a closed stats pipe is not our end */

	pid_t guard = 0;
	int guard_fd = -1;
	if (attach) {
		if (attach == getpid()) {
			pfc_error("cannot follow process %d: that is the companion itself", (int)attach);
			return 1;
		}
		r.pid = attach;
		r.pidfd = pfc_pidfd_open(attach);
		if (r.pidfd < 0) {
			pfc_error("cannot follow process %d: %s", (int)attach,
				  errno == ESRCH ? "no such process" : strerror(errno));
			return 1;
		}
	} else {
		r.child = r.pid = start_target(argv + argi, &orig);
		r.pidfd = pfc_pidfd_open(r.child);
		if (r.pidfd < 0) {
			/* Cannot happen for our own unreaped child; still, no orphan. */
			pfc_error("pidfd_open: %s", strerror(errno));
			kill(r.child, SIGKILL);
			waitpid(r.child, NULL, 0);
			return 1;
		}
		fcntl(r.pidfd, F_SETFD, FD_CLOEXEC);
		guard_fd = pfc_guard_start(r.pidfd, &guard);
	}

	pf_stats_write_start(r.pid);
	int err = pfc_follow_root(r.pid, r.pidfd);
	if (err && attach) {
		if (err == EACCES || err == EPERM)
			pfc_error("cannot follow process %d: permission denied (another user's process, or not dumpable; "
				  "run prefault as that user or as root)", (int)attach);
		else
			pfc_error("cannot follow process %d: %s", (int)attach,
				  err == ESRCH ? "no such process" : strerror(err));
		return 1;
	}
	if (err && err != ESRCH)
		pfc_error("warning: cannot read the mappings of %s (%s); running it without prefault",
			  argv[argi], strerror(err));

	loop(&r);

	/* While an attached target still runs, its pagemap has its touches. */
	pf_recall_fini();
	pfc_follow_stop();
	finish_stats();
	if (guard_fd >= 0) {
		close(guard_fd);
		while (waitpid(guard, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return r.status;
}
