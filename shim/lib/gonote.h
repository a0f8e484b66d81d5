/*
 * gonote.h - is this ELF object Go?  The one rule for it (gonote.c), used by
 * discovery (on the objects loaded in this process) and by prefault-check
 * (on a file on disk, before anything runs).
 *
 * Every Go binary, however it was linked (internal or external linker, PIE,
 * c-shared), carries Go's build-id note: owner "Go" (n_namesz 4, "Go\0\0"),
 * type 4, in a PT_NOTE segment.  An externally linked one also exports the
 * cgo runtime's entry points (x_cgo_init, _cgo_init); an internally linked
 * one (cgo only through net or os/user) does not.
 */
#ifndef PF_GONOTE_H
#define PF_GONOTE_H

#include <stdbool.h>
#include <stddef.h>

enum pf_go_seen {
	PF_GO_NO,       /* no Go code found */
	PF_GO_NOTE,     /* the program carries Go's build-id note */
	PF_GO_LIBRARY,  /* a library loaded with it does (c-shared) */
	PF_GO_CGO_SYM,  /* no note found, but the cgo runtime's symbols are there */
};

/* Does the content of one PT_NOTE segment (len bytes, notes aligned to
 * align: 4 or 8) hold Go's build-id note?  Reads only within [p, p+len). */
bool pf_go_note_in(const void *p, size_t len, size_t align);

/* This process: the program, then every object loaded with it, then the cgo
 * symbols.  Call once (dl_iterate_phdr, dlsym). */
enum pf_go_seen pf_go_detect(void);

/* "go-note", "go-library", "cgo-symbol" or "not-go". */
const char *pf_go_seen_name(enum pf_go_seen s);

/* The rule for discovery: PREFAULT_DISCOVER (mode, an enum
 * pf_discover_mode) forces it on or off; "auto" wants it where Go code was
 * seen; an inert library (enabled false) never.  *why: "go-note",
 * "go-library", "cgo-symbol", "not-go", "forced", "turned-off" or "inert". */
bool pf_go_discovery_wanted(bool enabled, int mode, enum pf_go_seen seen, const char **why);

#endif
