/*
 * guard.c - the target never outlives the companion that started it.
 *
 * PR_SET_PDEATHSIG, set in the child before exec, is not enough: exec of a
 * setuid or setgid program (or one with file capabilities) clears it, and
 * that is one of the kinds of programs the companion is for.  So a guard
 * process is forked next to the target.  It holds the target's pidfd and the
 * read end of a pipe whose only write end is the companion's.  When the pipe
 * reads end-of-file while the target still runs, the companion is gone
 * (killed, crashed) and the guard kills the target (SIGKILL through the
 * pidfd: never a recycled pid; allowed for a setuid target too, because the
 * guard's real uid is the target's real uid).  When the target exits first,
 * the guard just exits.  The companion closes its end and reaps the guard
 * before it exits, so nothing is left behind.
 */
#include "companion.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

int pfc_guard_start(int target_pidfd, pid_t *guard_pid)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		close(fds[0]);
		*guard_pid = pid;
		return fds[1];
	}
	/* The guard: only async-signal-safe calls from here on. */
	close(fds[1]);
	/* Holding the companion's output open would keep a reader waiting. */
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	prctl(PR_SET_NAME, "prefault-guard", 0, 0, 0);
	sigset_t none;
	sigemptyset(&none);
	/* Interrupts are for the target; the guard waits for the outcome. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		struct pollfd pf[2] = { { fds[0], POLLIN, 0 }, { target_pidfd, POLLIN, 0 } };
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pf[1].revents)
			_exit(0); /* the target has exited */
		if (pf[0].revents) {
			char c;
			if (read(fds[0], &c, 1) == 0) {
				pfc_pidfd_send_signal(target_pidfd, SIGKILL);
				_exit(0);
			}
		}
	}
}
