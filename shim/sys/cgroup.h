/*
 * cgroup.h - where this process sits in its control groups (cgroup.c):
 * its group in a hierarchy (/proc/self/cgroup) and where that hierarchy is
 * mounted (/proc/self/mountinfo).
 *
 * Readers only: no state, no lock, never logs.  The caller lends the
 * buffer the file is read into (buf, size bytes): what does not fit is not
 * seen.
 */
#ifndef PF_CGROUP_H
#define PF_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

/* The process's group path ("/user.slice/...") in the v1 hierarchy whose
 * controllers name `controller` ("memory", "blkio"), or in the v2 one when
 * controller is NULL; false when there is none. */
bool pf_cgroup_own(const char *controller, char *group, size_t group_size, char *buf,
		   size_t size);

/* Where that hierarchy (v1 with `controller` among its options, v2 when
 * NULL) is mounted, and the group path that is the mount's root; false
 * when it is not mounted. */
bool pf_cgroup_mount(const char *controller, char *mnt, size_t mnt_size, char *root,
		     size_t root_size, char *buf, size_t size);

#endif
