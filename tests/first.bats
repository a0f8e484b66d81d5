#!/usr/bin/env bats
# first.bats - the program's own reads first (issue 15): while the program
# takes major faults, prefault's helpers stand back (one small read in
# flight; not once it faults flat out, 2000 a second in a rate sampled
# every 200 ms, so a program's first faults are always stood back for),
# the helpers' reads wait in the disk's queue for the program's (idle I/O
# class), and the helpers' own faults are never taken for the program's.
# How long anything waits is the benchmarks' to report (tools/bench/run,
# tools/gobench/run); here only what prefault decided, from its proc record
# (io_stood_back: the looks that found the program waiting).

load test_helper

setup() {
	prefault_setup
	[ -x "$PROGS/racer" ] || fail "$PROGS/racer is missing: run make test-progs"
}

last_proc() {
	stats_eval "$1" "[r for r in R if r['ev'] == 'proc'][-1]$2"
}

@test "a program reading while prefault reads: its faults make the helper stand back" {
	local f stats="$BATS_TEST_TMPDIR/stats.jsonl"
	f="$(big_file first-256 256M)"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/racer" "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stats_check "$stats"
	[ "$(field helper_seen)" -eq 1 ]
	[ "$(field done_seen)" -eq 1 ]
	# The helper's reads are in the idle I/O class (IOPRIO_CLASS_IDLE).
	[ "$(field helper_ioclass)" = 3 ]
	# The program did wait on the disk while the helper worked ...
	[ "$(field majflt)" -gt 0 ]
	# ... and the helper saw it.
	echo "io_stood_back=$(last_proc "$stats" "['io_stood_back']")"
	[ "$(last_proc "$stats" "['io_stood_back'] > 0")" = True ]
}

@test "a program that waits while prefault reads: the helpers' own major faults are not the program's" {
	local f stats="$BATS_TEST_TMPDIR/stats.jsonl"
	f="$(big_file first-256 256M)"
	# Its binary and libraries in the page cache first: their faults, at
	# start, would be the program's own.
	"$PROGS/mapwatch" -s 0 "$f" >/dev/null
	"$PROGS/evict" "$f"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/mapwatch" -u done "$f"
	show
	[ "$status" -eq 0 ]
	[ "$(field wait_met)" -eq 1 ]
	stats_check "$stats"
	echo "program majflt=$(last_proc "$stats" "['program']['majflt']")," \
		"helpers majflt=$(last_proc "$stats" "['helpers']['majflt']")"
	[ "$(last_proc "$stats" "['program']['majflt']")" -eq 0 ]
	[ "$(last_proc "$stats" "['helpers']['majflt'] > 0")" = True ]
	[ "$(last_proc "$stats" "['io_stood_back']")" -eq 0 ]
}
