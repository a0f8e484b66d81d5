/*
 * pressure.h - how much more prefault may bring in before it would squeeze
 * the program's memory (pressure.c).
 */
#ifndef PF_PRESSURE_H
#define PF_PRESSURE_H

#include <stdint.h>

/* Bytes prefault may still add to the page cache: the smaller of
 * MemAvailable and the cgroup's headroom, less a reserve kept for the
 * program.  Re-read at most every PRESSURE_PERIOD; otherwise the cached
 * value (lock-free, safe from any of prefault's threads). */
uint64_t pf_pressure_room(void);
/* The same from the cache only, never reading a file: safe under
 * table_lock (UINT64_MAX before the first read). */
uint64_t pf_pressure_room_cached(void);
/* The last MemAvailable/cgroup headroom read, and the reserve (bytes). */
uint64_t pf_pressure_avail(void);
uint64_t pf_pressure_reserve(void);

#endif
