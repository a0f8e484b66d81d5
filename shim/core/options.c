/*
 * options.c - every setting, its default and its bounds, in one table, read
 * once from the environment by the constructor; the one parser of their
 * values, which the wrapper asks too (pf_option_check, through
 * tools/options/validate.c), so that an option and its variable take the
 * same words.
 *
 * A malformed value is said in one line on stderr (the user set the
 * variable: that is asking) and on PREFAULT_LOG, and the safe default
 * applies: the variable's default, or for a PREFAULT_INCLUDE or
 * PREFAULT_EXCLUDE that cannot be taken whole, no file at all (doing
 * nothing rather than what was not asked for).  A relative PREFAULT_STATS
 * or PREFAULT_LOG is made absolute here, so that a program that changes
 * directory keeps writing where it started.  A PREFAULT_STATS that cannot
 * be used is said in the report's own words (pf_options_stats_unusable),
 * here and by the report when its destination stops taking writes.  The
 * log is handed its settings (pf_log_configure) before anything is said.
 * No lock: pf_opt is written before any thread of ours exists.
 */
#include "core/options.h"
#include "sys/dest.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pf_options pf_opt;

enum kind { K_BOOL, K_SIZE, K_BUDGET, K_UINT, K_PATTERNS, K_DEST, K_DISCOVER, K_REMEMBER };

struct option_def {
	const char *name;
	enum kind kind;
	const char *def;     /* default, in the variable's own syntax */
	uint64_t min, max;   /* bounds for sizes and integers */
	void *target;
	size_t target_size;  /* for strings */
	const char *instead; /* what a malformed value leaves, if not the default */
};

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define TiB (1024ull * GiB)

static const struct option_def defs[] = {
	{ "PREFAULT", K_BOOL, "1", 0, 1, &pf_opt.enabled, 0, NULL },
	{ "PREFAULT_BUDGET", K_BUDGET, "50%", 1 * MiB, 1 * TiB, NULL, 0, NULL },
	{ "PREFAULT_STATS", K_DEST, "", 0, 0, pf_opt.stats_dest, sizeof pf_opt.stats_dest, "no statistics" },
	{ "PREFAULT_LOG", K_DEST, "", 0, 0, pf_opt.log_dest, sizeof pf_opt.log_dest, "no log" },
	{ "PREFAULT_MIN_SIZE", K_SIZE, "64K", 4 * KiB, 1 * TiB, &pf_opt.min_size, 0, NULL },
	{ "PREFAULT_INCLUDE", K_PATTERNS, "", 0, 0, pf_opt.include, sizeof pf_opt.include, "including no file" },
	{ "PREFAULT_EXCLUDE", K_PATTERNS, "", 0, 0, pf_opt.exclude, sizeof pf_opt.exclude, "excluding every file" },
	{ "PREFAULT_THREADS", K_UINT, "1", 1, 16, &pf_opt.threads, 0, NULL },
	{ "PREFAULT_WINDOW", K_SIZE, "16M", 256 * KiB, 1 * GiB, &pf_opt.window, 0, NULL },
	{ "PREFAULT_INHERIT", K_BOOL, "1", 0, 1, &pf_opt.inherit, 0, NULL },
	{ "PREFAULT_DISCOVER", K_DISCOVER, "auto", 0, 0, &pf_opt.discover, 0, NULL },
	{ "PREFAULT_FAST_STDIO", K_BOOL, "1", 0, 1, &pf_opt.fast_stdio, 0, NULL },
	{ "PREFAULT_VERBOSE", K_BOOL, "0", 0, 1, &pf_opt.verbose, 0, NULL },
	{ "PREFAULT_PACE", K_BOOL, "1", 0, 1, &pf_opt.pace, 0, NULL },
	{ "PREFAULT_PREFETCH", K_BOOL, "1", 0, 1, &pf_opt.prefetch, 0, NULL },
	{ "PREFAULT_REMEMBER", K_REMEMBER, "0", 0, 0, pf_opt.remember_dir, sizeof pf_opt.remember_dir, NULL },
};
#define NDEFS (sizeof defs / sizeof defs[0])

