/*
 * hooks.h - the hooks' one switch (hooks.c): until the constructor has
 * resolved libc and read the settings, every hook passes straight through;
 * and the mark of an exported hook (hooks.c, stdio_locks.c).
 */
#ifndef PF_HOOKS_H
#define PF_HOOKS_H

#include <stdbool.h>

/* A symbol the library exports (everything else is hidden). */
#define PF_EXPORT __attribute__((visibility("default")))

void pf_hooks_set_ready(void);
/* True while the calling thread is inside a hook's bookkeeping, where it may
 * hold prefault's locks (a signal handler that forks lands here). */
bool pf_in_hook(void);

#endif
