/* mkfile PATH SIZE - writes a pattern file (testlib.h), synced and evicted. */
#include "testlib.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkfile PATH SIZE\n");
		return 2;
	}
	tl_make_file(argv[1], tl_size(argv[2]));
	return 0;
}
