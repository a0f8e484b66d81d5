/*
 * resident PATH - prints resident=BYTES, how much of the file is in the page
 * cache.  mincore reports the page cache truthfully only for a file the
 * caller may write, so the file is opened read-write (run as root or owner).
 */
#include "testlib.h"

int main(int argc, char **argv)
{
	size_t page = tl_page(), resident = 0;
	struct stat st;
	unsigned char *vec;
	void *p;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: resident PATH\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0)
		tl_die("open %s read-write (mincore needs write access)", argv[1]);
	if (fstat(fd, &st) != 0)
		tl_die("fstat");
	if (st.st_size == 0) {
		printf("resident=0\n");
		return 0;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		tl_die("mmap");
	vec = malloc(((size_t)st.st_size + page - 1) / page);
	if (!vec || mincore(p, (size_t)st.st_size, vec) != 0)
		tl_die("mincore");
	for (size_t i = 0; i < ((size_t)st.st_size + page - 1) / page; i++)
		if (vec[i] & 1)
			resident += page;
	printf("resident=%zu\n", resident);
	return 0;
}
