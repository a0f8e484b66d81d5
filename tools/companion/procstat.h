/*
 * procstat.h - the proc records' fault counts, from the companion's side
 * (procstat.c).
 */
#ifndef PFC_PROCSTAT_H
#define PFC_PROCSTAT_H

#include "work/stats.h"

/* The target and the processes followed with it as "program", the companion
 * as a whole as "helpers" (its helpers' own counts are the process's: the
 * library's pf_procstat_helper_exiting adds to a total nobody reads here).
 * main.c registers it as the statistics' read_faults. */
void pfc_procstat_read(struct pf_faults *program, struct pf_faults *helpers);

#endif
