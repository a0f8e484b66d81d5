/*
 * log.h - one-line messages (log.c); where they go is a destination
 * (sys/dest.h).  No lock.
 */
#ifndef PF_LOG_H
#define PF_LOG_H

#include <stdbool.h>

/* Where messages go, from options.c once it has read PREFAULT_LOG and
 * PREFAULT_VERBOSE and before it says anything: dest (a destination, ""
 * when silent) and *verbose are read at each message and stay the
 * caller's, so that emptying dest silences the log (tools/check does).
 * Until then the log is silent but for pf_say's line on stderr. */
void pf_log_configure(const char *dest, const bool *verbose);
/* Where pf_log's and pf_say's messages go as records: the report's warning
 * writer (core/events.c, registered by pf_stats_init), which says nothing
 * when PREFAULT_STATS is unset.  None until registered. */
void pf_log_set_warning_sink(void (*sink)(const char *msg));

/* Writes "prefault: <message>\n" to PREFAULT_LOG, and as a warning record to
 * PREFAULT_STATS; silent when neither is set. */
void pf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* What prefault decided, for a user who asked (PREFAULT_VERBOSE=1, the
 * wrapper's --verbose): on PREFAULT_LOG only, never as a record. */
void pf_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* pf_log, and the same line on stderr (once when PREFAULT_LOG is stderr):
 * only for what the user asked for and cannot have, a malformed setting.
 * Nothing else of prefault's reaches stderr unasked. */
void pf_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
