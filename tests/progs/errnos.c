/*
 * errnos DIR - performs failing and succeeding mmap, munmap and mremap calls,
 * and calls of the other functions the library hooks (stdio_locks.c), and
 * prints one "case: ret=R errno=E" line each: R is "ok" or "-1", E the
 * errno name, or "unchanged" when the call left errno as it was (it is set
 * to a sentinel before every call).  Run plain and preloaded, the output
 * must be the same.  DIR is a scratch directory on a real file system.
 */
#include "testlib.h"

#include <aio.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <threads.h>

#define SENTINEL EXDEV
#define MB (1UL << 20)

static void report(const char *name, int failed)
{
	int e = errno;

	printf("%s: ret=%s errno=%s\n", name, failed ? "-1" : "ok",
	       e == SENTINEL ? "unchanged" : strerrorname_np(e));
}

#define MMAP(name, ...) do { \
	errno = SENTINEL; \
	void *r_ = mmap(__VA_ARGS__); \
	report(name, r_ == MAP_FAILED); \
} while (0)

#define MUNMAP(name, ...) do { \
	errno = SENTINEL; \
	report(name, munmap(__VA_ARGS__) != 0); \
} while (0)

#define MREMAP(name, ...) do { \
	errno = SENTINEL; \
	void *r_ = mremap(__VA_ARGS__); \
	report(name, r_ == MAP_FAILED); \
} while (0)

/* For calls that return a stream: NULL is the failure.  CLOSE is fclose,
 * or pclose for popen. */
#define STREAM_CLOSED(name, call, CLOSE) do { \
	errno = SENTINEL; \
	FILE *f_ = (call); \
	report(name, f_ == NULL); \
	if (f_) \
		CLOSE(f_); \
} while (0)
#define STREAM(name, call) STREAM_CLOSED(name, call, fclose)

/* For calls that return -1 and set errno. */
#define CALL(name, call) do { \
	errno = SENTINEL; \
	report(name, (call) != 0); \
} while (0)

static void *idle_thread(void *arg) { return arg; }
static int idle_thrd(void *arg) { (void)arg; return 0; }
static ssize_t no_read(void *c, char *b, size_t n) { (void)c; (void)b; (void)n; return 0; }

/* The hooked functions besides mmap, munmap and mremap; last, since the
 * thread ones leave the process multi-threaded. */
static void other_hooks(const char *path, int closed, char *buf)
{
	char missing[4200];
	snprintf(missing, sizeof missing, "%s.missing", path);
	STREAM("fopen_ok_file", fopen(path, "r"));
	STREAM("fopen_enoent_missing", fopen(missing, "r"));
	STREAM("fopen_einval_mode", fopen(path, "q"));
	STREAM("fdopen_ebadf_closed", fdopen(closed, "r"));
	STREAM("freopen_enoent_missing", freopen(missing, "r", fopen(path, "r")));
	STREAM("tmpfile_ok_new", tmpfile());
	STREAM_CLOSED("popen_einval_mode", popen("true", "q"), pclose);
	STREAM_CLOSED("popen_ok_true", popen("true", "r"), pclose);
	size_t size;
	char *mem = NULL;
	STREAM("memstream_ok_open", open_memstream(&mem, &size));
	free(mem);
	cookie_io_functions_t io = { .read = no_read };
	STREAM("cookie_ok_open", fopencookie(NULL, "r", io));

	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	CALL("timercreate_einval_clock", timer_create((clockid_t)12345, &none, &(timer_t){ 0 }));
	CALL("mqnotify_ebadf_closed", mq_notify((mqd_t)closed, &none));
	struct aiocb cb = { .aio_fildes = closed, .aio_buf = buf, .aio_nbytes = 1 };
	CALL("aiofsync_einval_op", aio_fsync(12345, &cb));
	struct aiocb *list[] = { &cb };
	CALL("liolistio_einval_mode", lio_listio(12345, list, 1, &none));

	/* pthread_create and thrd_create return their error; errno stays. */
	pthread_t t;
	errno = SENTINEL;
	int rc = pthread_create(&t, NULL, idle_thread, NULL);
	report("pthreadcreate_ok_thread", rc != 0);
	pthread_join(t, NULL);
	thrd_t t2;
	errno = SENTINEL;
	rc = thrd_create(&t2, idle_thrd, NULL);
	report("thrdcreate_ok_thread", rc != thrd_success);
	thrd_join(t2, NULL);
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		tl_die("open %s", path);
	return fd;
}

/* A fresh address range of len bytes that nothing maps. */
static char *hole(size_t len)
{
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, len) != 0)
		tl_die("reserve a hole");
	return p;
}

/* A tracked-size file mapping at a known place (not reported). */
static char *map_file(int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		tl_die("mmap");
	return p;
}

