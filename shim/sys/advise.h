/*
 * advise.h - the only ways prefault touches the program's memory: madvise
 * and mincore on its ranges, never a load or a store (advise.c).
 *
 * MADV_POPULATE_READ returns an error where an access would raise a signal
 * (EFAULT past the end of a truncated file, ENOMEM when unmapped, EINVAL for
 * PROT_NONE or special mappings), so a helper cannot be killed by a page.
 * No state but the cached probes; no locks.
 */
#ifndef PF_ADVISE_H
#define PF_ADVISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

bool pf_populate_read_supported(void);
/* Starts readahead of [addr, addr+len); 0 or an errno value. */
int pf_advise_willneed(uintptr_t addr, size_t len);
/* Maps [addr, addr+len) in, waiting for reads in flight; 0 or an errno. */
int pf_advise_populate(uintptr_t addr, size_t len);
/* Asks the kernel to reclaim [addr, addr+len) now (MADV_PAGEOUT): clean
 * file pages mapped only here leave the page cache; the kernel ignores file
 * pages of files the caller could not open for writing.  Refused (EPERM)
 * when /proc/self/pagemap shows any page there that is not a page-cache
 * page (a private copy the program wrote, or one in swap): prefault never
 * pushes the program's own data out.  0 or an errno. */
int pf_advise_pageout(uintptr_t addr, size_t len);
/* Pages of [addr, addr+len) that mincore reports resident, or -1 with
 * errno (ENOMEM: no longer mapped). */
long pf_resident_pages(uintptr_t addr, size_t len);
/* Bytes from addr, up to len, that mincore reports resident without a gap:
 * looked at in small pieces, stopping at the first page that is not (0
 * when mincore fails). */
size_t pf_resident_prefix(uintptr_t addr, size_t len);
/* Largest readahead one MADV_WILLNEED call performs on this device. */
size_t pf_readahead_step(dev_t dev);
/* How far past a page the kernel's readahead may read for this device's
 * files: twice read_ahead_kb (POSIX_FADV_SEQUENTIAL doubles it); 32 MiB
 * when unknown. */
size_t pf_readahead_reach(dev_t dev);

/* fork (init.c): step_lock is taken before and released after; the child
 * makes it anew. */
void pf_advise_prefork(void);
void pf_advise_postfork_parent(void);
void pf_advise_postfork_child(void);

#endif
