/*
 * iolimit.c - the read limits the program's cgroup sets on a disk, and a
 * pacer that keeps prefault's own reads under them.
 *
 * blk-throttle enforces a limit in slices (100 ms on a rotational disk): a
 * group that spends a slice's budget early has every read wait for the next
 * slice, the program's page faults included.  Measured here (cgroup v1,
 * 200 MiB/s and 2000 IOPS; tools/bench/compare's server row: 200 random
 * reads a second racing the load): the reads' p99 was 83-87 ms with
 * prefault unpaced, 0.30-0.34 ms paced, plain's 0.32-0.49 ms.  So where the process's group (or an ancestor) limits reads of the disk
 * behind a file, helpers issue their WILLNEED steps at PACE_SHARE of it,
 * in steps of PACED_STEP (a fault waited behind a 1 MiB step on the disk
 * itself: p99 0.52-0.60 ms against 0.26-0.27 with 256 KiB steps).
 *
 * Except while the program's own major faults come at HUNGRY_SHARE of the
 * IOPS limit or faster (a program reading at random flat out), or one of
 * prefault's reads itself waited STALL_NS or more (the budget was spent
 * by someone else; only the engine's populates report waits, see
 * follow.c): the program then spends the slice's budget early
 * by itself and waits for the next slice, paced or not, and paced reads
 * queued behind its faults got a few requests a slice (the Go seed
 * benchmark's reads: 8.4 s paced against 2.5 s unpaced and 9.2 s plain).
 * Reading at full speed ends its waits soonest; pacing resumes CONTENDED_NS
 * after the last such sign.  The fault rate is sampled every SAMPLE_NS.
 *
 * The program's own reads first (progwait.h).  Helpers read in the idle
 * I/O class (set_class), except under a limit the program spends itself.
 * While the program waits on the disk, a helper keeps one small read in
 * flight at most (pf_iolimit_stand_back): on a disk without a limit unless
 * the program is hungry (below), under a limit when the pacer would pace.
 * Under a limit the program's reads and prefault's share one budget, so
 * there prefault's reads also wait for the program's to end (give_way),
 * GIVE_WAY_NS into a wait at most: the first answer of bench-startup took
 * 419 ms against plain's 104 ms while prefault only stood back.  A program that faults flat out (hungry) is best served by
 * prefault finishing soon: standing back for it left tools/bench/run's
 * throttled random reads at 0.44x plain's instead of 0.24x.  Without a
 * limit, hungry is HUNGRY_RATE major faults a second: there a helper reads
 * in the best-effort class with LIMITED_QUEUE_MS in flight, as under a
 * limit the program spends itself (spent_by_program).  On an AMD EPYC VM's
 * 550-610 MiB/s virtio disk, the Go seed program (30 ms pause) took 1.25x
 * plain's time while prefault stood back, its idle-class reads starved
 * behind the program's back-to-back faults (3% of the file in when the
 * reads began; every run of two sets of 5 slower than its plain pair);
 * hungry, 0.90x, its ticker's worst lateness 4.0 ms against 8.1
 * (tools/gobench/run, medians of 5).
 *
 * pf_iolimit_before_read and pf_iolimit_after_populate stand around the
 * reads, which the engine and follow issue themselves (advise.h).
 *
 * Limits read: cgroup v1 blkio.throttle.read_bps_device and
 * read_iops_device, cgroup v2 io.max (rbps, riops), in the process's group
 * and each ancestor up to the mount's root, for the whole disk behind the
 * file (the kernel throttles whole disks); the smallest wins.  Read once
 * per disk, again after REREAD_NS.  Which group and mount: sys/cgroup.h.
 *
 * Lock rule: pace_lock guards the per-disk table and the scratch buffer;
 * only helpers take it (across small /proc and /sys reads), never a hook,
 * and nobody sleeps holding it.
 */
#include "work/iolimit.h"
#include "sys/cgroup.h"
#include "core/log.h"
#include "core/options.h"
#include "sys/procfs.h"
#include "core/progwait.h"
#include "work/window.h"
#include "sys/clock.h"

