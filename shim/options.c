/*
 * options.c - every setting, its default and its bounds, in one table, read
 * once from the environment by the constructor.
 *
 * A malformed value is reported in one line (log.c) and replaced by the
 * default.  No lock: pf_opt is written before any thread of ours exists.
 */
#include "options.h"
#include "log.h"
#include "stats.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

struct pf_options pf_opt;

enum kind { K_BOOL, K_SIZE, K_BUDGET, K_UINT, K_STRING, K_DEST, K_DISCOVER };

struct option_def {
	const char *name;
	enum kind kind;
	const char *def;   /* default, in the variable's own syntax */
	uint64_t min, max; /* bounds for sizes and integers */
	void *target;
	size_t target_size; /* for strings */
};

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

static const struct option_def defs[] = {
	{ "PREFAULT", K_BOOL, "1", 0, 1, &pf_opt.enabled, 0 },
	{ "PREFAULT_BUDGET", K_BUDGET, "50%", 1 * MiB, 1 * TiB, NULL, 0 },
	{ "PREFAULT_STATS", K_DEST, "", 0, 0, pf_opt.stats_dest, sizeof pf_opt.stats_dest },
	{ "PREFAULT_LOG", K_DEST, "", 0, 0, pf_opt.log_dest, sizeof pf_opt.log_dest },
	{ "PREFAULT_MIN_SIZE", K_SIZE, "64K", 4 * KiB, 1 * TiB, &pf_opt.min_size, 0 },
	{ "PREFAULT_INCLUDE", K_STRING, "", 0, 0, pf_opt.include, sizeof pf_opt.include },
	{ "PREFAULT_EXCLUDE", K_STRING, "", 0, 0, pf_opt.exclude, sizeof pf_opt.exclude },
	{ "PREFAULT_THREADS", K_UINT, "1", 1, 16, &pf_opt.threads, 0 },
	{ "PREFAULT_WINDOW", K_SIZE, "16M", 256 * KiB, 1 * GiB, &pf_opt.window, 0 },
	{ "PREFAULT_INHERIT", K_BOOL, "1", 0, 1, &pf_opt.inherit, 0 },
	{ "PREFAULT_DISCOVER", K_DISCOVER, "auto", 0, 0, &pf_opt.discover, 0 },
	{ "PREFAULT_FAST_STDIO", K_BOOL, "1", 0, 1, &pf_opt.fast_stdio, 0 },
	{ "PREFAULT_PACE", K_BOOL, "1", 0, 1, &pf_opt.pace, 0 },
};

/* Parses "128M", "2GiB", "65536"; returns 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	uint64_t mult = 1;
	switch (toupper((unsigned char)*end)) {
	case 'K': mult = KiB; end++; break;
	case 'M': mult = MiB; end++; break;
	case 'G': mult = GiB; end++; break;
	case 'T': mult = TiB; end++; break;
	default: break;
	}
	if (mult > 1 && toupper((unsigned char)*end) == 'I')
		end++;
	if (toupper((unsigned char)*end) == 'B')
		end++;
	if (*end || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static int parse_percent(const char *s, unsigned *out)
{
	size_t n = strlen(s);
	if (n < 2 || s[n - 1] != '%' || !isdigit((unsigned char)*s))
		return -1;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (end != s + n - 1 || v < 1 || v > 100)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Applies one value; returns 0, or -1 with *expect describing the syntax. */
