/*
 * report.c - the JSON Lines report's writing (format: README, "Statistics
 * format"): records are written as they happen, never at exit only (Go
 * programs leave without running exit handlers).
 *
 * Bounds: past MAX_BYTES in one process, one warning says so and nothing
 * more is written.  A destination that cannot be written is reported once
 * on stderr (in options.c's words) and the report stops; the program runs
 * on.
 *
 * Strings: every string written is valid JSON and valid UTF-8
 * (pf_json_string_n): quotes, backslashes and control characters are
 * escaped, valid UTF-8 is written as it is, and a byte that is not part of
 * valid UTF-8 becomes U+FFFD.  Then, for a file name or an argument (paths,
 * "exe", "argv"), a sibling field NAME_hex holds the original bytes in hex,
 * so that the name can be had back exactly (README, "Statistics format").
 *
 * No lock: the byte count and the broken flag are atomics; each record is
 * one write.
 */
#include "core/report.h"
#include "core/options.h"
#include "sys/clock.h"
#include "sys/dest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_BYTES (256ull << 20)

static uint64_t written;                       /* atomic: bytes so far */
static int broken;                             /* atomic: 1 once a write failed */

bool pf_stats_enabled(void)
{
	return pf_opt.stats_dest[0] != '\0' && !__atomic_load_n(&broken, __ATOMIC_RELAXED);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when the byte
 * at p starts none: no overlong form, no surrogate, nothing past U+10FFFF. */
static size_t utf8_length(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t pf_json_string_n(char *buf, size_t size, const char *s, size_t n, bool *lossy)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	size_t o = 0;
	if (size < 3)
		return 0;
	buf[o++] = '"';
	while (p < end && o + 8 < size) {
		size_t k = utf8_length(p, (size_t)(end - p));
		if (k == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3); /* U+FFFD */
			o += 3;
			*lossy = true;
			p++;
		} else if (k > 1) {
			memcpy(buf + o, p, k);
			o += k;
			p += k;
		} else if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, "\\u%04x", *p++);
		} else {
			buf[o++] = (char)*p++;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return o;
}

size_t pf_json_string(char *buf, size_t size, const char *s)
{
	bool lossy = false;
	return pf_json_string_n(buf, size, s, strlen(s), &lossy);
}

size_t pf_json_hex(char *buf, size_t size, const char *s, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	if (size < 3)
		return 0;
	buf[o++] = '"';
	for (size_t i = 0; i < n && o + 3 < size; i++) {
		buf[o++] = digits[(unsigned char)s[i] >> 4];
		buf[o++] = digits[(unsigned char)s[i] & 15];
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return o;
}

size_t pf_json_name_field(char *buf, size_t size, const char *name, const char *s, size_t n)
{
	bool lossy = false;
	size_t o = (size_t)snprintf(buf, size, "\"%s\":", name);
	if (o >= size)
		return size ? size - 1 : 0;
	o += pf_json_string_n(buf + o, size - o, s, n, &lossy);
	if (lossy && o < size) {
		int k = snprintf(buf + o, size - o, ",\"%s_hex\":", name);
		if (k > 0 && (size_t)k < size - o)
			o += (size_t)k + pf_json_hex(buf + o + k, size - o - (size_t)k, s, n);
	}
	return o;
}

int pf_report_head(char *buf, size_t size, const char *ev, double t)
{
	return snprintf(buf, size, "{\"v\":2,\"ev\":\"%s\",\"t\":%.6f,\"pid\":%d", ev, t, (int)getpid());
}

void pf_report_emit(char *line, size_t n, size_t size)
{
	if (n + 2 >= size)
		n = size - 3;
	line[n++] = '}';
	line[n++] = '\n';
	uint64_t before = __atomic_fetch_add(&written, n, __ATOMIC_RELAXED);
	if (before >= MAX_BYTES)
		return;
	if (before + n > MAX_BYTES) {
		static const char cap[] = ",\"msg\":\"the report reached its size cap (256 MiB): nothing more is written\"}\n";
		char w[256];
		int h = pf_report_head(w, sizeof w, "warning", pf_now());
		memcpy(w + h, cap, sizeof cap);
		pf_dest_write(pf_opt.stats_dest, w, (size_t)h + sizeof cap - 1);
		return;
	}
	if (pf_dest_write(pf_opt.stats_dest, line, n) && !__atomic_exchange_n(&broken, 1, __ATOMIC_RELAXED))
		pf_options_stats_unusable(pf_opt.stats_dest, "a write failed");
}

void pf_stats_write_record(const char *ev, const char *fields)
{
	if (!pf_stats_enabled())
		return;
	char line[2048];
	size_t n = (size_t)pf_report_head(line, sizeof line, ev, pf_now());
	n += (size_t)snprintf(line + n, sizeof line - n, "%s", fields);
	pf_report_emit(line, n < sizeof line ? n : sizeof line - 1, sizeof line);
}

void pf_report_postfork_child(void)
{
	written = 0;
}