#include <inttypes.h>
#include <linux/ioprio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <time.h>

#define PACE_SHARE 0.95      /* of the bytes a limit allows */
#define PACE_IOPS_SHARE 0.5  /* of the requests: the program needs its own */
#define PACED_STEP (256u * 1024u) /* a fault waits behind one such read on the disk */
#define HUNGRY_SHARE 0.2     /* of the IOPS limit, in the program's major faults */
#define HUNGRY_RATE 2000.0   /* major faults a second, on a disk without a limit */
#define STALL_NS (30ll * 1000000ll)
#define CONTENDED_NS (1000ll * 1000000ll)
/* Two throttle slices: a program that faults flat out under a limit waits
 * up to a slice (~84 ms here) for one fault, and 50 ms samples saw it idle
 * every other time (the Go seed benchmark's throttled reads: 2.5-8.2 s
 * against 2.4 s). */
#define SAMPLE_NS (200ll * 1000000ll)
#define HUNGRY_SPELL_FAULTS 32
#define REREAD_NS (5ll * 1000000000ll)
#define MAX_DISKS 8
/* The program's reads first: prefault's wait for its to end, this far
 * into its wait at most (a program that keeps reading shares the limit). */
#define GIVE_WAY_NS (500ll * 1000000ll)
#define GIVE_WAY_POLL_NS 1000000l
/* Under a limit the throttle's slices set what a fault waits, and the
 * requests a limit counts are better spent large: at 2 ms (512 KiB in
 * flight, 256 KiB steps) the throttled random reads took 0.28-0.30x
 * plain's against 0.24x at 10 ms.  Also for a hungry program without a
 * limit (the Go seed program: 8 ms 0.77-1.08x plain, 16 ms 0.73x). */
#define LIMITED_QUEUE_MS 10

struct disk {
	dev_t dev;          /* as the file reports it (maybe a partition) */
	dev_t whole;        /* the disk the limits name */
	uint64_t bps, iops; /* 0: no limit */
	int64_t read_ns;    /* when the limits were read */
	int64_t next_ns;    /* when the next request may go, at the paced rate */
	int64_t contended_until_ns; /* unpaced until then: a read stalled (waited()) */
	bool logged;
};

static pthread_mutex_t pace_lock = PTHREAD_MUTEX_INITIALIZER;
static struct disk disks[MAX_DISKS];
static unsigned disk_count, disk_next;
static uint64_t paced_ns; /* total time helpers waited, guarded by pace_lock */
static uint64_t gave_way_ns; /* atomic: time helpers waited for the program's reads */
static uint64_t stood_back;  /* atomic: looks that found the program waiting */
static uint64_t unpaced_steps; /* steps let through unpaced: program hungry or reads stalled */
static uint64_t sample_majflt;
static int64_t sample_ns;
static double program_fault_rate; /* major faults a second, last sample */
static char scratch[32768];

/* The whole disk behind dev: its parent when dev is a partition. */
static dev_t whole_disk(dev_t dev)
{
	char path[96], buf[32];
	unsigned maj, min;
	snprintf(path, sizeof path, "/sys/dev/block/%u:%u/partition", major(dev), minor(dev));
	if (pf_read_small(path, buf, sizeof buf) < 0)
		return dev;
	snprintf(path, sizeof path, "/sys/dev/block/%u:%u/../dev", major(dev), minor(dev));
	if (pf_read_small(path, buf, sizeof buf) < 0 || sscanf(buf, "%u:%u", &maj, &min) != 2)
		return dev;
	return makedev(maj, min);
}

/* The value of "key=N" in a v2 io.max line, or 0 ("max", absent). */
static uint64_t io_max_value(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	if (!p)
		return 0;
	p += strlen(key);
	if (*p < '0' || *p > '9')
		return 0;
	return strtoull(p, NULL, 10);
}

/* The next line of a NUL-terminated buffer, cut at its newline; NULL at the
 * end.  *cursor starts at the buffer. */
