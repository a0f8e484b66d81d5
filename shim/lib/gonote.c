/*
 * gonote.c - finds Go code in an ELF object from its build-id note, and in
 * this process from the objects it loaded (see gonote.h).
 *
 * No lock, no state: pf_go_detect() runs once, from the constructor.
 */
#include "lib/gonote.h"
#include "core/options.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#define GO_NOTE_TYPE 4 /* Go's ELF_NOTE_GOBUILDID_TAG */

static size_t align_up(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

bool pf_go_note_in(const void *p, size_t len, size_t align)
{
	const unsigned char *at = p, *end = at + len;
	if (align != 8)
		align = 4;
	while ((size_t)(end - at) >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh; /* Elf32_Nhdr and Elf64_Nhdr are the same */
		memcpy(&nh, at, sizeof nh);
		const unsigned char *name = at + sizeof nh;
		size_t left = (size_t)(end - name);
		/* "Go\0\0" with n_namesz 4 is what Go writes; 3 ("Go\0") is
		 * what the ELF rules would have it write. */
		if ((nh.n_namesz == 3 || nh.n_namesz == 4) && nh.n_type == GO_NOTE_TYPE &&
		    left >= nh.n_namesz && memcmp(name, "Go", 3) == 0)
			return true;
		if (nh.n_namesz > left || nh.n_descsz > left)
			break;
		size_t adv = sizeof nh + align_up(nh.n_namesz, align) + align_up(nh.n_descsz, align);
		if (adv > (size_t)(end - at))
			break;
		at += adv;
	}
	return false;
}

static bool object_has_note(const struct dl_phdr_info *info)
{
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_NOTE &&
		    pf_go_note_in((const void *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz,
				  ph->p_align))
			return true;
	}
	return false;
}

struct walk {
	int index;
	enum pf_go_seen seen;
};

static int object_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct walk *w = data;
	(void)size;
	/* The first object is the program itself; the vDSO has no path. */
	if (object_has_note(info)) {
		w->seen = w->index == 0 ? PF_GO_NOTE : PF_GO_LIBRARY;
		return 1;
	}
	w->index++;
	return 0;
}

enum pf_go_seen pf_go_detect(void)
{
	struct walk w = { 0, PF_GO_NO };
	dl_iterate_phdr(object_cb, &w);
	if (w.seen != PF_GO_NO)
		return w.seen;
	if (dlsym(RTLD_DEFAULT, "x_cgo_init") || dlsym(RTLD_DEFAULT, "_cgo_init"))
		return PF_GO_CGO_SYM;
	return PF_GO_NO;
}

const char *pf_go_seen_name(enum pf_go_seen s)
{
	switch (s) {
	case PF_GO_NOTE: return "go-note";
	case PF_GO_LIBRARY: return "go-library";
	case PF_GO_CGO_SYM: return "cgo-symbol";
	default: return "not-go";
	}
}

bool pf_go_discovery_wanted(bool enabled, int mode, enum pf_go_seen seen, const char **why)
{
	if (!enabled) {
		*why = "inert";
		return false;
	}
	if (mode == PF_DISCOVER_ON) {
		*why = "forced";
		return true;
	}
	if (mode == PF_DISCOVER_OFF) {
		*why = "turned-off";
		return false;
	}
	*why = pf_go_seen_name(seen);
	return seen != PF_GO_NO;
}
