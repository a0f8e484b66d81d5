/*
 * progwait.h - is the program waiting on the disk right now? (progwait.c)
 *
 * The program's own major faults and reads from storage (the process's,
 * less those of prefault's helpers) are looked at by each helper before it
 * issues a read.  While they rise, for PF_PROGWAIT_QUIET_MS after the last
 * rise, and while a read it submitted has not ended (progwait.c), the
 * program is "waiting": where no read limit applies, prefault's reads
 * stand back (pf_iolimit_stand_back: iolimit.c shrinks each read to
 * PF_PROGWAIT_STEP, engine.c keeps at most one in flight), so that a fault
 * of the program's queues behind one small read at most; not while it
 * faults flat out (iolimit.c's hungry rule).
 */
#ifndef PF_PROGWAIT_H
#define PF_PROGWAIT_H

#include <stdint.h>

#define PF_PROGWAIT_QUIET_MS 20
#define PF_PROGWAIT_STEP (256u * 1024u)

/* While the program takes major faults (or did within
 * PF_PROGWAIT_QUIET_MS), how long it has been at it (ns, at least 1);
 * 0 otherwise.  Called by helpers only: the caller's own major faults
 * since its last call are folded into prefault's first. */
int64_t pf_progwait_waiting_ns(void);

/* The program's wait as the last look (pf_progwait_waiting_ns) saw it: its
 * length so far (ns; 0: not waiting), and in *faults the program's major
 * faults since the wait's first look.  Any thread; no look of its own. */
int64_t pf_progwait_last_spell(uint64_t *faults);

/* The calling helper's read_bytes (pf_thread_read_bytes) just read, right
 * after a read of its own: counted as prefault's at once, so another
 * helper's look does not take it for the program's.  -1: ignored. */
void pf_progwait_own_read(int64_t thread_read_bytes);

/* The program's major faults so far (the process's less the helpers'),
 * the caller's own folded in first.  Helpers only. */
uint64_t pf_progwait_program_majflt(void);

#endif
