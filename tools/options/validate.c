/*
 * validate.c - prefault-options: reads values as the library reads its
 * PREFAULT_* variables, with the library's own parser (shim/core/options.c,
 * pf_option_check), so that the wrapper (tools/prefault) takes exactly the
 * words the library takes and says the same reason for a bad one.
 *
 *   prefault-options NAME VALUE [NAME VALUE...]
 *
 * For each pair, in order, one record on stdout ended by a NUL (a value may
 * hold a newline): "=CANONICAL" when the library takes VALUE for NAME
 * (CANONICAL is what the wrapper exports: VALUE as written, "016" without
 * its zero, --discover's on/off as 1/0), "!REASON" when it does not.  Exit
 * status: 0 when every value is taken, 1 when one is not, 2 for a usage
 * error (an odd count, a NAME that is no setting).  Opens nothing: a
 * destination's form is checked, not whether it can be written.
 *
 * Links options.o, log.o and dest.o only.
 */
#include "core/options.h"

#include <stdio.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: prefault-options NAME VALUE [NAME VALUE...]\n"
			"Checks PREFAULT_* values with the library's parser: a NUL-ended record a pair,\n"
			"=CANONICAL or !REASON; exit 0 when all are taken, 1 when one is not.\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc % 2 == 0)
		return usage();
	int status = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		char canon[2048], why[256];
		int rc = pf_option_check(argv[i], argv[i + 1], canon, sizeof canon, why, sizeof why);
		if (rc == -2) {
			fprintf(stderr, "prefault-options: %s is no setting\n", argv[i]);
			return 2;
		}
		if (rc == 0) {
			printf("=%s%c", canon, '\0');
		} else {
			printf("!%s%c", why, '\0');
			status = 1;
		}
	}
	return fflush(stdout) == 0 ? status : 2;
}
