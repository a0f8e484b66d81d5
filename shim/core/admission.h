/*
 * admission.h - the one rule that decides whether a new file mapping is
 * tracked (admission.c), for the hooks (lib/hooks.c), discovery
 * (lib/scan.c) and the companion (tools/companion/follow.c).
 *
 * The rule knows no thread, no hook and no /proc: its inputs are the facts
 * the caller has of the mapping, its output is NULL (admitted) or a static
 * reason, the one a skip record carries.  It comes in two halves, always
 * called in this order: pf_admit_mapping() on what is known without a
 * system call, then pf_admit_file() on the file's stat.  The reasons, in
 * the order they are checked:
 *
 *   not-readable   the mapping is not readable
 *   special        MAP_HUGETLB, or the path maps shows ends " (deleted)"
 *   too-small      shorter than PREFAULT_MIN_SIZE
 *   excluded       PREFAULT_EXCLUDE matches the path (core/options.c)
 *   not-included   PREFAULT_INCLUDE does not (core/options.c)
 *   not-readable   the file cannot be stat'ed (or opened)
 *   replaced       the path names another file than the one mapped
 *   not-regular    not a regular file
 *   too-small      it starts at or past the file's end, or what is left
 *                  of it up to the file's end is shorter than the minimum
 *   no-memory      PF_ADMIT_NO_MEMORY: admitted, but the entry could not be
 *                  made (table.c, or the companion's own bookkeeping)
 *
 * No state, no lock.
 */
#ifndef PF_ADMISSION_H
#define PF_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define PF_ADMIT_NO_MEMORY "no-memory"

/* The first half: len is the mapping's (page-rounded), path the file's name
 * ("?" when unknown).  NULL when the file may be looked at. */
const char *pf_admit_mapping(bool readable, bool special, size_t len, const char *path);

/* True when the rule refuses the mapping whatever its path: the hook may
 * skip the system call that finds the path (when no skip record needs it).
 * The same checks as the two halves, less the path's; st as there. */
bool pf_admit_refused_whatever_path(bool readable, bool special, size_t len,
				    const struct stat *st);

/* The second half, on st, the file's stat (NULL: it could not be had).
 * ino: the inode the mapping was seen with, when st was found by path (maps
 * lines), else 0 (fstat of the mapped descriptor).  The device is not
 * compared: on btrfs and overlayfs maps and stat disagree about it.  NULL
 * when admitted, with *len cut at the file's end (page-rounded; page is the
 * page size). */
const char *pf_admit_file(const struct stat *st, uint64_t ino, uint64_t offset, size_t page,
			  size_t *len);

#endif
