/*
 * remember_store.c - drives working-set memory's record store
 * (shim/core/remember.c over shim/sys/cachedir.c) for tests/remember.bats.
 * Built by tests/remember.mk, linked with those two objects.
 *
 *   remember_store [-n RECORDS] [-b BYTES] [-s] COMMAND ARGS...
 *     learn DIR FILE [OFF+LEN[@MS]]...  load FILE's record, learn one run of
 *                                       these touches, store it
 *     load DIR FILE                     print the record: status, then
 *                                       "ext OFF LEN FIRST_MS WEIGHT" in file
 *                                       order, "read OFF LEN" the reads of a
 *                                       replay in file order, "needy OFF"
 *                                       neediest first
 *     spread DIR FILE N [SHIFT]         learn N touches of 4 KiB, 8 KiB apart,
 *                                       from SHIFT
 *     hammer DIR FILE COUNT             learn COUNT runs (a concurrent writer)
 *     watch DIR FILE COUNT              load COUNT times: none may be refused
 *     name FILE                         the record's file name
 *     default | make DIR | check DIR | secure
 *
 * -n and -b bound the directory (defaults 256 records, 16 MiB); -g the gap
 * a replay's read may span (default 0); -s passes
 * the secure-execution flag as a setuid program's caller would.  Exit
 * status of load: 0 loaded, 1 absent, 2 changed, 3 refused; others 0 or 1;
 * 98 when a command left a descriptor open.
 */
#include "core/remember.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct pf_remember rec;
static union pf_remember_scratch scratch;
static struct pf_remember_extent seen[PF_REMEMBER_MAX_EXTENTS];
static unsigned max_records = PF_REMEMBER_DIR_RECORDS;
static uint64_t max_bytes = PF_REMEMBER_DIR_BYTES;
static struct pf_cachedir cd;
static uint64_t read_gap;

static const char *const status_name[] = {
	[PF_REMEMBER_LOADED] = "loaded",
	[PF_REMEMBER_ABSENT] = "absent",
	[PF_REMEMBER_CHANGED] = "changed",
	[PF_REMEMBER_REFUSED] = "refused",
};

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "remember_store: %s\n", what);
	exit(99);
}

static void identity(struct pf_remember_id *id, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		die("cannot stat the file");
	if (pf_remember_identity(id, path, &st) < 0)
		die("path too long");
}

static enum pf_remember_status load(const struct pf_remember_id *id, bool quiet)
{
	const char *why;
	enum pf_remember_status s = pf_remember_load(&cd, id, &rec, &scratch, &why);
	if (!quiet)
		printf("load: %s%s%s\n", status_name[s], why ? ": " : "", why ? why : "");
	return s;
}

static int store(bool quiet)
{
	const char *why = pf_remember_store(&cd, &rec, &scratch, max_records, max_bytes);
	if (!quiet)
		printf("store: %s\n", why ? why : "ok");
	return why ? 1 : 0;
}

static size_t parse_touches(char **arg, int n)
{
	size_t k = 0;
	for (int i = 0; i < n && k < PF_REMEMBER_MAX_EXTENTS; i++) {
		char *end;
		seen[k].off = strtoull(arg[i], &end, 0);
		if (*end != '+')
			die("a touch is OFF+LEN[@MS]");
		seen[k].len = strtoull(end + 1, &end, 0);
		seen[k].first_ms = *end == '@' ? (uint32_t)strtoul(end + 1, &end, 0) : PF_REMEMBER_NO_TIME;
		if (*end)
			die("a touch is OFF+LEN[@MS]");
		seen[k].weight = 0;
		k++;
	}
	return k;
}

static int cmd_learn(const char *file, char **arg, int n)
{
	struct pf_remember_id id;
	identity(&id, file);
	load(&id, false);
	size_t k = parse_touches(arg, n);
	pf_remember_merge(&rec, seen, k, &scratch);
	return store(false);
}

static int cmd_load(const char *file)
{
	struct pf_remember_id id;
	static uint16_t order[PF_REMEMBER_MAX_EXTENTS];
	identity(&id, file);
	enum pf_remember_status s = load(&id, false);
	printf("runs %u extents %u\n", rec.runs, rec.n);
	for (uint32_t i = 0; i < rec.n; i++)
		printf("ext %" PRIu64 " %" PRIu64 " %u %u\n", rec.ext[i].off, rec.ext[i].len,
		       rec.ext[i].first_ms, rec.ext[i].weight);
	for (uint32_t i = 0; i < rec.n;) {
		uint64_t off = rec.ext[i].off, end;
		i = pf_remember_next_read(&rec, i, read_gap, &end);
		printf("read %" PRIu64 " %" PRIu64 "\n", off, end - off);
	}
	pf_remember_needy_order(&rec, order);
	for (uint32_t i = 0; i < rec.n; i++)
		printf("needy %" PRIu64 "\n", rec.ext[order[i]].off);
	return (int)s;
}

