#!/usr/bin/env bats
# ahead.bats - the moving window (issue 8): a mapping larger than the budget
# is followed.  Behaviour only, never timing: pages ahead of each front are
# in memory before the program reaches them, the file's residency stays
# within the budget plus the window while it is scanned, two fronts are both
# served (the second from its second MiB on), random access stays within the
# budget and nothing is released under it.  The scans spin 40 us a page (~100 MB/s), and
# at each MiB wait (ahead_scan -W) until the page 8 MiB on is in memory, for as long as
# prefault brings pages of those 8 MiB in (at most 60 s): however slow the disk or the
# machine, a follower that reads ahead is never outrun, and one that does not leaves the
# scan to read on its own, which shows as misses.  How far ahead prefault stays unaided
# (pages found there at first look, time blocked) is the benchmark's (make bench-ahead);
# here it is printed.

load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
	[ -x "$PROGS/ahead_scan" ] || fail "$PROGS/ahead_scan is missing: run make test-progs"
}

BUDGET=$((32 * MiB))
WINDOW=$((2 * MiB))

# scan_run ARGS...: ahead_scan under prefault with a 32M budget on a cold
# 256 MiB file; statistics in $stats.
scan_run() {
	local f
	f="$(big_file f256 256M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	PREFAULT_BUDGET=32M PREFAULT_WINDOW=2M PREFAULT_STATS="$stats" \
		run --separate-stderr preloaded "$PROGS/ahead_scan" -m "$@" "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stats_check "$stats"
}

# served I: thread I found at least 90% of the pages it checked already in
# memory (the first few MiB of a scan come before its front is seen); at the
# 1 MiB marks where it waited for the page 8 MiB ahead, prefault brought it
# in (no wait ran out while pages kept coming), and at most 2 were left
# unserved, nothing coming in for 3 s (a front lost among chunks the kernel
# mapped whole, docs/design.md's limit; without front-following, dozens are).
served() {
	local missed ahead
	missed="$(field "t$1_missed")"
	ahead="$(field "t$1_ahead")"
	echo "thread $1: missed=$missed; 8 MiB ahead at first look: $ahead," \
		"waited at $(field "t$1_ahead_waits") marks, $(field "t$1_ahead_wait_ms") ms," \
		"$(field "t$1_ahead_unserved") left unserved"
	[ "$(field "t$1_ahead_timeouts")" -eq 0 ] ||
		fail "thread $1: the page 8 MiB ahead did not come in within the deadline"
	[ "$(field "t$1_ahead_unserved")" -le 2 ] ||
		fail "thread $1: prefault did not read ahead of it at $(field "t$1_ahead_unserved") marks"
	[ "$(num "$missed")" -le $(($(den "$missed") / 10)) ]
}

# within_budget FRONTS: the file's residency, sampled every 20 ms while the
# scan ran, never above (budget + window) + 10%, plus for each front what is
# not prefault's: the kernel's own readahead for the program (read_ahead_kb
# of the test disk: 8 MiB on these VMs) and the 2 MiB kept behind it, 12 MiB
# once the follower went blind (4 or more blind chunks: docs/design.md, "Larger than the budget": limits).
# Where blind chunks made the follower lose the front for good (its last
# record not in "fronts" mode), docs/design.md's limit says residency is not bounded:
# that is said and the bound left out.  Seen once in ~70 runs here (82 blind
# chunks, 168 MiB resident, as plain's reads leave it); prefault's own
# holding stays checked by the callers (held <= budget).
within_budget() {
	local max disk ra keep limit
	max="$(field max_resident)"
	disk="$("$ROOT/tools/throttle" --which --dir "$(data_dir)" | cut -d' ' -f1)"
	ra=$(($(cat "/sys/block/$disk/queue/read_ahead_kb") * 1024))
	keep=$((2 * MiB))
	# What the follower said of its drops: mode, drop, [pageouts ok, failed], blind, dropped.
	stats_eval "$stats" '[(r["mode"], r["drop"], r["pageout"], r["blind"], r["dropped"]) for r in R if r["ev"] == "ahead"][-3:]' || true
	if [ "$(stats_eval "$stats" 'max([r["blind"] for r in R if r["ev"] == "ahead"] + [0]) >= 4')" = True ]; then
		keep=$((12 * MiB))
		if [ "$(stats_eval "$stats" '[r["mode"] for r in R if r["ev"] == "ahead"][-1] != "fronts"')" = True ]; then
			echo "max_resident=$max: the front was lost among blind chunks (docs/design.md, "Larger than the budget"); no bound" >&3
			return 0
		fi
	fi
	limit=$(((BUDGET + WINDOW) * 110 / 100 + $1 * (ra + keep)))
	echo "max_resident=$max limit=$limit (read_ahead_kb of $disk: $((ra / 1024)), kept behind: $((keep / MiB)) MiB)"
	[ "$max" -le "$limit" ]
}

@test "a scan of a mapping 8x the budget: pages ahead present, residency within budget+window, fronts in the stats" {
	scan_run -w 40000 -W
	served 0
	within_budget 1
	cat "$stats" | grep -E '"ev":"(ahead|done)"'
	# The ahead records show one front that prefault stayed ahead of.
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "ahead" and r["mode"] == "fronts" and len(r["fronts"]) >= 1)')" -ge 1 ]
	[ "$(stats_eval "$stats" 'max(f["min_lead"] for r in R if r["ev"] == "ahead" for f in r["fronts"]) > 0')" = True ]
	[ "$(stats_eval "$stats" 'all(r["held"] <= '$((BUDGET * 110 / 100))' for r in R if r["ev"] == "ahead")')" = True ]
	# What it passed was released: far more came in than the budget.
	[ "$(stats_eval "$stats" 'max(r["dropped"] for r in R if r["ev"] == "ahead")')" -ge $((64 * MiB)) ]
	# done: "budget" when the whole-mapping start stopped there before the
	# front showed, "complete" once the front was through (if seen before exit).
	[ "$(stats_eval "$stats" 'all(r["result"] in ("budget", "complete") for r in R if r["ev"] == "done")')" = True ]
}

