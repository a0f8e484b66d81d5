/*
 * real.c - finds libc's mmap, munmap and mremap behind the hooks.
 *
 * The pointers are written once by pf_real_resolve() (constructor) and read
 * without a lock afterwards; a relaxed atomic load is enough because a
 * pointer that is still NULL just means "use the system call".  Says
 * nothing itself: the constructor logs a lookup that failed, once the
 * settings say where to.
 */
#include "sys/real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);

static mmap_fn real_mmap;
static munmap_fn real_munmap;
static mremap_fn real_mremap;

bool pf_real_resolve(void)
{
	mmap_fn m = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
	munmap_fn u = (munmap_fn)dlsym(RTLD_NEXT, "munmap");
	mremap_fn r = (mremap_fn)dlsym(RTLD_NEXT, "mremap");

	__atomic_store_n(&real_mmap, m, __ATOMIC_RELEASE);
	__atomic_store_n(&real_munmap, u, __ATOMIC_RELEASE);
	__atomic_store_n(&real_mremap, r, __ATOMIC_RELEASE);
	return m && u && r;
}

static long sys_result(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

void *pf_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* As glibc: an offset that is not page aligned fails before the call. */
	if (off & (sysconf(_SC_PAGESIZE) - 1)) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	return (void *)sys_result(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
}

int pf_sys_munmap(void *addr, size_t len)
{
	return (int)sys_result(syscall(SYS_munmap, addr, len));
}

void *pf_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	mmap_fn f = __atomic_load_n(&real_mmap, __ATOMIC_ACQUIRE);
	return f ? f(addr, len, prot, flags, fd, off) : pf_sys_mmap(addr, len, prot, flags, fd, off);
}

int pf_real_munmap(void *addr, size_t len)
{
	munmap_fn f = __atomic_load_n(&real_munmap, __ATOMIC_ACQUIRE);
	return f ? f(addr, len) : pf_sys_munmap(addr, len);
}

void *pf_real_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	mremap_fn f = __atomic_load_n(&real_mremap, __ATOMIC_ACQUIRE);
	if (f)
		return f(old, old_len, new_len, flags, new_addr);
	return (void *)sys_result(syscall(SYS_mremap, old, old_len, new_len, flags, new_addr));
}
