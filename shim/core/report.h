/*
 * report.h - the JSON Lines report's writing (report.c): the string rule
 * every record follows, the line of one record, the byte cap, and
 * PREFAULT_STATS as a destination (format: README, "Statistics format").
 *
 * What the records say is the callers': the event records (events.c), the
 * start, progress and proc records (work/stats.c), the rest through
 * pf_stats_write_record.  No lock: a record is one write (sys/dest.h), the
 * byte count and the broken flag are atomics.  Everything is a no-op when
 * PREFAULT_STATS is unset.
 */
#ifndef PF_REPORT_H
#define PF_REPORT_H

#include <stdbool.h>
#include <stddef.h>

/* A string of n bytes as JSON: each byte at most 6 characters ("\u001f"),
 * and the quotes; its _hex twin: 2 a byte and the quotes. */
#define PF_JSON_MAX(n) (6 * (n) + 3)
#define PF_HEX_MAX(n) (2 * (n) + 3)

/* PREFAULT_STATS is set and its destination has taken every write. */
bool pf_stats_enabled(void);

/* s as a JSON string (quotes included; at most 6 * strlen(s) + 3 bytes and
 * a NUL), by the rule every record follows: valid UTF-8 as it is, a byte
 * that is not as U+FFFD, controls escaped.  Returns its length.  For
 * prefault-check's JSON too. */
size_t pf_json_string(char *buf, size_t size, const char *s);
/* The n bytes at s, by the same rule (at most PF_JSON_MAX(n) characters and
 * a NUL); *lossy becomes true when a byte was not valid UTF-8. */
size_t pf_json_string_n(char *buf, size_t size, const char *s, size_t n, bool *lossy);
/* The n bytes at s as a JSON string of hex digits (PF_HEX_MAX(n)). */
size_t pf_json_hex(char *buf, size_t size, const char *s, size_t n);
/* "name":"s", and ,"name_hex":"..." when s is not valid UTF-8: a file
 * name, had back exactly from the record.  At most
 * PF_JSON_MAX(n) + PF_HEX_MAX(n) + 2 * strlen(name) + 10 characters. */
size_t pf_json_name_field(char *buf, size_t size, const char *name, const char *s, size_t n);

/* A record's first fields, {"v":2,"ev":ev,"t":t,"pid":...; returns their
 * length. */
int pf_report_head(char *buf, size_t size, const char *ev, double t);
/* Ends the record of n characters in line (size bytes) and writes it, while
 * the report is under its byte cap; a destination that fails is said once
 * on stderr and the report stops. */
void pf_report_emit(char *line, size_t n, size_t size);
/* A record of kind ev whose fields (",\"k\":v..." JSON, without the
 * braces) the caller formatted; prefault's own threads only. */
void pf_stats_write_record(const char *ev, const char *fields);

/* fork: the child's report starts its byte count anew. */
void pf_report_postfork_child(void);

#endif
