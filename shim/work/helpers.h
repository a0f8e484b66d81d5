/*
 * helpers.h - prefault's helper threads (helpers.c): started when there is
 * work, each running the engine (engine.h) until it has none; and the
 * registry of prefault's own thread ids.
 */
#ifndef PF_HELPERS_H
#define PF_HELPERS_H

#include <stdbool.h>

/* There is new work: start the helpers if none runs, or wake them.  Never
 * waits for a helper; safe to call from a hook. */
void pf_helpers_wake(void);
/* True on the helper threads (and on discovery's thread). */
bool pf_is_helper_thread(void);
/* Registers the calling thread as one of prefault's own (its faults count as
 * the helpers'), or unregisters it before it exits. */
void pf_helper_register(void);
void pf_helper_unregister(void);
/* True when tid is one of prefault's threads (procstat.c). */
bool pf_helper_tid_known(int tid);

/* fork (init.c): helpers_lock is taken before and released after; the
 * child makes it and the condition variable anew and forgets the helpers
 * it does not have (the next pf_helpers_wake starts its own). */
void pf_helpers_prefork(void);
void pf_helpers_postfork_parent(void);
void pf_helpers_postfork_child(void);

#endif
