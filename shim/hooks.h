/*
 * hooks.h - the hooks' one switch (hooks.c): until the constructor has
 * resolved libc and read the settings, every hook passes straight through.
 */
#ifndef PF_HOOKS_H
#define PF_HOOKS_H

void pf_hooks_set_ready(void);

#endif
