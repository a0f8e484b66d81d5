/*
 * rejected.c - the parts of maps lines discovery rejected, remembered so
 * that each is reported once and never stat'ed again (see rejected.h).
 *
 * Fingerprints (64-bit hashes of start, length, inode and offset) in two
 * open-addressing sets: this scan's and the last one's.  A rejected line
 * still mapped is carried into this scan's set when the scan meets it; one
 * that is gone is dropped after a scan without it, so the sets stay about as
 * large as the maps.  Each holds twice the lines of the last scan, rounded
 * up to a power of two (pf_sys_mmap).  A set that fills up takes no more:
 * the lines left out are rejected (and reported) again by the next scan,
 * which has room for them.
 *
 * Lock rules: only the discovery thread touches the sets; rej_clear is set
 * in a fork child, where that thread is not running yet.
 */
#include "lib/rejected.h"
#include "sys/real.h"

#include <string.h>
#include <sys/mman.h>

struct fpset {
	uint64_t *slot; /* 0: empty */
	size_t cap, n;
};
static struct fpset rej_cur, rej_prev;
static bool rej_clear; /* fork child: forget both sets */

static uint64_t fingerprint(uintptr_t start, size_t len, uint64_t ino, uint64_t off)
{
	uint64_t h = (uint64_t)start * 0x9e3779b97f4a7c15ULL;
	h ^= (h >> 32) ^ (uint64_t)len * 0xff51afd7ed558ccdULL;
	h ^= (h >> 29) ^ ino * 0xc4ceb9fe1a85ec53ULL;
	h ^= (h >> 32) ^ off * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h ? h : 1;
}

static bool fp_has(const struct fpset *set, uint64_t h)
{
	if (!set->cap)
		return false;
	for (size_t i = h & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
		if (set->slot[i] == h)
			return true;
		if (!set->slot[i])
			return false;
	}
}

static void fp_put(struct fpset *set, uint64_t h)
{
	if (set->n + 1 > set->cap / 2)
		return;
	size_t i = h & (set->cap - 1);
	for (; set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (set->slot[i] == h)
			return;
	set->slot[i] = h;
	set->n++;
}

void pf_rejected_rotate(size_t lines)
{
	struct fpset t = rej_prev;
	rej_prev = rej_cur;
	rej_cur = t;
	if (rej_clear) {
		rej_prev.n = 0;
		if (rej_prev.cap)
			memset(rej_prev.slot, 0, rej_prev.cap * sizeof *rej_prev.slot);
		rej_clear = false;
	}
	size_t want = 1024;
	while (want < 2 * lines)
		want *= 2;
	if (rej_cur.cap < want) {
		void *p = pf_sys_mmap(NULL, want * sizeof(uint64_t), PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED) {
			if (rej_cur.cap)
				pf_sys_munmap(rej_cur.slot, rej_cur.cap * sizeof(uint64_t));
			rej_cur.slot = p; /* fresh anonymous memory is zero */
			rej_cur.cap = want;
			rej_cur.n = 0;
			return;
		}
	}
	if (rej_cur.cap)
		memset(rej_cur.slot, 0, rej_cur.cap * sizeof *rej_cur.slot);
	rej_cur.n = 0;
}

bool pf_rejected_has(uintptr_t start, size_t len, uint64_t ino, uint64_t off)
{
	uint64_t h = fingerprint(start, len, ino, off);
	if (fp_has(&rej_cur, h))
		return true;
	if (!fp_has(&rej_prev, h))
		return false;
	fp_put(&rej_cur, h);
	return true;
}

void pf_rejected_add(uintptr_t start, size_t len, uint64_t ino, uint64_t off)
{
	fp_put(&rej_cur, fingerprint(start, len, ino, off));
}


void pf_rejected_after_fork_child(void)
{
	rej_clear = true;
}
