/*
 * prior.h - the pages of a helper's steps in flight that were in memory
 * before prefault read them, and populating that passes them by (prior.c).
 *
 * The program's own readahead marks a page of what it reads (PG_readahead);
 * the fault that reaches a marked page starts the kernel's readahead of the
 * next read_ahead_kb, and MADV_POPULATE_READ faults as the program does.  A
 * helper populating pages the program's readahead brought in would so set
 * off reads of the next 8 MiB at once (read_ahead_kb 8192), each marking
 * the next, past prefault's pacing: on a throttled disk they took the
 * program's share of it (docs/design.md, "Never setting off the kernel's
 * readahead").  Such pages are in the page cache already; the program maps
 * them with a minor fault.  So they are passed by where the kernel could
 * find something to read behind them, and mapped in as before where it
 * could not (a file wholly in memory), and once the mapping is complete
 * (pf_prior_finish): by then prefault has read all of it, and a mark
 * starts no read.
 *
 * Lock rule: none (the total passed by is an atomic).  The notes are the
 * calling helper thread's own, for the offsets [done, ahead) of the slice
 * it runs (engine.c), which must stay within pf_prior_span() bytes.
 */
#ifndef PF_PRIOR_H
#define PF_PRIOR_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes of a mapping [done, ahead) the notes can cover. */
size_t pf_prior_span(void);
/* Notes which pages of [base+off, base+off+len) are in memory now
 * (mincore), before a step reads them.  Only where mincore tells the page
 * cache (PF_COUNT_CACHE, budget.h); a range it cannot tell is noted as not
 * in memory. */
void pf_prior_note(uintptr_t base, size_t off, size_t len);
/* MADV_POPULATE_READ of [base+off, base+off+len), a range noted, of a
 * mapping map_len long: the pages noted as in memory before are passed by
 * unless every page of the next `reach` bytes after the range (within the
 * mapping) is in memory.  *passed gets the bytes passed by.  0 or the
 * first errno value. */
int pf_prior_populate(uintptr_t base, size_t off, size_t len, size_t map_len, size_t reach,
		      size_t *passed);
/* MADV_POPULATE_READ of the pages of [base, base+len) that are in memory,
 * for a mapping complete whose steps passed pages by. */
void pf_prior_finish(uintptr_t base, size_t len);
/* Bytes passed by so far, in all helpers (the proc record's passed_by),
 * whether pf_prior_finish mapped them in later or not. */
uint64_t pf_prior_passed(void);

#endif
