/*
 * threads.h - starting prefault's own threads (threads.c).
 */
#ifndef PF_THREADS_H
#define PF_THREADS_H

#include <stdbool.h>
#include <stddef.h>

/* Starts fn(arg) on a detached thread with `stack` bytes of stack and every
 * signal blocked; returns pthread_create's result.  errno is left as it was. */
int pf_thread_start(void *(*fn)(void *), void *arg, size_t stack);

/* hook runs on the creating thread right after pf_thread_start started the
 * process's first thread besides its own; set once, before any thread. */
void pf_thread_set_first_hook(void (*hook)(void));

/* True on the thread inside pf_thread_start's pthread_create call. */
extern __thread bool pf_own_thread_starting;

#endif