/* A value read, before it is stored. */
struct parsed {
	uint64_t n;        /* K_SIZE, K_UINT; K_BUDGET as a size */
	unsigned pct;      /* K_BUDGET as a share */
	int word;          /* K_BOOL: 0, 1; K_DISCOVER: its mode */
	bool abs_too_long; /* K_DEST: fits only while relative */
	char dest[sizeof pf_opt.stats_dest]; /* K_DEST, made absolute */
};

/* Parses "128M", "2GiB", "64Mi", "65536"; returns 0 or -1. */
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
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end != s + n - 1 || v < 1 || v > 100)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* A bound as the table says it: 4K, 256K, 1G, 1T. */
static const char *bound(char *buf, size_t size, uint64_t n)
{
	static const char units[] = "TGMK";
	for (int i = 0; i < 4; i++) {
		uint64_t u = 1ull << (10 * (4 - i));
		if (n && n % u == 0) {
			snprintf(buf, size, "%" PRIu64 "%c", n / u, units[i]);
			return buf;
		}
	}
	snprintf(buf, size, "%" PRIu64, n);
	return buf;
}

/* Reads one value into *p; returns 0, or -1 with the reason in why. */
static int parse(const struct option_def *d, const char *v, struct parsed *p, char *why, size_t wsize)
{
	char lo[24], hi[24];
	memset(p, 0, sizeof *p);
	switch (d->kind) {
	case K_BOOL:
		if (!strcmp(v, "0") || !strcmp(v, "1")) {
			p->word = v[0] == '1';
			return 0;
		}
		snprintf(why, wsize, "expected 0 or 1");
		return -1;
	case K_SIZE:
		if (parse_size(v, &p->n) == 0 && p->n >= d->min && p->n <= d->max)
			return 0;
		snprintf(why, wsize, "expected a size like %s, within %s .. %s", d->def,
			 bound(lo, sizeof lo, d->min), bound(hi, sizeof hi, d->max));
		return -1;
	case K_BUDGET:
		if (parse_percent(v, &p->pct) == 0)
			return 0;
		if (parse_size(v, &p->n) == 0 && p->n >= d->min && p->n <= d->max)
			return 0;
		snprintf(why, wsize, "expected a size like 128M or a share like 25%%, within %s .. %s or 1%% .. 100%%",
			 bound(lo, sizeof lo, d->min), bound(hi, sizeof hi, d->max));
		return -1;
	case K_UINT:
		if (isdigit((unsigned char)*v)) {
			char *end;
			errno = 0;
			unsigned long long u = strtoull(v, &end, 10);
			if (!errno && !*end && u >= d->min && u <= d->max) {
				p->n = u;
				return 0;
			}
		}
		snprintf(why, wsize, "expected a whole number within %" PRIu64 " .. %" PRIu64, d->min, d->max);
		return -1;
	case K_PATTERNS: {
		size_t len = strlen(v);
		if (len > PF_PATTERNS_MAX) {
			snprintf(why, wsize, "too long: %zu characters, at most %d", len, PF_PATTERNS_MAX);
			return -1;
		}
		if (len == 0) {
			snprintf(why, wsize, "empty; expected colon-separated fnmatch(3) patterns");
			return -1;
		}
		unsigned k = 1, total = 1;
		for (const char *c = v; *c; c++)
			total += *c == ':';
		for (const char *c = v;; c++, k++) {
			const char *colon = strchr(c, ':');
			if (colon == c || !*c) {
				snprintf(why, wsize,
					 "pattern %u of %u is empty; expected colon-separated fnmatch(3) patterns, none empty",
					 k, total);
				return -1;
			}
			if (!colon)
				return 0;
			c = colon;
		}
	}
	case K_DEST:
		if (pf_dest_form(v)) {
			snprintf(why, wsize, "not a path, stderr or fd:N");
			return -1;
		}
		if (strlen(v) >= d->target_size) {
			snprintf(why, wsize, "too long: %zu characters, at most %zu", strlen(v), d->target_size - 1);
			return -1;
		}
		if (pf_dest_absolute(v, p->dest, sizeof p->dest)) {
			p->abs_too_long = true;
			snprintf(why, wsize, "too long once made absolute (at most %zu characters)",
				 d->target_size - 1);
			return -1;
		}
		return 0;
	case K_DISCOVER:
		if (!strcmp(v, "auto"))
			p->word = PF_DISCOVER_AUTO;
		else if (!strcmp(v, "on") || !strcmp(v, "1"))
			p->word = PF_DISCOVER_ON;
		else if (!strcmp(v, "off") || !strcmp(v, "0"))
			p->word = PF_DISCOVER_OFF;
		else {
			snprintf(why, wsize, "expected auto, on, off, 1 or 0");
			return -1;
		}
		return 0;
	case K_REMEMBER:
		/* 0: off; 1: the per-user default; else a directory. */
		if (!strcmp(v, "0") || !strcmp(v, "1")) {
			p->word = v[0] == '1';
			return 0;
		}
		p->word = 2;
		if (!*v) {
			snprintf(why, wsize, "expected 0, 1 or a directory");
			return -1;
		}
		if (strlen(v) >= d->target_size || pf_dest_absolute(v, p->dest, sizeof p->dest)) {
			snprintf(why, wsize, "too long once made absolute (at most %zu characters)",
				 d->target_size - 1);
			return -1;
		}
		return 0;
	}
	snprintf(why, wsize, "unknown");
	return -1;
}

