#!/usr/bin/env bats
# budget.bats - the budget is the most prefault holds at once (issue 14): what
# a mapping held comes back when it is unmapped, and what the kernel evicted
# when the budget is spent; a file mapped again reads only what is no longer
# in memory (also for a file the program may not write, where mincore cannot
# tell), and a file replaced by rename is a new file.  The program (tests/progs/rounds.c) waits for prefault's done record
# of each mapping, with a generous deadline, before it looks: behaviour
# only, never timing.

load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
	[ -x "$PROGS/rounds" ] || fail "$PROGS/rounds is missing: run make test-progs"
}

teardown() {
	if [ -n "${SHARED-}" ]; then
		rm -rf "$SHARED"
	fi
}

# rounds_run STATS BUDGET OP...: rounds under prefault with PREFAULT_BUDGET
# BUDGET, waiting for each mapping's done record in STATS.
rounds_run() {
	local stats="$1" budget="$2"
	shift 2
	PREFAULT_BUDGET="$budget" PREFAULT_STATS="$stats" \
		run --separate-stderr preloaded "$PROGS/rounds" -w "$stats" -d 120 "$@"
	show
	cat "$stats" || true
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stats_check "$stats"
}

# round N KEY: KEY of round N's line in $output.
round() {
	local v
	v="$(sed -n "s/^round=$1 .*\<$2=\([^ ]*\).*/\1/p" <<<"$output")"
	[ -n "$v" ] || fail "no $2 in round $1"
	printf '%s\n' "$v"
}

# whole N: round N's mapping was brought in whole before the program read it,
# read from disk (its file was cold): every page present, result complete,
# at least 90% of the mapping in bytes_in.
whole() {
	local pages present result bytes_in
	pages="$(round "$1" pages)" present="$(round "$1" present)"
	result="$(round "$1" result)" bytes_in="$(round "$1" bytes_in)"
	echo "round $1: present=$present/$pages result=$result bytes_in=$bytes_in"
	[ "$present" -eq "$pages" ]
	[ "$result" = complete ]
	[ "$bytes_in" -ge $((pages * 4096 * 9 / 10)) ]
}

# served_again N MAX: round N's mapping is whole (every page present, result
# complete) but read at most MAX bytes from disk.
served_again() {
	local pages present result bytes_in
	pages="$(round "$1" pages)" present="$(round "$1" present)"
	result="$(round "$1" result)" bytes_in="$(round "$1" bytes_in)"
	echo "round $1: present=$present/$pages result=$result bytes_in=$bytes_in (at most $2)"
	[ "$present" -eq "$pages" ]
	[ "$result" = complete ]
	[ "$bytes_in" -le "$2" ]
}

@test "PREFAULT_BUDGET=64M, ten cold 32 MiB files mapped, read and unmapped one after another: each is brought in whole, the budget comes back" {
	local stats files=() i budget=$((64 * MiB))
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	for i in 0 1 2 3 4 5 6 7 8 9; do
		files+=("$(big_file "r32-$i" 32M)")
	done
	rounds_run "$stats" 64M "${files[@]}"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		whole "$i"
	done
	# The proc records: never more held than the budget, and what the
	# unmapped files held given back (the last record comes after the last
	# munmap: nine files' worth at least).
	stats_eval "$stats" '[(r["brought_in"], r["held"], r["given_back"]) for r in R if r["ev"] == "proc"]'
	[ "$(stats_eval "$stats" 'all(r["held"] <= r["budget"] == '$budget' for r in R if r["ev"] == "proc")')" = True ]
	[ "$(stats_eval "$stats" '[r for r in R if r["ev"] == "proc"][-1]["given_back"]')" -ge $((9 * 30 * MiB)) ]
	[ "$(stats_eval "$stats" 'max(r["brought_in"] for r in R if r["ev"] == "proc")')" -ge $((10 * 30 * MiB)) ]
}

@test "a file mapped, served and unmapped, then half evicted and mapped again: only the evicted half is read, within a budget too small for both" {
	local f stats
	f="$(big_file r32-0 32M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	# 40M: the first mapping's 32M held for good would leave 8M for the
	# second's 16M.
	rounds_run "$stats" 40M "map:$f" "half:$f" "remap:$f"
	whole 1
	served_again 2 $((18 * MiB))
	[ "$(round 2 bytes_in)" -ge $((14 * MiB)) ]
	served_again 3 $((1 * MiB))
}

@test "what the kernel evicted is not held: a file paged out while still mapped leaves room for the next, within a budget too small for both" {
	local f g stats
	f="$(big_file r32-0 32M)"
	g="$(big_file r32-1 32M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	# 48M: the first mapping's 32M, counted held while it stays mapped,
	# would leave 16M for the second.  Two helpers: one may pick the new
	# mapping while the other measures.
	PREFAULT_THREADS=2 rounds_run "$stats" 48M "pageout:$f" "map:$g"
	# The program paged the first file out itself (MADV_PAGEOUT): nothing
	# of it is left in its page table.
	whole 1
	[ "$(round 1 present_after)" -le $(($(round 1 pages) / 10)) ]
	whole 2
	[ "$(stats_eval "$stats" 'all(r["held"] <= r["budget"] for r in R if r["ev"] == "proc")')" = True ]
}

@test "a file the program may not write (run as nobody): brought in whole, and mapped again it reads almost nothing" {
	local f stats
	[ "$(id -u)" -eq 0 ] || fail "this test needs root (setpriv to nobody)"
	# A directory nobody may use (bats' own are 0700), with the library,
	# the program and a file of root's in it, mode 0644.
	SHARED="$(mktemp -d /tmp/prefault-budget.XXXXXX)"
	chmod 755 "$SHARED"
	cp "$LIB" "$SHARED/libprefault.so"
	cp "$PROGS/rounds" "$SHARED/rounds"
	f="$SHARED/r32"
	"$PROGS/mkfile" "$f" 32M
	chmod 644 "$f"
	stats="$SHARED/stats.jsonl"
	touch "$stats"
	chmod 666 "$stats"
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -w "$f" &&
		fail "nobody may write $f: the test proves nothing"
	PREFAULT_BUDGET=64M run --separate-stderr \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env LD_PRELOAD="$SHARED/libprefault.so" PREFAULT_STATS="$stats" \
		"$SHARED/rounds" -w "$stats" -d 120 "map:$f" "remap:$f"
	show
	cat "$stats"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stats_check "$stats"
	# mincore reports every page of such a file resident: counted that
	# way, the first mapping was charged nothing (bytes_in 0) and read a
	# fault at a time.
	whole 1
	served_again 2 $((2 * MiB))
}

@test "a file replaced by rename is a new file: served whole, where the same file mapped again reads almost nothing" {
	local f g stats
	f="$(fresh_file r32-renamed 32M)"
	g="$(fresh_file r32-new 32M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	# 48M: the first mapping's 32M held for good would leave 16M for the
	# new file.
	rounds_run "$stats" 48M "map:$f" "remap:$f" "rename:$g:$f" "remap:$f"
	whole 1
	served_again 2 $((2 * MiB))
	[ "$(round 3 op)" = rename ]
	whole 4
	[ "$(stats_eval "$stats" '[r for r in R if r["ev"] == "proc"][-1]["given_back"]')" -ge $((60 * MiB)) ]
}
