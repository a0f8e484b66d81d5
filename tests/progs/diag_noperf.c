/*
 * diag_noperf COMMAND [ARGS...] - runs COMMAND where perf_event_open(2)
 * fails with EACCES, as under a container's seccomp profile or
 * kernel.perf_event_paranoid=3 (tests/diag.bats: attribution must say it
 * is unavailable, and why, rather than guess).
 */
#include "testlib.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: diag_noperf COMMAND [ARGS...]\n");
		return 2;
	}
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_perf_event_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		tl_die("seccomp");
	execvp(argv[1], argv + 1);
	tl_die("exec %s", argv[1]);
}