/* Stores a value parse() took. */
static void store(const struct option_def *d, const char *v, const struct parsed *p)
{
	switch (d->kind) {
	case K_BOOL:
		*(bool *)d->target = p->word;
		break;
	case K_SIZE:
		*(uint64_t *)d->target = p->n;
		break;
	case K_BUDGET:
		pf_opt.budget_percent = p->pct;
		pf_opt.budget_bytes = p->pct ? 0 : p->n;
		break;
	case K_UINT:
		*(unsigned *)d->target = (unsigned)p->n;
		break;
	case K_PATTERNS: {
		/* "a:b" becomes "a\0b\0\0": fnmatch reads each in place. */
		char *t = d->target;
		size_t len = strlen(v);
		memcpy(t, v, len);
		t[len] = t[len + 1] = '\0';
		for (char *c = t; c < t + len; c++)
			if (*c == ':')
				*c = '\0';
		break;
	}
	case K_DEST:
		strcpy(d->target, p->dest);
		break;
	case K_DISCOVER:
		pf_opt.discover = (enum pf_discover_mode)p->word;
		break;
	case K_REMEMBER:
		pf_opt.remember_default = p->word == 1;
		if (p->word == 2)
			strcpy(d->target, p->dest);
		else
			*(char *)d->target = '\0';
		break;
	}
}

/* The default, or the safe stand-in for a value that could not be taken. */
static void set_default(const struct option_def *d, bool after_bad)
{
	struct parsed p;
	char why[8];
	switch (d->kind) {
	case K_PATTERNS:
		memset(d->target, 0, d->target_size);
		if (d->target == pf_opt.include)
			pf_opt.include_none = after_bad;
		else
			pf_opt.exclude_all = after_bad;
		break;
	case K_DEST:
		*(char *)d->target = '\0';
		break;
	default:
		if (parse(d, d->def, &p, why, sizeof why) == 0)
			store(d, d->def, &p);
		break;
	}
}

