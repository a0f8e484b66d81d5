/* evict PATH... - drops the files' pages from the page cache. */
#include "testlib.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		tl_evict(argv[i]);
	return 0;
}
