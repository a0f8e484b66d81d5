/*
 * meminfo.h - the machine's memory, as /proc/meminfo says (meminfo.c).
 *
 * Each call reads the file once.  No state, no lock; errno is left as it
 * was.
 */
#ifndef PF_MEMINFO_H
#define PF_MEMINFO_H

#include <stdint.h>

/* MemAvailable and MemTotal in bytes, 0 when unreadable. */
uint64_t pf_mem_available(void);
uint64_t pf_mem_total(void);

#endif
