/*
 * scan.h - one scan of a /proc maps file against the table (scan.c): tracks
 * the file mappings no entry covers (newmap.c), forgets the discovered
 * entries whose mappings are gone.  Discovery thread only.
 */
#ifndef PF_SCAN_H
#define PF_SCAN_H

/* maps_path: /proc/thread-self/maps, or /proc/self/maps where the former
 * is missing.  0, or -1 with errno when maps could not be read (nothing
 * changed). */
int pf_scan_maps(const char *maps_path);

#endif
