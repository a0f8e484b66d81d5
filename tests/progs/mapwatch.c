/*
 * mapwatch [-s MS] [-R] [-r] [-c] [-p] PATH - maps a file, pauses, and
 * reports what can be observed from inside the process:
 *
 *   pages=M                   pages in the mapping (the whole file)
 *   prefault_threads=N        most threads named prefault* seen at once
 *                             (polled every 5 ms during the pause)
 *   helper_sigblk=HEX         SigBlk of those threads, each value once
 *   present=N/M               pages present in the page table after the pause
 *   fds=0,1,2                 open descriptors after the pause
 *   majflt=N                  -r: the main thread's major faults while reading
 *                             one byte per page, after the pause
 *   bad_words=N               -c: words that do not hold the file's pattern
 *   pid=N                     -p
 *
 * -R sets MADV_RANDOM on the mapping, as bbolt and LMDB do.  The file
 * descriptor is closed right after mmap.  Nothing is touched before the
 * pause ends.
 *
 * -u COND (repeatable) makes the pause last, beyond -s MS (then 0 by
 * default), until COND holds, at most TL_DEADLINE_S (testlib.h), so that a
 * slow machine gets the time it needs:
 *
 *   -u helper        a thread named prefault* was seen
 *   -u present=PCT   PCT% of the pages are present
 *   -u done          $PREFAULT_STATS holds a done record (the helpers are
 *                    finished with the mapping)
 *
 * and reports wait_met=1 (0: the deadline passed first) and wait_ms=N.
 */
#include "testlib.h"

#define MAX_SIGBLK 16

struct seen {
	char sigblk[MAX_SIGBLK][32];
	int n;
};

static void note_sigblk(const char *tid, void *arg)
{
	struct seen *s = arg;
	char path[300], buf[4096], *p, val[32];

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	if (tl_read_small(path, buf, sizeof(buf)) < 0)
		return;
	p = strstr(buf, "\nSigBlk:");
	if (!p || sscanf(p + 8, " %31s", val) != 1)
		return;
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->sigblk[i], val) == 0)
			return;
	if (s->n < MAX_SIGBLK)
		strcpy(s->sigblk[s->n++], val);
}

static void print_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fds[1024], n = 0;

	if (!d)
		tl_die("opendir /proc/self/fd");
	while ((e = readdir(d)) != NULL && n < 1024) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		fds[n++] = atoi(e->d_name);
	}
	closedir(d);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
			int t = fds[j];
			fds[j] = fds[j - 1];
			fds[j - 1] = t;
		}
	printf("fds=");
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", fds[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	long pause_ms = -1;
	int opt, rnd = 0, rd = 0, check = 0, pid = 0, max_threads = 0;
	int until_helper = 0, until_done = 0, until_pct = -1, nconds = 0, met = 1;
	struct seen seen = { .n = 0 };
	size_t page = tl_page(), len, npages;
	struct stat st;
	double start, until;
	char *p;
	int fd;

	while ((opt = getopt(argc, argv, "s:Rrcpu:")) != -1) {
		switch (opt) {
		case 's': pause_ms = atol(optarg); break;
		case 'R': rnd = 1; break;
		case 'r': rd = 1; break;
		case 'c': check = 1; break;
		case 'p': pid = 1; break;
		case 'u':
			nconds++;
			if (!strcmp(optarg, "helper"))
				until_helper = 1;
			else if (!strcmp(optarg, "done"))
				until_done = 1;
			else if (!strncmp(optarg, "present=", 8))
				until_pct = atoi(optarg + 8);
			else
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if (pause_ms < 0)
		pause_ms = nconds ? 0 : 200;
	if (until_done && !tl_stats_path()) {
		fprintf(stderr, "mapwatch: -u done needs PREFAULT_STATS to name a file\n");
		return 2;
	}
	fd = open(argv[optind], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		tl_die("open %s", argv[optind]);
	len = (size_t)st.st_size;
	npages = (len + page - 1) / page;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	close(fd);
	if (rnd && madvise(p, len, MADV_RANDOM) != 0)
		tl_die("madvise(MADV_RANDOM)");

	start = tl_now();
	until = start + (double)pause_ms / 1000;
	for (;;) {
		int n = tl_each_prefault_thread(note_sigblk, &seen);

		if (n > max_threads)
			max_threads = n;
		met = (!until_helper || max_threads > 0) &&
		      (until_pct < 0 || tl_present(p, len) * 100 >= (size_t)until_pct * npages) &&
		      (!until_done || tl_stats_count("\"ev\":\"done\"", NULL, NULL) > 0);
		tl_sleep_ms(5);
		if (tl_now() >= until && (met || tl_now() > start + TL_DEADLINE_S))
			break;
	}

	if (nconds)
		printf("wait_met=%d\nwait_ms=%.0f\n", met, (tl_now() - start) * 1000);
	if (pid)
		printf("pid=%d\n", (int)getpid());
	printf("pages=%zu\n", npages);
	printf("present=%zu/%zu\n", tl_present(p, len), npages);
	printf("prefault_threads=%d\n", max_threads);
	for (int i = 0; i < seen.n; i++)
		printf("helper_sigblk=%s\n", seen.sigblk[i]);
	print_fds();
	if (rd) {
		volatile char sink = 0;
		long before = tl_thread_majflt(), after;
		double t0 = tl_now();

		for (size_t i = 0; i < npages; i++)
			sink += p[i * page];
		after = tl_thread_majflt();
		(void)sink;
		printf("majflt=%ld\n", after - before);
		printf("read_ms=%.0f\n", (tl_now() - t0) * 1000);
	}
	if (check)
		printf("bad_words=%zu\n", tl_bad_words(p, len, 0));
	fflush(stdout);
	return 0;
usage:
	fprintf(stderr, "usage: mapwatch [-s MS] [-u helper|present=PCT|done]... [-R] [-r] [-c] [-p] PATH\n");
	return 2;
}
