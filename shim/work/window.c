/*
 * window.c - the adaptive readahead window (see window.h).
 *
 * Only bytes that had to be read count towards the rate; time spent on
 * resident pages makes the estimate err low, which only makes the queue
 * shallower.  No lock: each helper thread owns its window.
 */
#include "work/window.h"
#include "sys/clock.h"

#define NS_PER_MS 1000000ll
#define MIN_WINDOW (512u * 1024u)

void pf_window_start(struct pf_window *w, size_t device_step, size_t max, size_t page,
		     unsigned target_ms)
{
	w->target_ms = target_ms;
	if (w->max == 0) {
		w->size = 4 * MIN_WINDOW;
		w->rate = 0;
	}
	w->max = max < MIN_WINDOW ? MIN_WINDOW : max;
	w->min = MIN_WINDOW;
	w->device_step = device_step < page ? page : device_step;
	if (w->size > w->max)
		w->size = w->max;
	w->acc_bytes = 0;
	w->acc_start_ns = pf_now_ns();
	w->fresh_end = w->retired = 0;
}

size_t pf_window_step(const struct pf_window *w, size_t page)
{
	size_t s = w->size / 2;
	if (s > w->device_step)
		s = w->device_step;
	s &= ~(page - 1);
	return s < page ? page : s;
}

bool pf_window_room(const struct pf_window *w, size_t ahead, size_t done)
{
	return ahead - done < w->size;
}

void pf_window_issued(struct pf_window *w, size_t end, bool fresh)
{
	if (fresh)
		w->fresh_end = end;
}

void pf_window_populated(struct pf_window *w, size_t done)
{
	if (done > w->retired && w->retired < w->fresh_end) {
		size_t upto = done < w->fresh_end ? done : w->fresh_end;
		w->acc_bytes += upto - w->retired;
	}
	if (done > w->retired)
		w->retired = done;
	int64_t now = pf_now_ns(), dt = now - w->acc_start_ns;
	if (dt < PF_RATE_PERIOD_MS * NS_PER_MS)
		return;
	if (w->acc_bytes) {
		double sample = (double)w->acc_bytes * 1e9 / (double)dt;
		w->rate = w->rate > 0 ? (3 * w->rate + sample) / 4 : sample;
		double want = w->rate * w->target_ms / 1000.0;
		w->size = want < (double)w->min ? w->min : want > (double)w->max ? w->max : (size_t)want;
	}
	w->acc_bytes = 0;
	w->acc_start_ns = now;
}