static int cmd_spread(const char *file, size_t n, uint64_t shift)
{
	struct pf_remember_id id;
	identity(&id, file);
	load(&id, false);
	if (n > PF_REMEMBER_MAX_EXTENTS)
		n = PF_REMEMBER_MAX_EXTENTS;
	for (size_t i = 0; i < n; i++)
		seen[i] = (struct pf_remember_extent){ shift + i * 8192, 4096, (uint32_t)i, 0 };
	pf_remember_merge(&rec, seen, n, &scratch);
	return store(false);
}

/* Each run touches a different part, so that records differ in length. */
static int cmd_hammer(const char *file, int count)
{
	struct pf_remember_id id;
	identity(&id, file);
	for (int r = 0; r < count; r++) {
		if (load(&id, true) == PF_REMEMBER_REFUSED) {
			const char *why;
			pf_remember_load(&cd, &id, &rec, &scratch, &why);
			fprintf(stderr, "hammer: refused: %s\n", why ? why : "?");
			return 1;
		}
		size_t k = (size_t)(getpid() + r) % 64 + 1;
		for (size_t i = 0; i < k; i++)
			seen[i] = (struct pf_remember_extent){ ((uint64_t)r * 7 + i * 3) % 512 * 4096, 4096, (uint32_t)r, 0 };
		pf_remember_merge(&rec, seen, k, &scratch);
		if (store(true)) {
			fprintf(stderr, "hammer: store failed\n");
			return 1;
		}
	}
	return 0;
}

static int cmd_watch(const char *file, int count)
{
	struct pf_remember_id id;
	identity(&id, file);
	for (int r = 0; r < count; r++) {
		const char *why;
		if (pf_remember_load(&cd, &id, &rec, &scratch, &why) == PF_REMEMBER_REFUSED) {
			fprintf(stderr, "watch: refused: %s\n", why);
			return 1;
		}
	}
	return 0;
}

static int answer(const char *why)
{
	printf("%s\n", why ? why : "ok");
	return why ? 1 : 0;
}

/* The descriptors open now, as a bit set of 0..1023. */
static void open_fds(uint64_t set[16])
{
	memset(set, 0, 16 * sizeof set[0]);
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			set[fd / 64] |= 1ull << (fd % 64);
}

static int run(int argc, char **argv);

/* Every command must leave the descriptors as it found them. */
int main(int argc, char **argv)
{
	uint64_t before[16], after[16];
	open_fds(before);
	int status = run(argc, argv);
	fflush(stdout);
	open_fds(after);
	if (memcmp(before, after, sizeof before) != 0) {
		fprintf(stderr, "remember_store: a descriptor was left open\n");
		return 98;
	}
	return status;
}

static int run(int argc, char **argv)
{
	int opt;
	cd.secure_exec = pf_cachedir_secure_exec();
	while ((opt = getopt(argc, argv, "+n:b:g:s")) != -1) {
		if (opt == 'n')
			max_records = (unsigned)strtoul(optarg, NULL, 0);
		else if (opt == 'b')
			max_bytes = strtoull(optarg, NULL, 0);
		else if (opt == 'g')
			read_gap = strtoull(optarg, NULL, 0);
		else if (opt == 's')
			cd.secure_exec = true;
		else
			die("usage: see tests/progs/remember_store.c");
	}
	argv += optind;
	argc -= optind;
	if (argc < 1)
		die("no command");
	const char *cmd = argv[0];
	if (strcmp(cmd, "default") == 0) {
		char dir[4096];
		const char *why = pf_cachedir_default(dir, sizeof dir);
		printf("%s\n", why ? why : dir);
		return why ? 1 : 0;
	}
	if (strcmp(cmd, "secure") == 0) {
		printf("%d\n", pf_cachedir_secure_exec());
		return 0;
	}
	if (strcmp(cmd, "name") == 0 && argc == 2) {
		struct pf_remember_id id;
		char name[32];
		identity(&id, argv[1]);
		pf_remember_name(&id, name, sizeof name);
		printf("%s\n", name);
		return 0;
	}
	if (argc < 2)
		die("no directory");
	cd.path = argv[1];
	if (strcmp(cmd, "make") == 0)
		return answer(pf_cachedir_make(&cd));
	if (strcmp(cmd, "check") == 0)
		return answer(pf_cachedir_check(&cd));
	if (argc < 3)
		die("no file");
	if (strcmp(cmd, "learn") == 0)
		return cmd_learn(argv[2], argv + 3, argc - 3);
	if (strcmp(cmd, "load") == 0)
		return cmd_load(argv[2]);
	if (argc < 4)
		die("no count");
	if (strcmp(cmd, "spread") == 0)
		return cmd_spread(argv[2], strtoul(argv[3], NULL, 0), argc > 4 ? strtoull(argv[4], NULL, 0) : 0);
	if (strcmp(cmd, "hammer") == 0)
		return cmd_hammer(argv[2], atoi(argv[3]));
	if (strcmp(cmd, "watch") == 0)
		return cmd_watch(argv[2], atoi(argv[3]));
	die("unknown command");
}
