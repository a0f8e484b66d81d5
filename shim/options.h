/*
 * options.h - the settings, read once from the environment (options.c).
 *
 * pf_opt is written only by pf_options_load(), from the constructor, before
 * any thread of ours exists; after that it is read-only and needs no lock.
 */
#ifndef PF_OPTIONS_H
#define PF_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pf_discover_mode { PF_DISCOVER_AUTO, PF_DISCOVER_ON, PF_DISCOVER_OFF };

struct pf_options {
	bool enabled;                 /* PREFAULT */
	uint64_t budget_bytes;        /* PREFAULT_BUDGET as a size, or 0 */
	unsigned budget_percent;      /* PREFAULT_BUDGET as a share, or 0 */
	char stats_dest[256];         /* PREFAULT_STATS, "" when off */
	char log_dest[256];           /* PREFAULT_LOG, "" when silent */
	uint64_t min_size;            /* PREFAULT_MIN_SIZE */
	char include[1024];           /* PREFAULT_INCLUDE, "" for all */
	char exclude[1024];           /* PREFAULT_EXCLUDE */
	unsigned threads;             /* PREFAULT_THREADS */
	uint64_t window;              /* PREFAULT_WINDOW */
	bool inherit;                 /* PREFAULT_INHERIT */
	enum pf_discover_mode discover; /* PREFAULT_DISCOVER */
	bool fast_stdio;              /* PREFAULT_FAST_STDIO */
	bool pace;                    /* PREFAULT_PACE */
};

extern struct pf_options pf_opt;

void pf_options_load(void);
/* True when path passes PREFAULT_INCLUDE and PREFAULT_EXCLUDE; *why is set
 * to "excluded" or "not-included" otherwise. */
bool pf_options_path_allowed(const char *path, const char **why);

#endif
