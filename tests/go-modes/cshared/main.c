/*
 * cshared FILE - a C program whose work is done by Go: it calls ColdRead
 * from libgocold.so (golib/, -buildmode=c-shared), found through its rpath.
 * The Go runtime starts as that library loads, before main.
 */
#include <stdio.h>

#include "libgocold.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: cshared FILE\n");
		return 1;
	}
	printf("c_main=1\n");
	fflush(stdout);
	return ColdRead(argv[1]);
}
