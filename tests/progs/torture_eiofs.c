/*
 * torture_eiofs MOUNTPOINT [fuse options] - a FUSE file system (libfuse3,
 * built by tests/torture.mk) with one read-only file, /data, of 64 MiB whose
 * reads all fail with EIO, and one file /ok, 4 MiB of the test pattern.
 * Every read of /data is counted in /reads (a text file: the number).
 * Runs in the foreground until unmounted (fusermount3 -u MOUNTPOINT).
 */
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include "testlib.h"

#include <stdatomic.h>

#define DATA_SIZE (64ll << 20)
#define OK_SIZE (4ll << 20)

static atomic_long data_reads;

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof *st);
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else if (!strcmp(path, "/data") || !strcmp(path, "/ok") || !strcmp(path, "/reads")) {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = !strcmp(path, "/data") ? DATA_SIZE : !strcmp(path, "/ok") ? OK_SIZE : 32;
	} else {
		return -ENOENT;
	}
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, "/data") && strcmp(path, "/ok") && strcmp(path, "/reads"))
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	if (!strcmp(path, "/reads"))
		fi->direct_io = 1;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	if (!strcmp(path, "/data")) {
		data_reads++;
		return -EIO;
	}
	if (!strcmp(path, "/reads")) {
		char text[32];
		int n = snprintf(text, sizeof text, "%ld\n", (long)data_reads);

		if (off >= n)
			return 0;
		if (size > (size_t)(n - off))
			size = (size_t)(n - off);
		memcpy(buf, text + off, size);
		return (int)size;
	}
	if (off >= OK_SIZE)
		return 0;
	if (size > (size_t)(OK_SIZE - off))
		size = (size_t)(OK_SIZE - off);
	for (size_t i = 0; i < size; i++) {
		uint64_t o = (uint64_t)off + i, w = tl_word(o & ~7ull);

		buf[i] = (char)(w >> (8 * (o & 7)));
	}
	return (int)size;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off;
	(void)fi;
	(void)flags;
	if (strcmp(path, "/"))
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	fill(buf, "data", NULL, 0, 0);
	fill(buf, "ok", NULL, 0, 0);
	fill(buf, "reads", NULL, 0, 0);
	return 0;
}

static const struct fuse_operations ops = {
	.getattr = fs_getattr,
	.open = fs_open,
	.read = fs_read,
	.readdir = fs_readdir,
};

int main(int argc, char **argv)
{
	return fuse_main(argc, argv, &ops, NULL);
}
