/*
 * admission.c - whether a new file mapping is tracked, and why not (see
 * admission.h).  No state, no lock.
 */
#include "core/admission.h"
#include "core/options.h"

const char *pf_admit_mapping(bool readable, bool special, size_t len, const char *path)
{
	const char *why = NULL;
	if (!readable)
		return "not-readable";
	if (special)
		return "special";
	if (len < pf_opt.min_size)
		return "too-small";
	if (!pf_options_path_allowed(path, &why))
		return why ? why : "excluded";
	return NULL;
}

bool pf_admit_refused_whatever_path(bool readable, bool special, size_t len,
				    const struct stat *st)
{
	return !readable || special || len < pf_opt.min_size || !st || !S_ISREG(st->st_mode);
}

const char *pf_admit_file(const struct stat *st, uint64_t ino, uint64_t offset, size_t page,
			  size_t *len)
{
	if (!st)
		return "not-readable";
	if (ino && (uint64_t)st->st_ino != ino)
		return "replaced";
	if (!S_ISREG(st->st_mode))
		return "not-regular";
	/* Past the end of the file there is nothing to read. */
	if (st->st_size < 0 || (uint64_t)st->st_size <= offset)
		return "too-small";
	uint64_t in_file = ((uint64_t)st->st_size - offset + page - 1) & ~((uint64_t)page - 1);
	size_t cut = in_file < *len ? (size_t)in_file : *len;
	if (cut < pf_opt.min_size)
		return "too-small";
	*len = cut;
	return NULL;
}
