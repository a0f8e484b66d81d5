/*
 * hooks.c - the exported mmap, mmap64, munmap and mremap: interposition
 * only.  Each calls libc's function and returns exactly what it returned,
 * errno included; bookkeeping happens around it with errno saved.
 *
 * Anonymous and fd < 0 mappings pass straight through (unless MAP_FIXED
 * lands on a tracked range).  Before the constructor has run, when prefault
 * is off, and when a hook is re-entered on the same thread (a signal handler
 * calling mmap inside our bookkeeping), the call goes straight through too.
 * Lock rule: hooks take table_lock (briefly, via table.c), ring_lock (via
 * events.c), helpers_lock (via helpers.c) and, while remembering,
 * learn_lock (via recall.c: held across pagemap reads only), never anything
 * a helper holds across file or disk I/O.
 */
#include "core/admission.h"
#include "lib/discover.h"
#include "work/helpers.h"
#include "work/recall.h"
#include "core/events.h"
#include "lib/hooks.h"
#include "core/options.h"
#include "core/report.h"
#include "core/table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/real.h"

static int hooks_ready;
static __thread int in_hook;

void pf_hooks_set_ready(void)
{
	__atomic_store_n(&hooks_ready, 1, __ATOMIC_RELEASE);
}

bool pf_in_hook(void)
{
	return in_hook;
}

static bool bookkeeping_allowed(void)
{
	return __atomic_load_n(&hooks_ready, __ATOMIC_ACQUIRE) && pf_opt.enabled && !in_hook;
}

static size_t page_round(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	return (len + pg - 1) & ~(pg - 1);
}

static void skip(const char *path, size_t len, const char *reason)
{
	pf_events_queue_skip(PF_SRC_HOOK, path, 0, len, 0, reason);
}

/* Decides whether a new file mapping is tracked (core/admission.c), and
 * tracks it. */
static void consider(uintptr_t addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct stat st;
	bool have_st = fstat(fd, &st) == 0;
	/* The path costs a system call: only for a mapping that may be
	 * tracked, or for the report's skip record. */
	char path[PF_PATH_MAX] = "?";
	if (!pf_admit_refused_whatever_path(prot & PROT_READ, flags & MAP_HUGETLB, len,
					    have_st ? &st : NULL) || pf_stats_enabled()) {
		char link[32];
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, path, sizeof path - 1);
		if (n > 0)
			path[n] = '\0';
	}
	size_t tracked = len;
	const char *why = pf_admit_mapping(prot & PROT_READ, flags & MAP_HUGETLB, len, path);
	if (!why)
		why = pf_admit_file(have_st ? &st : NULL, 0, (uint64_t)off, page_round(1), &tracked);
	if (why) {
		skip(path, len, why);
		return;
	}
	struct pf_desc d = {
		.start = addr, .len = tracked, .offset = off, .dev = st.st_dev, .ino = st.st_ino,
		.source = PF_SRC_HOOK, .path = path,
	};
	if (pf_table_track(&d) != 0) {
		skip(path, tracked, PF_ADMIT_NO_MEMORY);
		return;
	}
	pf_helpers_wake();
}

PF_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	pf_discover_poke();
	bool file = fd >= 0 && !(flags & MAP_ANONYMOUS);
	if ((!file && !(flags & MAP_FIXED)) || !bookkeeping_allowed())
		return pf_real_mmap(addr, len, prot, flags, fd, off);

	int saved = errno;
	in_hook = 1;
	if ((flags & MAP_FIXED) && pf_table_may_overlap((uintptr_t)addr, len)) {
		pf_recall_leaving((uintptr_t)addr, page_round(len));
		pf_table_forget((uintptr_t)addr, page_round(len));
	}
	in_hook = 0;
	errno = saved;

	void *r = pf_real_mmap(addr, len, prot, flags, fd, off);
	if (r == MAP_FAILED || !file)
		return r;
	saved = errno;
	in_hook = 1;
	consider((uintptr_t)r, page_round(len), prot, flags, fd, off);
	in_hook = 0;
	errno = saved;
	return r;
}

PF_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

PF_EXPORT int munmap(void *addr, size_t len)
{
	pf_discover_poke();
	if (bookkeeping_allowed() && pf_table_may_overlap((uintptr_t)addr, len)) {
		int saved = errno;
		in_hook = 1;
		pf_recall_leaving((uintptr_t)addr, page_round(len));
		pf_table_forget((uintptr_t)addr, page_round(len));
		in_hook = 0;
		errno = saved;
	}
	return pf_real_munmap(addr, len);
}

PF_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	pf_discover_poke();
	void *r = pf_real_mremap(old, old_len, new_len, flags, new_addr);
	if (r == MAP_FAILED || !bookkeeping_allowed())
		return r;
	bool old_tracked = old_len && pf_table_may_overlap((uintptr_t)old, old_len);
	if (old_tracked || pf_table_may_overlap((uintptr_t)r, new_len)) {
		int saved = errno;
		in_hook = 1;
		if (old_tracked) {
			pf_table_moved((uintptr_t)old, page_round(old_len), (uintptr_t)r, page_round(new_len));
			pf_helpers_wake();
		} else
			pf_table_forget((uintptr_t)r, page_round(new_len));
		in_hook = 0;
		errno = saved;
	}
	return r;
}