static char *next_line(char **cursor)
{
	char *line = *cursor;
	if (!line || !*line)
		return NULL;
	char *end = strchr(line, '\n');
	if (end)
		*end = '\0';
	*cursor = end ? end + 1 : NULL;
	return line;
}

static void keep_min(uint64_t *have, uint64_t v)
{
	if (v && (!*have || v < *have))
		*have = v;
}

/* The disks a group's limit files name, for pf_iolimit_list(). */
struct named {
	dev_t dev[PF_IOLIMIT_LIST_MAX];
	unsigned n;
};

static void note_disk(struct named *named, const char *line)
{
	unsigned maj, min;
	if (sscanf(line, "%u:%u ", &maj, &min) != 2)
		return;
	for (unsigned i = 0; i < named->n; i++)
		if (named->dev[i] == makedev(maj, min))
			return;
	if (named->n < PF_IOLIMIT_LIST_MAX)
		named->dev[named->n++] = makedev(maj, min);
}

/* Folds the limits for `disk` in one group directory into *bps, *iops;
 * with named, also notes every disk the files name. */
static void read_group(const char *dir, bool v2, dev_t disk, uint64_t *bps, uint64_t *iops,
		       struct named *named)
{
	char path[4200], want[32];
	snprintf(want, sizeof want, "%u:%u ", major(disk), minor(disk));
	static const char *const v1_files[] = { "blkio.throttle.read_bps_device",
						"blkio.throttle.read_iops_device" };
	for (int f = 0; f < (v2 ? 1 : 2); f++) {
		snprintf(path, sizeof path, "%s/%s", dir, v2 ? "io.max" : v1_files[f]);
		if (pf_read_small(path, scratch, sizeof scratch) < 0)
			continue;
		char *cursor = scratch, *line;
		while ((line = next_line(&cursor))) {
			if (named)
				note_disk(named, line);
			if (strncmp(line, want, strlen(want)))
				continue;
			const char *rest = line + strlen(want);
			if (v2) {
				keep_min(bps, io_max_value(rest, "rbps="));
				keep_min(iops, io_max_value(rest, "riops="));
			} else {
				keep_min(f == 0 ? bps : iops, strtoull(rest, NULL, 10));
			}
		}
	}
}

/* Every group from the process's up to the mount's root, for one hierarchy. */
static void read_hierarchy(bool v2, dev_t disk, uint64_t *bps, uint64_t *iops, struct named *named)
{
	char mnt[1024], root[1024], group[1024], rel[1024], dir[2100];
	const char *controller = v2 ? NULL : "blkio";
	if (!pf_cgroup_mount(controller, mnt, sizeof mnt, root, sizeof root, scratch,
			     sizeof scratch) ||
	    !pf_cgroup_own(controller, group, sizeof group, scratch, sizeof scratch))
		return;
	size_t rl = strcmp(root, "/") ? strlen(root) : 0;
	if (rl && strncmp(group, root, rl))
		return; /* our group is outside what this mount shows */
	snprintf(rel, sizeof rel, "%s", group + rl);
	for (;;) {
		snprintf(dir, sizeof dir, "%s%s", mnt, rel);
		read_group(dir, v2, disk, bps, iops, named);
		char *slash = strrchr(rel, '/');
		if (!slash || !rel[0] || !strcmp(rel, "/"))
			break;
		*slash = '\0'; /* up one level; "" is the mount's root */
	}
}

static void read_limits(struct disk *d, int64_t now)
{
	uint64_t bps = 0, iops = 0;
	read_hierarchy(false, d->whole, &bps, &iops, NULL);
	read_hierarchy(true, d->whole, &bps, &iops, NULL);
	d->bps = bps;
	d->iops = iops;
	d->read_ns = now;
	if ((bps || iops) && !d->logged) {
		d->logged = true;
		pf_log("disk %u:%u: the cgroup limits reads to %" PRIu64 " B/s, %" PRIu64
		       " IOPS (0: none); pacing prefault's reads under them",
		       major(d->whole), minor(d->whole), bps, iops);
	}
}

