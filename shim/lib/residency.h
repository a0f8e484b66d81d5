/*
 * residency.h - the proc record's per-mapping residency and fault
 * attribution (residency.c, library only).
 */
#ifndef PF_RESIDENCY_H
#define PF_RESIDENCY_H

#include <stddef.h>

/* Appends ...,"residency":...,"mappings":[...],"mappings_omitted":n to buf,
 * after the attribution's fields (attrib.c), and returns its length; takes
 * in the fault samples first.  The statistics' mappings_json, under their
 * proc_lock. */
size_t pf_residency_json(char *buf, size_t size);

#endif
