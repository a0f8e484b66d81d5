/*
 * stdio_locks.h - glibc's lock-free stdio kept for a program with one
 * thread of its own (stdio_locks.c, library only).
 */
#ifndef PF_STDIO_LOCKS_H
#define PF_STDIO_LOCKS_H

/* Called on the program's one thread right after prefault's first thread
 * started (init.c registers it: pf_thread_set_first_hook). */
void pf_stdio_first_thread(void);

/* "fast" while the program's streams go unlocked thanks to prefault,
 * "locked" once handed back to glibc, "glibc" when never touched. */
const char *pf_stdio_state(void);

#endif
