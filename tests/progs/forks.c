/*
 * forks BIG SMALL CHILD - maps BIG (cold) and, while prefault's helpers
 * bring it in, forks 200 children: even ones _exit at once, odd ones map
 * and unmap anonymous memory and the first MiB of SMALL, then exit().  Then
 * one more child maps CHILD (evicted first), waits until 90% of its pages
 * are present (at most TL_DEADLINE_S, testlib.h) and reports how many are:
 * prefault must work in a forked child.
 *
 *   forks=200 ok=N       children that exited with status 0
 *   child_present=N/M
 *   child_waited=1       (0: the deadline passed first)
 */
#include "testlib.h"

#include <sys/wait.h>

#define NFORKS 200

static char *map_file(const char *path, size_t *len, int evict)
{
	struct stat st;
	char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", path);
	if (evict)
		tl_evict_fd(fd);
	if (*len == 0)
		*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap %s", path);
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	size_t big_len = 0, child_len = 0;
	int ok = 0, status;
	pid_t pid;

	if (argc != 4) {
		fprintf(stderr, "usage: forks BIG SMALL CHILD\n");
		return 2;
	}
	map_file(argv[1], &big_len, 1);
	fflush(stdout);
	for (int i = 0; i < NFORKS; i++) {
		pid = fork();
		if (pid < 0)
			tl_die("fork");
		if (pid == 0) {
			if (i % 2 == 0)
				_exit(0);
			size_t small = 1 << 20;
			void *a = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *f = map_file(argv[2], &small, 0);

			if (a == MAP_FAILED || munmap(a, 1 << 16) != 0 ||
			    munmap(f, small) != 0)
				_exit(3);
			exit(0);
		}
		if (waitpid(pid, &status, 0) != pid)
			tl_die("waitpid");
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	printf("forks=%d ok=%d\n", NFORKS, ok);
	fflush(stdout);

	pid = fork();
	if (pid < 0)
		tl_die("fork");
	if (pid == 0) {
		char *p = map_file(argv[3], &child_len, 1);
		size_t page = tl_page();

		int met = tl_wait_present(p, child_len, 90);

		printf("child_present=%zu/%zu\nchild_waited=%d\n", tl_present(p, child_len),
		       (child_len + page - 1) / page, met);
		fflush(stdout);
		exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		tl_die("waitpid");
	printf("child_status=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