/* The entry for dev, or NULL; pace_lock held. */
static struct disk *find_locked(dev_t dev)
{
	for (unsigned i = 0; i < disk_count; i++)
		if (disks[i].dev == dev)
			return &disks[i];
	return NULL;
}

/* The entry for dev, its limits fresh; pace_lock held. */
static struct disk *disk_locked(dev_t dev, int64_t now)
{
	struct disk *d = find_locked(dev);
	if (!d) {
		unsigned slot = disk_count < MAX_DISKS ? disk_count++ : disk_next++ % MAX_DISKS;
		d = &disks[slot];
		memset(d, 0, sizeof *d);
		d->dev = dev;
		d->whole = whole_disk(dev);
		read_limits(d, now);
	} else if (now - d->read_ns >= REREAD_NS) {
		read_limits(d, now);
	}
	return d;
}

/* The program's major faults a second: sampled every SAMPLE_NS; with
 * over_wait, or over its current wait once that has HUNGRY_SPELL_FAULTS,
 * whichever is more.  Under a limit the samples alone were too slow: a
 * program that begins to fault flat out after a pause was taken for one
 * waiting on a few reads, and prefault gave way to it for 340-610 ms (the
 * throttled random reads: 2.8-3.3 s against 2.3 s in three of five runs).
 * Not without a limit, where standing back only shrinks prefault's reads:
 * there prefault at full speed that much sooner made the Go seed
 * program's worst ticker lateness 10.3 ms against 6.8 (medians of 7,
 * plain's 5.2).  pace_lock held. */
static double fault_rate_locked(int64_t now, bool over_wait)
{
	if (now - sample_ns >= SAMPLE_NS) {
		uint64_t prog = pf_progwait_program_majflt();
		if (sample_ns && prog >= sample_majflt)
			program_fault_rate = (double)(prog - sample_majflt) * 1e9 / (double)(now - sample_ns);
		sample_majflt = prog;
		sample_ns = now;
	}
	uint64_t faults;
	int64_t spell = over_wait ? pf_progwait_last_spell(&faults) : 0;
	if (spell && faults >= HUNGRY_SPELL_FAULTS) {
		double rate = (double)faults * 1e9 / (double)spell;
		if (rate > program_fault_rate)
			return rate;
	}
	return program_fault_rate;
}

/* The program faults flat out on d: HUNGRY_SHARE of its IOPS limit, or
 * HUNGRY_RATE where it has none; pace_lock held. */
static bool hungry_locked(const struct disk *d, int64_t now)
{
	if (d->bps && !d->iops)
		return false;
	double rate = fault_rate_locked(now, d->iops != 0);
	return d->iops ? rate >= HUNGRY_SHARE * (double)d->iops : rate >= HUNGRY_RATE;
}

/* A limit applies to d and the program is not spending it by itself. */
static bool paced_locked(const struct disk *d, int64_t now)
{
	if (!d->bps && !d->iops)
		return false;
	if (now < d->contended_until_ns)
		return false;
	return !hungry_locked(d, now);
}

/* What the limits say of a read of dev now: whether one applies, whether
 * the pacer would pace it (paced_locked), and whether the program faults
 * flat out (hungry_locked).  Takes pace_lock. */
struct verdict {
	bool limited, paced, hungry;
};
static struct verdict look(dev_t dev, int64_t now)
{
	pthread_mutex_lock(&pace_lock);
	struct disk *d = disk_locked(dev, now);
	struct verdict v = { d->bps || d->iops, paced_locked(d, now), hungry_locked(d, now) };
	pthread_mutex_unlock(&pace_lock);
	return v;
}

/* The program spends the disk by itself: under a limit, unpaced; without
 * one, hungry.  Then prefault's reads finishing soon serve it best. */
static bool spent_by_program(struct verdict v)
{
	return v.limited ? !v.paced : v.hungry;
}

