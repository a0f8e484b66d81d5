/*
 * engine.h - what to bring in, when, and the helper threads that do it
 * (engine.c, helpers.c).
 *
 * Sources of mappings (hooks, discovery) put entries in the table and call
 * pf_engine_wake().  Helpers pick chunks fairly across mappings, step
 * MADV_WILLNEED a bounded window ahead and MADV_POPULATE_READ behind it,
 * and stop at the budget.
 */
#ifndef PF_ENGINE_H
#define PF_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

/* There is new work: start the helpers if none runs, or wake them.  Never
 * waits for a helper; safe to call from a hook. */
void pf_engine_wake(void);
/* True on the helper threads (and on discovery's thread). */
bool pf_is_helper_thread(void);
/* Registers the calling thread as one of prefault's own (its faults count as
 * the helpers'), or unregisters it before it exits. */
void pf_helper_register(void);
void pf_helper_unregister(void);
/* fork: the child has no helpers; forget them. */
void pf_engine_after_fork_child(void);

#endif
