/*
 * log.c - where prefault's words go: one-line messages on PREFAULT_LOG (and,
 * for a malformed setting only, on stderr), and pf_log's as warning records
 * through the sink the report registers.
 *
 * The log reads no setting itself: options.c, which logs its own
 * complaints, hands it PREFAULT_LOG and PREFAULT_VERBOSE (pf_log_configure)
 * before it says anything.  No lock: a line is one write(2) (dest.c); the
 * configuration and the sink are set before any thread of ours exists.
 */
#include "core/log.h"
#include "sys/dest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_dest = "";  /* the caller's: read at each message */
static const bool *log_verbose;    /* NULL: not verbose */
static void (*warning_sink)(const char *msg);

void pf_log_configure(const char *dest, const bool *verbose)
{
	log_dest = dest;
	log_verbose = verbose;
}

void pf_log_set_warning_sink(void (*sink)(const char *msg))
{
	warning_sink = sink;
}

enum level { NOTE, WARN, SAY };

static void vlog(enum level level, const char *fmt, va_list ap)
{
	bool say = level == SAY;
	bool log_is_stderr = !strcmp(log_dest, "stderr") || !strcmp(log_dest, "fd:2");
	if (level == NOTE && !(log_verbose && *log_verbose))
		return;
	if (!say && !log_dest[0] && (level == NOTE || !warning_sink))
		return;
	char msg[480], line[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	int n = snprintf(line, sizeof line, "prefault: %s\n", msg);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (len && len == sizeof line - 1)
		line[len - 1] = '\n';
	if (say && !log_is_stderr && len)
		pf_dest_write("stderr", line, len);
	if (log_dest[0] && len)
		pf_dest_write(log_dest, line, len);
	if (level != NOTE && warning_sink)
		warning_sink(msg);
}

void pf_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(NOTE, fmt, ap);
	va_end(ap);
}

void pf_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(WARN, fmt, ap);
	va_end(ap);
}

void pf_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(SAY, fmt, ap);
	va_end(ap);
}
