#!/usr/bin/env bats
# pace.bats - under a cgroup's read limit, prefault reads the limit and
# paces its own reads beneath it, so that the limit's budget is left for the
# program's faults; a program that faults fast turns the pacing off.
# (What the pacing buys, the latency of the program's faults, is measured by
# `make bench`-style benchmarks, not here: see docs/design.md, "Under a cgroup's I/O
# limit".)

load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
}

teardown() {
	trace_cleanup
}

# limited BPS IOPS CMD...: CMD in a blkio group of its own with those read limits.
limited() {
	local bps=$1 iops=$2
	shift 2
	"$ROOT/tools/throttle" --quiet --bps "$bps" --iops "$iops" --dir "$(data_dir)" -- "$@"
}

last_proc() {
	stats_eval "$1" "[r for r in R if r['ev'] == 'proc'][-1]$2"
}

@test "under a cgroup read limit: the limit is read from the group, and prefault's reads wait their turn" {
	local f stats disk pages
	f="$(big_file f64 64M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	disk="$("$ROOT/tools/throttle" --which --dir "$(data_dir)" | cut -d' ' -f2)"

	# The pause lasts until the helper is done with the file, however long
	# the paced reads take.
	PREFAULT_STATS="$stats" run --separate-stderr limited 50M 500 \
		env LD_PRELOAD="$LIB" "$PROGS/mapwatch" -u done "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field wait_met)" -eq 1 ] || fail "no done record within the deadline"
	# Paced, the file still comes in.
	pages="$(field pages)"
	[ "$(num "$(field present)")" -ge $((pages * 9 / 10)) ]
	stats_check "$stats"
	[ "$(last_proc "$stats" "['io_limits']")" = \
		"[{'disk': '$disk', 'rbps': 52428800, 'riops': 500}]" ]
	# Helpers slept for their turn (on a disk faster than the limit, as any
	# is: how long they slept depends on how much faster, and is printed).
	echo "io_paced_ms=$(last_proc "$stats" "['io_paced_ms']") (64 MiB at 95% of 50 MiB/s: 1347 ms at least in all)"
	[ "$(last_proc "$stats" "['io_paced_ms'] > 0")" = True ]
	# Steps let through unpaced: a read that stalled 30 ms (a loaded
	# machine's doing as much as the limit's) turns pacing off for a second.
	echo "io_unpaced_steps=$(last_proc "$stats" "['io_unpaced_steps']")"

	# PREFAULT_PACE=0: the same limit read, no turn waited for.
	"$PROGS/evict" "$f"
	PREFAULT_PACE=0 PREFAULT_STATS="$stats.off" run --separate-stderr limited 50M 500 \
		env LD_PRELOAD="$LIB" "$PROGS/mapwatch" -u done "$f"
	show
	[ "$status" -eq 0 ]
	[ "$(field wait_met)" -eq 1 ] || fail "no done record within the deadline"
	[ "$(last_proc "$stats.off" "['io_paced_ms']")" = 0.0 ]
}

@test "under a cgroup read limit: a program faulting flat out turns the pacing off" {
	local f stats
	f="$(big_file f64 64M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"

	# MADV_RANDOM and a byte of every page from the start: a fault a page,
	# far above 20% of the 500 IOPS limit.
	PREFAULT_STATS="$stats" run --separate-stderr limited 50M 500 \
		env LD_PRELOAD="$LIB" "$PROGS/mapwatch" -R -r -s 0 "$f"
	show
	[ "$status" -eq 0 ]
	stats_check "$stats"
	[ "$(last_proc "$stats" "['io_unpaced_steps'] > 0")" = True ]
}

@test "under a cgroup read limit: a scan followed past the budget is paced too" {
	local f stats
	f="$(big_file f256 256M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"

	# 256 MiB scanned at ~50 MB/s (waiting at each MiB until the page 8 MiB
	# ahead is in, so that a slow machine does not outrun the follower) with
	# a 32 MiB budget: most of it is read by the front follower (follow.c),
	# paced at 95% of 100 MiB/s.  Measured here: 818-2290 ms of turns waited
	# (fewer when the scan runs slow); 0.0 in 4 runs with the follower's
	# reads unpaced.  How long is the disk's speed's business: printed.
	PREFAULT_BUDGET=32M PREFAULT_WINDOW=2M PREFAULT_STATS="$stats" \
		run --separate-stderr limited 100M 1000 \
		env LD_PRELOAD="$LIB" "$PROGS/ahead_scan" -m -w 80000 -W "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stats_check "$stats"
	[ "$(field t0_ahead_timeouts)" -eq 0 ]
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "ahead" and r["mode"] == "fronts")')" -ge 1 ]
	echo "io_paced_ms=$(last_proc "$stats" "['io_paced_ms']")"
	[ "$(last_proc "$stats" "['io_paced_ms'] > 0")" = True ]
	# Steps let through unpaced: a read that stalled 30 ms (a loaded
	# machine's doing as much as the limit's) turns pacing off for a second.
	echo "io_unpaced_steps=$(last_proc "$stats" "['io_unpaced_steps']")"
}

@test "under a cgroup read limit: while the program's own read is in flight, prefault adds no page" {
	local f other
	f="$(big_file f64 64M)"
	other="$(big_file other16 16M)"
	"$PROGS/evict" "$f"
	# Eight O_DIRECT reads of 1 MiB, one after another, no page fault: up
	# to 160 ms at 50 MiB/s (the throttle lets a slice's 5 MiB go at once).
	trace_start "$f" filemap/mm_filemap_add_to_page_cache
	run --separate-stderr limited 50M 500 env LD_PRELOAD="$LIB" "$PROGS/inflight" 1M 8 "$f" "$other"
	trace_stop
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field begun)" -eq 1 ] || fail "prefault never began to read the mapping"
	# Pages of the mapping a helper added before and during the program's
	# reads: one step may have been on its way when they began.  Only their
	# first 400 ms count: 500 ms into a wait prefault reads again (iolimit.c,
	# GIVE_WAY_NS), and on a disk slower than the limit the reads last longer.
	python3 - "$TRACED" "$(field read_start)" "$(field read_end)" <<'PY' ||
import re, sys
start, end = float(sys.argv[2]), float(sys.argv[3])
end = min(end, start + 0.4)
before = during = 0
when = []
for line in open(sys.argv[1]):
    m = re.match(r"\s*(\S+)-\d+\s+\[\d+\]\s+(?:\S+\s+)?([\d.]+):\s+mm_filemap_add_to_page_cache:.*order=(\d+)", line)
    if not m or not m.group(1).startswith("prefault-"):
        continue
    t, n = float(m.group(2)), 4096 << int(m.group(3))
    if t < start:
        before += n
    elif t <= end:
        during += n
        when.append("%.1f" % ((t - start) * 1e3))
print("the program read for %.1f ms; helpers added %d bytes before, %d during%s"
      % ((end - start) * 1e3, before, during,
         " (at ms %s)" % " ".join(sorted(set(when), key=float)) if when else ""))
sys.exit(0 if before >= 1 << 20 and during <= 256 << 10 else 1)
PY
		fail "a helper read while the program's read was in flight"
	# Then the file comes in.
	[ "$(field cached)" -eq "$(field pages)" ]
}
