#!/usr/bin/env bats
# core-interface.bats - what prefault shows the outside: exported symbols,
# the statistics, silence by default, malformed settings (said on stderr:
# the user set them; more in settings.bats).

load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
}

@test "the library exports exactly its hooks: mmap and kin, and the stdio ones" {
	run --separate-stderr nm -D --defined-only "$LIB"
	show
	[ "$status" -eq 0 ]
	# Lines are "ADDRESS TYPE NAME"; a version node would show as type A.
	[ "$(awk '{ print $NF }' <<<"$output" | sed 's/@.*//' | sort | tr '\n' ' ')" = \
		"aio_fsync aio_fsync64 aio_read aio_read64 aio_write aio_write64 fdopen fopen fopen64 fopencookie freopen freopen64 getaddrinfo_a lio_listio lio_listio64 mmap mmap64 mq_notify mremap munmap open_memstream open_wmemstream popen pthread_create thrd_create timer_create tmpfile tmpfile64 " ]
	[ "$(awk '{ print $2 }' <<<"$output" | sort -u | tr '\n' ' ')" = "T " ]
}

@test "PREFAULT_STATS=path with %p: JSON Lines with start, map, done and proc records" {
	local f dir stats pid
	f="$(big_file f64 64M)"
	dir="$BATS_TEST_TMPDIR/stats"
	mkdir "$dir"

	# The pause lasts until the helper is done with the file.
	PREFAULT_STATS="$dir/prefault.%p.jsonl" \
		run --separate-stderr preloaded "$PROGS/mapwatch" -p -u done "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field wait_met)" -eq 1 ] || fail "no done record within the deadline"
	pid="$(field pid)"
	stats="$dir/prefault.$pid.jsonl"
	ls -l "$dir"
	# One file, named with the pid.
	[ "$(ls "$dir")" = "prefault.$pid.jsonl" ]
	cat "$stats"
	python3 -c 'import json,sys;[json.loads(l) for l in sys.stdin]' <"$stats"
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'set(r["pid"] for r in R)')" = "{$pid}" ]
	# start comes first, once, and says prefault is active.
	[ "$(stats_eval "$stats" '[r["ev"] for r in R][:1] == ["start"] and sum(r["ev"] == "start" for r in R) == 1')" = True ]
	[ "$(stats_eval "$stats" 'R[0]["active"]')" = True ]
	# The mapping: path and length right, seen by the hook.
	[ "$(stats_eval "$stats" '[(r["path"], r["len"], r["offset"], r["source"]) for r in R if r["ev"] == "map"]')" = \
		"[('$(realpath "$f")', $((64 * MiB)), 0, 'hook')]" ]
	# The helper finished it, reading from disk (the file was cold).
	[ "$(stats_eval "$stats" '[(r["id"], r["path"], r["len"], r["result"], r["bytes_in"] > 0) for r in R if r["ev"] == "done"] == [(m["id"], m["path"], m["len"], "complete", True) for m in R if m["ev"] == "map"]')" = True ]
	# proc records: the program's and the helpers' counters.
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "proc")')" -ge 1 ]
	[ "$(stats_eval "$stats" 'max(r["helpers"]["majflt"] + r["helpers"]["minflt"] for r in R if r["ev"] == "proc")')" -gt 0 ]
	[ "$(stats_eval "$stats" 'max(r["brought_in"] for r in R if r["ev"] == "proc")')" -gt 0 ]
	# Timestamps are seconds since the epoch (within an hour of now, however
	# long the run took: a monotonic clock's would be off by decades).
	[ "$(stats_eval "$stats" 'all(abs(r["t"] - __import__("time").time()) < 3600 for r in R)')" = True ]
}

@test "silent by default: with PREFAULT_STATS and PREFAULT_LOG unset, stdout and stderr are the program's own, byte for byte" {
	local f dir
	f="$(big_file f64 64M)"
	dir="$BATS_TEST_TMPDIR"

	"$PROGS/catmap" "$f" "$dir/plain.report" >"$dir/plain.out" 2>"$dir/plain.err"
	"$PROGS/evict" "$f"
	# (Preloaded, the wait lasts until a helper is seen.)
	preloaded "$PROGS/catmap" "$f" "$dir/pre.report" 1 >"$dir/pre.out" 2>"$dir/pre.err"
	cat "$dir/plain.report" "$dir/pre.report"
	# prefault was at work in the preloaded run ...
	grep -qx 'prefault_threads=0' "$dir/plain.report"
	grep -qE '^prefault_threads=[1-9]' "$dir/pre.report"
	# ... and wrote nothing: the output is the file, stderr is empty.
	cmp "$dir/plain.out" "$f"
	cmp "$dir/pre.out" "$f"
	[ ! -s "$dir/plain.err" ]
	[ ! -s "$dir/pre.err" ]
}

@test "malformed settings: the program runs normally, one line per bad value on stderr and in the log" {
	local f plain log var
	f="$(big_file f64 64M)"
	log="$BATS_TEST_TMPDIR/prefault.log"
	local filter='^(present|prefault_threads|helper_sigblk|wait_met|wait_ms)='

	run --separate-stderr "$PROGS/mapwatch" -s 300 -c "$f"
	show
	[ "$status" -eq 0 ]
	plain="$(without_lines "$filter")"

	"$PROGS/evict" "$f"
	PREFAULT_BUDGET=xyz PREFAULT_THREADS=99 PREFAULT_WINDOW=-1 PREFAULT_MIN_SIZE=1Q \
		PREFAULT_LOG="$log" run --separate-stderr preloaded "$PROGS/mapwatch" -u present=90 -u helper -c "$f"
	show
	cat "$log" || true
	[ "$status" -eq 0 ]
	# The user set them: each bad one is said once on stderr, as in the log.
	[ "$stderr" = "$(cat "$log")" ]
	[ "$(without_lines "$filter")" = "$plain" ]
	# The defaults took the bad values' place: prefault still works (the
	# pause lasts until 90% of the pages are present, or the deadline, so
	# that a slow or loaded machine cannot make this a race).
	[ "$(field wait_met)" -eq 1 ] || fail "not 90% present within the deadline"
	[ "$(field prefault_threads)" -ge 1 ]
	[ "$(field prefault_threads)" -le 16 ]
	[ "$(num "$(field present)")" -ge $(($(den "$(field present)") * 90 / 100)) ]
	# The log: exactly one line for each bad value, naming its variable.
	[ "$(wc -l <"$log")" -eq 4 ]
	for var in PREFAULT_BUDGET PREFAULT_THREADS PREFAULT_WINDOW PREFAULT_MIN_SIZE; do
		[ "$(grep -c "$var\b" "$log")" -eq 1 ] || fail "$var: not named on exactly one line"
	done
	[ "$(grep -c '^prefault: ' "$log")" -eq 4 ]

	# Without PREFAULT_LOG, the same settings write the same lines on stderr
	# and nothing else.
	"$PROGS/evict" "$f"
	PREFAULT_BUDGET=xyz PREFAULT_THREADS=99 PREFAULT_WINDOW=-1 PREFAULT_MIN_SIZE=1Q \
		run --separate-stderr preloaded "$PROGS/mapwatch" -s 300 -c "$f"
	show
	[ "$status" -eq 0 ]
	[ "$stderr" = "$(cat "$log")" ]
	[ "$(without_lines "$filter")" = "$plain" ]
}
