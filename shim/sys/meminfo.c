/*
 * meminfo.c - fields of /proc/meminfo (see meminfo.h).
 */
#include "sys/meminfo.h"
#include "sys/procfs.h"

#include <stdlib.h>
#include <string.h>

/* The value of the field named `name` ("MemTotal:"), in bytes, or 0. */
static uint64_t meminfo_bytes(const char *name)
{
	char buf[4096];
	if (pf_read_small("/proc/meminfo", buf, sizeof buf) < 0)
		return 0;
	const char *p = strstr(buf, name);
	return p ? strtoull(p + strlen(name), NULL, 10) * 1024 : 0;
}

uint64_t pf_mem_available(void)
{
	return meminfo_bytes("MemAvailable:");
}

uint64_t pf_mem_total(void)
{
	return meminfo_bytes("MemTotal:");
}