@test "the same scan on a mapping hinted MADV_RANDOM is followed too" {
	scan_run -R -w 40000 -W
	served 0
	within_budget 1
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "ahead" and r["mode"] == "fronts")')" -ge 1 ]
}

@test "two threads scanning the two halves (MADV_RANDOM): both fronts served, residency within budget+window" {
	# MADV_RANDOM, as a bbolt or LMDB cursor: the second thread starts in
	# a part prefault has not read, and without the hint the kernel's own
	# readahead there (read_ahead_kb 8 MiB on these VMs) builds 2 MiB folios
	# that the kernel maps whole, sentinels included, so prefault cannot see
	# that front reliably (docs/design.md, "Larger than the budget": limits).  The
	# second starts once the first is 16 MiB in (its front seen: -S).
	scan_run -R -t 2 -S 16M -w 40000 -W
	served 0
	served 1
	within_budget 2
	[ "$(stats_eval "$stats" 'max(len(r["fronts"]) for r in R if r["ev"] == "ahead")')" -ge 2 ]
}

@test "two threads scanning the two halves: the second front is served from its second MiB on" {
	# The second thread starts where prefault has read nothing.  Its front
	# is a candidate from its first touched chunk and is served (with the
	# rest of that chunk) while the thread waits at its marks, so it reads
	# on its own only the start of its part, on a machine of any speed.
	# How soon the candidate is served is a latency, the benchmark's: it is
	# printed (time blocked in the first 16 MiB).  Unwaited, at 100 MB/s, a
	# front seen only after a run of chunks left the thread several MiB of
	# its own reading here (80-96 of these 256 checks missed).
	local missed t
	scan_run -R -t 2 -S 16M -w 40000 -W
	served 0
	served 1
	for t in 0 1; do
		missed="$(field "t${t}_early_missed")"
		echo "thread $t, first 16 MiB: missed=$missed, blocked $(field "t${t}_early_blocked_ms") ms" \
			"(how soon a front is served is the benchmark's: make bench-ahead)"
		[ "$(den "$missed")" -eq 256 ]
		# At most its first MiB (16 checks) missing.
		[ "$(num "$missed")" -le 16 ]
	done
}

@test "random reads over a mapping 8x the budget: no fronts, prefault holds no more than the budget and releases nothing" {
	local f
	# MADV_RANDOM: the program's own faults read one page each, so what is
	# resident beyond the budget is the program's 2000 pages at most.  The
	# reads begin once the whole-mapping start has stopped at the budget
	# (its done record, -D), however long that takes.
	scan_run -R -x 2000 -D
	[ "$(field done_waited)" -eq 1 ] || fail "no done record within the deadline"
	[ "$(field max_resident)" -le $((BUDGET * 110 / 100 + 2000 * 4096 + WINDOW)) ]
	cat "$stats" | grep -E '"ev":"(ahead|done)"' || true
	[ "$(stats_eval "$stats" 'max([r["brought_in"] for r in R if r["ev"] == "proc"])')" -le $((BUDGET * 110 / 100)) ]
	[ "$(stats_eval "$stats" 'sum(r["dropped"] for r in R if r["ev"] == "ahead")')" -eq 0 ]
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "ahead" and r["mode"] == "fronts")')" -eq 0 ]
	[ "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done"]')" = "['budget']" ]
}

@test "memory pressure: in a 128 MiB memory cgroup with PREFAULT_BUDGET=1G the scan is served and the cgroup never hits its limit" {
	local f cg=/sys/fs/cgroup/memory/prefault-ahead-$$ limit=$((128 * MiB))
	[ -d /sys/fs/cgroup/memory ] || fail "cgroup v1 memory is not mounted (/sys/fs/cgroup/memory)"
	f="$(big_file f256 256M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	mkdir "$cg"
	echo "$limit" >"$cg/memory.limit_in_bytes"
	# The budget alone would let prefault fill the cgroup: what holds it back
	# is the cgroup's headroom, re-read as it reads ahead.
	PREFAULT_BUDGET=1G PREFAULT_STATS="$stats" run --separate-stderr \
		sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" \
		env LD_PRELOAD="$LIB" "$PROGS/ahead_scan" -w 40000 -W "$f"
	local failcnt max_usage
	failcnt="$(cat "$cg/memory.failcnt")"
	max_usage="$(cat "$cg/memory.max_usage_in_bytes")"
	echo 0 >"$cg/memory.force_empty" || true
	rmdir "$cg"
	show
	echo "failcnt=$failcnt max_usage=$max_usage limit=$limit"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	served 0
	[ "$failcnt" -eq 0 ]
	stats_check "$stats"
	grep '"ev":"ahead"' "$stats"
	[ "$(stats_eval "$stats" 'max(r["dropped"] for r in R if r["ev"] == "ahead")')" -ge $((64 * MiB)) ]
	[ "$(stats_eval "$stats" 'max(r["held"] for r in R if r["ev"] == "ahead")')" -le "$limit" ]
}