int main(int argc, char **argv)
{
	char path[4096];
	int fd, wfd, closed, dfd, pfd[2], procfd;
	size_t page = tl_page();
	char *p, *q;

	if (argc != 2) {
		fprintf(stderr, "usage: errnos DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/errnos.dat", argv[1]);
	tl_make_file(path, 4 * MB);
	fd = open_or_die(path, O_RDONLY);
	wfd = open_or_die(path, O_WRONLY);
	/* A descriptor number that is closed and stays closed. */
	closed = 900;
	if (dup2(fd, closed) != closed || close(closed) != 0)
		tl_die("dup2");
	dfd = open_or_die(argv[1], O_RDONLY | O_DIRECTORY);
	procfd = open_or_die("/proc/self/status", O_RDONLY);
	if (pipe(pfd) != 0)
		tl_die("pipe");

	/* mmap */
	MMAP("mmap_ok_file", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, fd, 0);
	MMAP("mmap_ok_file_shared", NULL, 4 * MB, PROT_READ, MAP_SHARED, fd, 0);
	MMAP("mmap_ok_file_offset", NULL, 2 * MB, PROT_READ, MAP_SHARED, fd, 2 * MB);
	MMAP("mmap_ok_file_small", NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	MMAP("mmap_ok_anon", NULL, 4 * MB, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MMAP("mmap_ok_past_eof", NULL, 8 * MB, PROT_READ, MAP_SHARED, fd, 0);
	MMAP("mmap_ebadf_fd_minus1", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, -1, 0);
	MMAP("mmap_ebadf_closed_fd", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, closed, 0);
	MMAP("mmap_ebadf_fd_huge", NULL, 4 * MB, PROT_READ, MAP_SHARED, 1 << 20, 0);
	MMAP("mmap_einval_len0", NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0);
	MMAP("mmap_einval_len0_anon", NULL, 0, PROT_READ,
	     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MMAP("mmap_einval_unaligned_offset", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, fd, 1);
	MMAP("mmap_einval_no_type_flag", NULL, 4 * MB, PROT_READ, 0, fd, 0);
	MMAP("mmap_einval_fixed_unaligned", (void *)(hole(4 * MB) + 1), 4 * MB,
	     PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	MMAP("mmap_enodev_directory", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, dfd, 0);
	MMAP("mmap_enodev_pipe", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, pfd[0], 0);
	MMAP("mmap_enodev_proc_file", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, procfd, 0);
	MMAP("mmap_eacces_shared_write_on_rdonly", NULL, 4 * MB, PROT_READ | PROT_WRITE,
	     MAP_SHARED, fd, 0);
	MMAP("mmap_eacces_wronly_fd", NULL, 4 * MB, PROT_READ, MAP_SHARED, wfd, 0);
	MMAP("mmap_eacces_wronly_fd_private", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, wfd, 0);
	MMAP("mmap_enomem_huge_len_file", NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE, fd, 0);
	MMAP("mmap_enomem_huge_len_anon", NULL, (size_t)1 << 62, PROT_READ,
	     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	MMAP("mmap_enomem_len_wraps", NULL, SIZE_MAX - page + 2, PROT_READ, MAP_PRIVATE, fd, 0);
	MMAP("mmap_eoverflow_offset", NULL, 4 * MB, PROT_READ, MAP_PRIVATE, fd,
	     (off_t)0x7ffffffffffff000LL);

	/* munmap */
	p = map_file(fd, 4 * MB);
	MUNMAP("munmap_einval_unaligned_addr", p + 1, 4 * MB - page);
	MUNMAP("munmap_einval_len0", p, 0);
	MUNMAP("munmap_einval_huge_len", p, SIZE_MAX - page);
	MUNMAP("munmap_ok_middle", p + MB, MB);
	MUNMAP("munmap_ok_unaligned_len", p, MB - 1);
	MUNMAP("munmap_ok_rest", p, 4 * MB);
	MUNMAP("munmap_ok_again_unmapped", p, 4 * MB);

	/* mremap */
	p = map_file(fd, 4 * MB);
	MREMAP("mremap_einval_bad_flags", p, 4 * MB, 4 * MB, 0x80);
	MREMAP("mremap_einval_unaligned_addr", p + 1, MB, MB, MREMAP_MAYMOVE);
	MREMAP("mremap_einval_new_len0", p, 4 * MB, 0, MREMAP_MAYMOVE);
	MREMAP("mremap_einval_fixed_without_maymove", p, 4 * MB, 4 * MB, MREMAP_FIXED,
	       hole(4 * MB));
	q = hole(8 * MB);
	MREMAP("mremap_einval_fixed_overlap", p, 4 * MB, 4 * MB,
	       MREMAP_MAYMOVE | MREMAP_FIXED, p + MB);
	MREMAP("mremap_efault_unmapped", q, 4 * MB, 4 * MB, 0);
	MREMAP("mremap_efault_unmapped_maymove", q, 4 * MB, 8 * MB, MREMAP_MAYMOVE);
	/* Grow in place with the next range taken: ENOMEM without MAYMOVE. */
	q = map_file(fd, 8 * MB);
	if (munmap(q + 4 * MB, 4 * MB) != 0)
		tl_die("munmap");
	if (mmap(q + 4 * MB, MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		tl_die("mmap fixed");
	MREMAP("mremap_enomem_grow_in_place_blocked", q, 4 * MB, 8 * MB, 0);
	MREMAP("mremap_einval_huge_len", q, 4 * MB, (size_t)1 << 62, MREMAP_MAYMOVE);
	MREMAP("mremap_ok_shrink", q, 4 * MB, 2 * MB, 0);
	MREMAP("mremap_ok_same", q, 2 * MB, 2 * MB, 0);
	MREMAP("mremap_ok_grow_maymove", p, 4 * MB, 8 * MB, MREMAP_MAYMOVE);
	p = map_file(fd, 4 * MB);
	MREMAP("mremap_ok_fixed", p, 4 * MB, 4 * MB, MREMAP_MAYMOVE | MREMAP_FIXED,
	       hole(4 * MB));
	fflush(stdout);
	static char aio_buf[16];
	other_hooks(path, closed, aio_buf);
	return 0;
}
