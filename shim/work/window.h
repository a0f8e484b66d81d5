/*
 * window.h - how much readahead a helper keeps in flight (window.c).
 *
 * The window adapts so that a read queued behind prefault's own waits about
 * the queue target (pf_iolimit_queue_ms: PF_QUEUE_TARGET_MS on a disk
 * without a read limit): the rate at which reads complete is measured over
 * PF_RATE_PERIOD_MS periods (smoothed), and the window is what that rate
 * delivers in the target time.  A fast disk gets a deep queue, a slow one a
 * shallow queue; a window too small to show the disk's rate still grows,
 * because then reads complete faster than the target.  PREFAULT_WINDOW is
 * the ceiling.  One per helper thread: no lock.
 */
#ifndef PF_WINDOW_H
#define PF_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PF_QUEUE_TARGET_MS 2
#define PF_RATE_PERIOD_MS 50

struct pf_window {
	size_t size;        /* bytes allowed in flight now */
	unsigned target_ms; /* the queue target */
	size_t min, max;
	size_t device_step; /* the most one WILLNEED reads on this device */
	double rate;        /* smoothed bytes per second read, 0 before a sample */
	uint64_t acc_bytes; /* read in the current period */
	int64_t acc_start_ns;
	size_t fresh_end;   /* steps with pages to read end before this offset */
	size_t retired;     /* population has reached this offset */
};

/* Sets a helper's window up the first time (w->max == 0), and for each
 * slice: the size and rate learnt carry over. */
void pf_window_start(struct pf_window *w, size_t device_step, size_t max, size_t page,
		     unsigned target_ms);
/* The next step's length: at most half the window, at most a device step. */
size_t pf_window_step(const struct pf_window *w, size_t page);
/* May another step be issued with [done, ahead) in flight? */
bool pf_window_room(const struct pf_window *w, size_t ahead, size_t done);
/* A step ending at end was issued; fresh when it had pages to read. */
void pf_window_issued(struct pf_window *w, size_t end, bool fresh);
/* Population has reached offset done: count what was read, adapt. */
void pf_window_populated(struct pf_window *w, size_t done);

#endif