/* value quoted for one line: at most 64 characters, controls as '?'. */
static const char *quoted(char *buf, size_t size, const char *value)
{
	size_t o = 0, max = 64;
	for (const char *c = value; *c && o < max && o + 4 < size; c++)
		buf[o++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
	buf[o] = '\0';
	if (strlen(value) > o && o + 4 < size)
		strcpy(buf + o, "...");
	return buf;
}

/* The line that says PREFAULT_STATS=value is unusable, on stderr. */
static void stats_line(const char *value, const char *why)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "prefault: PREFAULT_STATS='%.200s': %s; no statistics\n", value,
			 why);
	if (n > 0)
		pf_dest_write("stderr", msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

void pf_options_stats_unusable(const char *value, const char *otherwise)
{
	int saved = errno;
	const char *why = NULL;
	if (!strcmp(value, "") || (!strncmp(value, "fd:", 3) &&
				   (value[3] < '0' || value[3] > '9' || strspn(value + 3, "0123456789") != strlen(value + 3))))
		why = "not a path, stderr or fd:N";
	else if (strlen(value) >= sizeof pf_opt.stats_dest)
		why = "too long";
	else
		why = pf_dest_problem(value);
	stats_line(value, why ? why : otherwise);
	errno = saved;
}

/* True when the log is off or is stderr: stderr's line then stands for it. */
static bool log_is_stderr_or_off(void)
{
	return !pf_opt.log_dest[0] || !strcmp(pf_opt.log_dest, "stderr");
}

void pf_options_load(void)
{
	struct bad {
		const struct option_def *d;
		const char *v;
		bool abs_too_long;
		char why[160];
	} bad[NDEFS];
	size_t nbad = 0;
	struct parsed p;

	pf_log_configure(pf_opt.log_dest, &pf_opt.verbose);
	pf_opt.include_none = pf_opt.exclude_all = false;
	for (size_t i = 0; i < NDEFS; i++)
		set_default(&defs[i], false);
	/* Destinations first, so that a complaint about any other value has
	 * somewhere to go. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < NDEFS; i++) {
			const struct option_def *d = &defs[i];
			if ((d->kind == K_DEST) != (pass == 0))
				continue;
			const char *v = getenv(d->name);
			if (!v)
				continue;
			struct bad *b = &bad[nbad];
			const char *problem = NULL;
			if (parse(d, v, &p, b->why, sizeof b->why) == 0 &&
			    (d->kind != K_DEST || !(problem = pf_dest_problem(p.dest)))) {
				store(d, v, &p);
				continue;
			}
			if (problem)
				snprintf(b->why, sizeof b->why, "cannot be written: %s", problem);
			b->d = d;
			b->v = v;
			b->abs_too_long = d->kind == K_DEST && p.abs_too_long;
			nbad++;
			set_default(d, true);
		}
	}
	for (size_t i = 0; i < nbad; i++) {
		const struct bad *b = &bad[i];
		char q[72], instead[48];
		quoted(q, sizeof q, b->v);
		if (b->d->instead)
			snprintf(instead, sizeof instead, "%s", b->d->instead);
		else
			snprintf(instead, sizeof instead, "using the default '%s'", b->d->def);
		if (b->d->target == pf_opt.stats_dest) {
			/* A bad report destination is said on stderr in the
			 * report's words; the log is told too when that line
			 * does not stand for it. */
			if (b->abs_too_long)
				stats_line(q, b->why);
			else
				pf_options_stats_unusable(b->v, "cannot be written");
			if (!log_is_stderr_or_off())
				pf_log("%s='%s' is not valid: %s; %s", b->d->name, q, b->why, instead);
			continue;
		}
		pf_say("%s='%s' is not valid: %s; %s", b->d->name, q, b->why, instead);
	}
}

int pf_option_check(const char *name, const char *value, char *canon, size_t canon_size, char *why,
		    size_t why_size)
{
	const struct option_def *d = NULL;
	for (size_t i = 0; i < NDEFS; i++)
		if (!strcmp(defs[i].name, name))
			d = &defs[i];
	if (!d)
		return -2;
	struct parsed p;
	if (parse(d, value, &p, why, why_size))
		return -1;
	switch (d->kind) {
	case K_BOOL:
		snprintf(canon, canon_size, "%d", p.word);
		break;
	case K_DISCOVER:
		snprintf(canon, canon_size, "%s",
			 p.word == PF_DISCOVER_ON ? "1" : p.word == PF_DISCOVER_OFF ? "0" : "auto");
		break;
	case K_SIZE:
	case K_BUDGET:
	case K_UINT:
		/* As written, without leading zeros: "016" is never octal. */
		while (value[0] == '0' && isdigit((unsigned char)value[1]))
			value++;
		snprintf(canon, canon_size, "%s", value);
		break;
	case K_REMEMBER:
		snprintf(canon, canon_size, "%s", p.word == 2 ? p.dest : value);
		break;
	default:
		snprintf(canon, canon_size, "%s", value);
		break;
	}
	return 0;
}

/* Matches path against a list store() made of colon-separated patterns. */
static bool matches_any(const char *list, const char *path)
{
	for (const char *pat = list; *pat; pat += strlen(pat) + 1)
		if (fnmatch(pat, path, 0) == 0)
			return true;
	return false;
}

bool pf_options_path_allowed(const char *path, const char **why)
{
	if (pf_opt.include_none || (pf_opt.include[0] && !matches_any(pf_opt.include, path))) {
		*why = "not-included";
		return false;
	}
	if (pf_opt.exclude_all || (pf_opt.exclude[0] && matches_any(pf_opt.exclude, path))) {
		*why = "excluded";
		return false;
	}
	return true;
}
