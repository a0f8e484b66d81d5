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

/* The longest PREFAULT_INCLUDE or PREFAULT_EXCLUDE taken, in characters. */
#define PF_PATTERNS_MAX 1023

struct pf_options {
	bool enabled;                 /* PREFAULT */
	uint64_t budget_bytes;        /* PREFAULT_BUDGET as a size, or 0 */
	unsigned budget_percent;      /* PREFAULT_BUDGET as a share, or 0 */
	char stats_dest[256];         /* PREFAULT_STATS, "" when off; a path made absolute */
	char log_dest[256];           /* PREFAULT_LOG, "" when silent; a path made absolute */
	uint64_t min_size;            /* PREFAULT_MIN_SIZE */
	/* PREFAULT_INCLUDE and PREFAULT_EXCLUDE, each pattern ended by a NUL
	 * and the list by an empty one; "" when unset. */
	char include[PF_PATTERNS_MAX + 2];
	char exclude[PF_PATTERNS_MAX + 2];
	bool include_none;            /* PREFAULT_INCLUDE could not be taken whole */
	bool exclude_all;             /* PREFAULT_EXCLUDE could not be taken whole */
	unsigned threads;             /* PREFAULT_THREADS */
	uint64_t window;              /* PREFAULT_WINDOW */
	bool inherit;                 /* PREFAULT_INHERIT */
	enum pf_discover_mode discover; /* PREFAULT_DISCOVER */
	bool fast_stdio;              /* PREFAULT_FAST_STDIO */
	bool verbose;                 /* PREFAULT_VERBOSE: pf_note() speaks */
	bool pace;                    /* PREFAULT_PACE */
	bool prefetch;                /* PREFAULT_PREFETCH: false measures only */
	/* PREFAULT_REMEMBER: "" and remember_default false when off; 1 sets
	 * remember_default (the per-user directory, found at init); a
	 * directory is made absolute. */
	char remember_dir[256];
	bool remember_default;
};

extern struct pf_options pf_opt;

/* Reads every PREFAULT_* variable.  A malformed one is said in one line on
 * stderr and on PREFAULT_LOG, and its safe default applies.  Hands the log
 * its settings (pf_log_configure) first. */
void pf_options_load(void);
/* PREFAULT_STATS=value cannot be used: says so in one line on stderr,
 * "prefault: PREFAULT_STATS='value': why; no statistics", why being what is
 * wrong with it as a destination or, when nothing is found, otherwise.  For
 * pf_options_load and for the report, whose destination stopped taking
 * writes.  errno is left as it was. */
void pf_options_stats_unusable(const char *value, const char *otherwise);
/* Reads value as pf_options_load() would read the variable name, changing
 * nothing: 0 with its canonical spelling (what the wrapper exports) in
 * canon; -1 with the reason in why when it is malformed; -2 when name is
 * no setting.  A destination's form is checked, not whether it opens. */
int pf_option_check(const char *name, const char *value, char *canon, size_t canon_size, char *why,
		    size_t why_size);
/* True when path passes PREFAULT_INCLUDE and PREFAULT_EXCLUDE; *why is set
 * to "excluded" or "not-included" otherwise. */
bool pf_options_path_allowed(const char *path, const char **why);

#endif