/* Under a limit, waits while the program waits on the disk and does not
 * fault flat out, GIVE_WAY_NS into its wait at most; true when a limit
 * applies to dev.  Also when a read of prefault's stalled (the pacer's
 * contended rule): the program's reads waiting are the likeliest cause, and
 * giving way only while paced let a helper read 2.5-4 MiB during the
 * program's 8 MiB of reads in two of six runs of pace.bats's in-flight
 * test.  pace_lock not held. */
static bool give_way(dev_t dev)
{
	for (;;) {
		int64_t spell = pf_progwait_waiting_ns();
		struct verdict v = look(dev, pf_now_ns());
		if (!(v.limited && !v.hungry && spell && spell < GIVE_WAY_NS))
			return v.limited;
		__atomic_add_fetch(&gave_way_ns, GIVE_WAY_POLL_NS, __ATOMIC_RELAXED);
		struct timespec ts = { 0, GIVE_WAY_POLL_NS };
		nanosleep(&ts, NULL);
	}
}

static void pace(dev_t dev, size_t bytes)
{
	if (!pf_opt.pace || !give_way(dev))
		return;
	int64_t now = pf_now_ns();
	pthread_mutex_lock(&pace_lock);
	struct disk *d = disk_locked(dev, now);
	int64_t wait = 0;
	if (!d->bps && !d->iops) {
		pthread_mutex_unlock(&pace_lock);
		return;
	}
	if (!paced_locked(d, now)) {
		unpaced_steps++;
		d->next_ns = now;
	} else {
		double ns = 0;
		if (d->bps)
			ns = (double)bytes * 1e9 / ((double)d->bps * PACE_SHARE);
		if (d->iops) {
			double per_request = 1e9 / ((double)d->iops * PACE_IOPS_SHARE);
			if (per_request > ns)
				ns = per_request;
		}
		/* Each request has its slot; after a quiet spell the first goes at
		 * once, so the largest burst is one step. */
		int64_t slot = d->next_ns > now ? d->next_ns : now;
		wait = slot - now;
		d->next_ns = slot + (int64_t)ns;
		if (wait > 0)
			paced_ns += (uint64_t)wait;
	}
	pthread_mutex_unlock(&pace_lock);
	if (wait > 0) {
		struct timespec ts = { (time_t)(wait / 1000000000ll), (long)(wait % 1000000000ll) };
		while (nanosleep(&ts, &ts) != 0)
			;
		give_way(dev); /* the program may have begun to read meanwhile */
	}
}

size_t pf_iolimit_list(struct pf_io_limit *out, size_t max)
{
	struct named named = { .n = 0 };
	uint64_t bps = 0, iops = 0;
	size_t n = 0;
	pthread_mutex_lock(&pace_lock);
	read_hierarchy(false, 0, &bps, &iops, &named);
	read_hierarchy(true, 0, &bps, &iops, &named);
	for (unsigned i = 0; i < named.n && n < max; i++) {
		/* What the pacer would find for a file on that disk; not logged. */
		struct disk d = { .dev = named.dev[i], .whole = named.dev[i], .logged = true };
		read_limits(&d, 0);
		if (d.bps || d.iops)
			out[n++] = (struct pf_io_limit){ major(d.whole), minor(d.whole), d.bps, d.iops };
	}
	pthread_mutex_unlock(&pace_lock);
	return n;
}

size_t pf_iolimit_json(char *buf, size_t size)
{
	pthread_mutex_lock(&pace_lock);
	size_t n = (size_t)snprintf(buf, size, ",\"io_limits\":[");
	bool first = true;
	for (unsigned i = 0; i < disk_count && n < size; i++) {
		const struct disk *d = &disks[i];
		if (!d->bps && !d->iops)
			continue;
		n += (size_t)snprintf(buf + n, size - n,
				      "%s{\"disk\":\"%u:%u\",\"rbps\":%" PRIu64 ",\"riops\":%" PRIu64 "}",
				      first ? "" : ",", major(d->whole), minor(d->whole), d->bps, d->iops);
		first = false;
	}
	if (n < size)
		n += (size_t)snprintf(buf + n, size - n,
				      "],\"io_paced_ms\":%.1f,\"io_gave_way_ms\":%.1f,\"io_unpaced_steps\":%" PRIu64
				      ",\"io_stood_back\":%" PRIu64,
				      (double)paced_ns / 1e6,
				      (double)__atomic_load_n(&gave_way_ns, __ATOMIC_RELAXED) / 1e6, unpaced_steps,
				      __atomic_load_n(&stood_back, __ATOMIC_RELAXED));
	pthread_mutex_unlock(&pace_lock);
	return n < size ? n : size - 1;
}