static int apply(const struct option_def *d, const char *v, const char **expect)
{
	uint64_t n;
	switch (d->kind) {
	case K_BOOL:
		*expect = "0 or 1";
		if (strcmp(v, "0") && strcmp(v, "1"))
			return -1;
		*(bool *)d->target = v[0] == '1';
		return 0;
	case K_SIZE:
		*expect = "a size such as 16M, within bounds";
		if (parse_size(v, &n) || n < d->min || n > d->max)
			return -1;
		*(uint64_t *)d->target = n;
		return 0;
	case K_BUDGET: {
		*expect = "a size such as 128M (at least 1M) or a share such as 25%";
		unsigned pct;
		if (parse_percent(v, &pct) == 0) {
			pf_opt.budget_percent = pct;
			pf_opt.budget_bytes = 0;
			return 0;
		}
		if (parse_size(v, &n) || n < d->min || n > d->max)
			return -1;
		pf_opt.budget_bytes = n;
		pf_opt.budget_percent = 0;
		return 0;
	}
	case K_UINT: {
		*expect = "a whole number within bounds";
		if (!isdigit((unsigned char)*v))
			return -1;
		char *end;
		errno = 0;
		unsigned long long u = strtoull(v, &end, 10);
		if (errno || *end || u < d->min || u > d->max)
			return -1;
		*(unsigned *)d->target = (unsigned)u;
		return 0;
	}
	case K_STRING:
		*expect = "a shorter value";
		if (strlen(v) >= d->target_size)
			return -1;
		strcpy(d->target, v);
		return 0;
	case K_DEST:
		*expect = "a path, stderr or fd:N";
		if (strlen(v) >= d->target_size || (*v && pf_dest_check(v)))
			return -1;
		strcpy(d->target, v);
		return 0;
	case K_DISCOVER:
		*expect = "auto, 1 or 0";
		if (!strcmp(v, "auto"))
			pf_opt.discover = PF_DISCOVER_AUTO;
		else if (!strcmp(v, "1"))
			pf_opt.discover = PF_DISCOVER_ON;
		else if (!strcmp(v, "0"))
			pf_opt.discover = PF_DISCOVER_OFF;
		else
			return -1;
		return 0;
	}
	return -1;
}

void pf_options_load(void)
{
	const size_t n = sizeof defs / sizeof defs[0];
	const char *expect;
	for (size_t i = 0; i < n; i++)
		apply(&defs[i], defs[i].def, &expect);
	/* Destinations first, so that a complaint about any other value has
	 * somewhere to go. */
	const char *bad[sizeof defs / sizeof defs[0]];
	const char *bad_expect[sizeof defs / sizeof defs[0]];
	size_t nbad = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			if ((defs[i].kind == K_DEST) != (pass == 0))
				continue;
			const char *v = getenv(defs[i].name);
			if (!v)
				continue;
			if (apply(&defs[i], v, &expect)) {
				apply(&defs[i], defs[i].def, &expect);
				bad[nbad] = defs[i].name;
				bad_expect[nbad++] = expect;
			}
		}
	}
	for (size_t i = 0; i < nbad; i++) {
		const char *v = getenv(bad[i]);
		const struct option_def *d = NULL;
		for (size_t j = 0; j < n; j++)
			if (!strcmp(defs[j].name, bad[i]))
				d = &defs[j];
		if (!strcmp(bad[i], "PREFAULT_STATS") && pf_stats_bad_dest(v))
			continue;
		pf_log("%s='%.64s' is not valid (expected %s); using the default '%s'",
		       bad[i], v, bad_expect[i], d->def);
	}
}

/* Matches path against a colon-separated list of fnmatch patterns. */
static bool matches_any(const char *list, const char *path)
{
	char pat[256];
	const char *p = list;
	while (*p) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		if (len > 0 && len < sizeof pat) {
			memcpy(pat, p, len);
			pat[len] = '\0';
			if (fnmatch(pat, path, 0) == 0)
				return true;
		}
		p += len + (colon != NULL);
	}
	return false;
}

bool pf_options_path_allowed(const char *path, const char **why)
{
	if (pf_opt.include[0] && !matches_any(pf_opt.include, path)) {
		*why = "not-included";
		return false;
	}
	if (pf_opt.exclude[0] && matches_any(pf_opt.exclude, path)) {
		*why = "excluded";
		return false;
	}
	return true;
}
