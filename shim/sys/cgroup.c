/*
 * cgroup.c - this process's control groups, read off /proc/self/cgroup and
 * /proc/self/mountinfo (see cgroup.h).
 */
#include "sys/cgroup.h"
#include "sys/procfs.h"

#include <stdio.h>
#include <string.h>

bool pf_cgroup_own(const char *controller, char *group, size_t group_size, char *buf,
		   size_t size)
{
	if (pf_read_small("/proc/self/cgroup", buf, size) < 0)
		return false;
	char *save = NULL;
	/* hierarchy-id:controllers:path, v2's as 0::path */
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		bool hit = controller ? strstr(ctrls, controller) != NULL :
					!strncmp(line, "0:", 2) && !*ctrls;
		if (hit) {
			snprintf(group, group_size, "%s", c2 + 1);
			return true;
		}
	}
	return false;
}

bool pf_cgroup_mount(const char *controller, char *mnt, size_t mnt_size, char *root,
		     size_t root_size, char *buf, size_t size)
{
	if (pf_read_small("/proc/self/mountinfo", buf, size) < 0)
		return false;
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char r[1024], m[1024], type[32], opts[512];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2 ||
		    sscanf(dash + 3, "%31s %*s %511s", type, opts) != 2)
			continue;
		bool hit = controller ? !strcmp(type, "cgroup") && strstr(opts, controller) != NULL :
					!strcmp(type, "cgroup2");
		if (hit) {
			snprintf(mnt, mnt_size, "%s", m);
			snprintf(root, root_size, "%s", r);
			return true;
		}
	}
	return false;
}