/* An unpaced read's wait counts too, so pacing stays off while reads keep
 * waiting: counting only paced reads' waits retried pacing every second
 * and slowed the Go seed benchmark's reads from 2.44 to 2.56 s (medians
 * of 3, side by side). */
static void waited(dev_t dev, int64_t ns)
{
	if (!pf_opt.pace || ns < STALL_NS)
		return;
	int64_t now = pf_now_ns();
	pthread_mutex_lock(&pace_lock);
	struct disk *d = find_locked(dev);
	if (d && (d->bps || d->iops))
		d->contended_until_ns = now + CONTENDED_NS;
	pthread_mutex_unlock(&pace_lock);
}

unsigned pf_iolimit_queue_ms(dev_t dev)
{
	struct verdict v = look(dev, pf_now_ns());
	return v.limited || v.hungry ? LIMITED_QUEUE_MS : PF_QUEUE_TARGET_MS;
}

bool pf_iolimit_stand_back(dev_t dev)
{
	if (!pf_progwait_waiting_ns())
		return false;
	struct verdict v = look(dev, pf_now_ns());
	bool back = !spent_by_program(v);
	if (back)
		__atomic_add_fetch(&stood_back, 1, __ATOMIC_RELAXED);
	return back;
}

size_t pf_iolimit_step(dev_t dev, size_t step, bool stand_back)
{
	if (stand_back && step > PF_PROGWAIT_STEP)
		return PF_PROGWAIT_STEP;
	if (!pf_opt.pace || step <= PACED_STEP)
		return step;
	return look(dev, pf_now_ns()).paced ? PACED_STEP : step;
}

/* The I/O priority class of the calling helper's reads of dev: idle, so
 * that mq-deadline, which dispatches in sector order, serves the program's
 * reads before prefault's (a random 4 KiB read of the Go seed program's sat
 * 17-74 ms behind prefault's sequential ones, block:block_rq_insert to
 * _issue, and its ticker was late by as much; in the idle class, ticker
 * worst 3-8 ms against 0.3-112 ms, interleaved runs).  Except under a read
 * limit the program spends by itself (not paced_locked): there prefault's
 * reads finishing soon is what serves it, and in the idle class they got
 * few of the limit's requests (the throttled Go seed reads: 2.5-8.8 s
 * against 2.4 s).  Schedulers without priorities (none, on NVMe) ignore
 * the class; a refusal changes nothing.  The class is set on change only. */
static void set_class(dev_t dev)
{
	static __thread int current = -1;
	struct verdict v = look(dev, pf_now_ns());
	int want = spent_by_program(v) ? IOPRIO_CLASS_BE : IOPRIO_CLASS_IDLE;
	if (want == current)
		return;
	current = want;
	(void)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		      IOPRIO_PRIO_VALUE(want, want == IOPRIO_CLASS_BE ? 4 : 0));
}

void pf_iolimit_before_read(dev_t dev, size_t fresh)
{
	if (fresh)
		pace(dev, fresh);
	set_class(dev);
}

void pf_iolimit_after_populate(dev_t dev, int64_t ns)
{
	waited(dev, ns);
}

void pf_iolimit_prefork(void)
{
	pthread_mutex_lock(&pace_lock);
}

void pf_iolimit_postfork_parent(void)
{
	pthread_mutex_unlock(&pace_lock);
}

void pf_iolimit_postfork_child(void)
{
	pthread_mutex_init(&pace_lock, NULL);
}
