#!/usr/bin/env bats
# diag.bats - the diagnostic mode (issue 5): the report's figures against the
# kernel's own, a Go program's report without exit handlers, bad
# destinations, the bounds, `prefault report`, `prefault stat` and the
# wrapper's --stats summary.
#
# Tolerances: fault counts are compared with 2 + 1% slack (the library's
# destructor writes the last proc record a few instructions after the test
# program read its counts; nothing it does in between should fault, but the
# exit path is libc's); residency with 1% (helpers could still be mapping
# pages in); attribution exactly covers the faults the program's watched
# threads took on the mapping, with the same slack.

load test_helper

GO_DIAG="$BUILD_DIR/tests/go-diag/diagwait"
WRAPPER="$ROOT/tools/prefault"

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" test-go-diag "$BUILD/prefault-stat" >&2
}

setup() {
	prefault_setup
	for p in "$PROGS/diag_faults" "$PROGS/diag_noperf" "$PROGS/diag_churn" \
		"$GO_DIAG" "$BUILD_DIR/prefault-stat"; do
		[ -x "$p" ] || fail "$p is missing: run make test"
	done
	export PREFAULT_LIBRARY="$LIB"
}

# close_to A B: |A - B| <= 2 + 1% of B.
close_to() {
	python3 -c 'import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if abs(a - b) <= 2 + b / 100 else 1)' "$1" "$2" ||
		fail "$1 is not within 2 + 1% of $2"
}

# A run of diag_faults on a cold 256 MiB file with a 64 MiB budget (so
# residency is partial): sets $stats, $output.
faults_run() {
	local f
	f="$(big_file diag-256 256M)"
	stats="$BATS_TEST_TMPDIR/diag.jsonl"
	PREFAULT_BUDGET=64M PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/diag_faults" "$f"
	show
	[ "$status" -eq 0 ]
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'R[-1]["ev"]')" = proc ]
}

@test "program and helper major faults reconcile with /proc/self/task/*/stat and getrusage" {
	faults_run
	local prog self touch
	prog="$(field prog_majflt)" self="$(field self_majflt)" touch="$(field touch_majflt)"
	# The program's threads: the report against /proc/self/task/TID/stat.
	close_to "$(stats_eval "$stats" 'R[-1]["program"]["majflt"]')" "$prog"
	# The helpers (exited or not): getrusage(RUSAGE_SELF) minus the program's.
	close_to "$(stats_eval "$stats" 'R[-1]["helpers"]["majflt"]')" "$((self - prog))"
	close_to "$(stats_eval "$stats" 'R[-1]["program"]["majflt"] + R[-1]["helpers"]["majflt"]')" "$self"
	[ "$(stats_eval "$stats" 'R[-1]["program"]["threads"]')" -eq 2 ]
	# Attribution: every fault the two threads took touching the mapping.
	[ "$(stats_eval "$stats" 'R[-1]["attribution"]')" = perf ]
	[ "$(stats_eval "$stats" 'R[-1]["threads_watched"]')" -eq 2 ]
	[ "$touch" -gt 0 ]
	close_to "$(stats_eval "$stats" 'R[-1]["mappings"][0]["majflt"]')" "$touch"
	[ "$(stats_eval "$stats" 'R[-1]["majflt_sampled"] >= R[-1]["mappings"][0]["majflt"]')" = True ]
}

@test "residency in the report agrees with /proc/self/pagemap" {
	faults_run
	local present pages
	present="$(field present)" pages="$(field pages)"
	[ "$(stats_eval "$stats" 'R[-1]["residency"]')" = pagemap ]
	[ "$(stats_eval "$stats" 'R[-1]["mappings"][0]["pages"]')" -eq "$pages" ]
	[ "$(stats_eval "$stats" 'R[-1]["mappings"][0]["sampled"]')" -eq "$pages" ]
	[ "$(stats_eval "$stats" "abs(R[-1]['mappings'][0]['resident'] - $present) <= $pages // 100")" = True ]
	# Partial: the budget stopped the helpers.
	[ "$present" -lt "$pages" ]
	[ "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done"]')" = "['budget']" ]
}

@test "a Go program's report is complete although it never runs exit handlers; --stats sums it up" {
	local f stats pid
	f="$(big_file diag-go 256M)"
	stats="$BATS_TEST_TMPDIR/go.%p.jsonl"
	# diagwait (tests/go-diag/) leaves once its report has the done record
	# and a proc record after it, the Go way: exit_group, no exit handlers.
	# The summary comes from a watcher once the program has ended: read
	# stderr to its end (the watcher holds it until then).
	run --separate-stderr bash -o pipefail -c '{ "$@" 2>&1 >&3 3>&- | cat >&2; } 3>&1' bash \
		"$WRAPPER" --stats "$stats" -- "$GO_DIAG" "$f"
	show
	[ "$status" -eq 0 ]
	stats="$(ls "$BATS_TEST_TMPDIR"/go.*.jsonl)"
	[ "$(wc -l <<<"$stats")" -eq 1 ]
	pid="${stats##*/go.}" pid="${pid%.jsonl}"
	stats_check "$stats"
	# The program's own pid (the wrapper's), every record.
	[ "$(stats_eval "$stats" 'set(r["pid"] for r in R)')" = "{$pid}" ]
	[ "$(stats_eval "$stats" '[r["source"] for r in R if r["ev"] == "map" and r["path"] == "'"$f"'"]')" = "['discover']" ]
	[ "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done"]')" = "['complete']" ]
	# A proc record after the done record, with the mapping's residency and
	# the attribution, written while the program ran.
	[ "$(stats_eval "$stats" 'any(r["ev"] == "proc" and r["t"] >= [d["t"] for d in R if d["ev"] == "done"][0] for r in R)')" = True ]
	[ "$(stats_eval "$stats" '[m["resident"] == m["pages"] for r in R if r["ev"] == "proc" for m in r["mappings"]][-1]')" = True ]
	[ "$(stats_eval "$stats" 'R[-1]["attribution"]')" = perf ]
	# The wrapper's summary, on stderr only.
	[[ $stderr == *"prefault report: $stats, pid $pid"* ]]
	[[ $stderr == *"program:"* && $stderr == *"$f"* && $stderr == *complete* ]]
	[[ $output != *"prefault report"* ]]
}

@test "--stats: the command's exit status (128+N when killed), signals forwarded" {
	run --separate-stderr bash -o pipefail -c '{ "$@" 2>&1 >&3 3>&- | cat >&2; } 3>&1' bash \
		"$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.jsonl" -- sh -c 'exit 7'
	show
	[ "$status" -eq 7 ]
	[[ $stderr == "prefault report: "* ]]

	run --separate-stderr "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.jsonl" -- sh -c 'kill -TERM $$'
	[ "$status" -eq 143 ]

	# The signal goes once the command has set its trap (it says so in a
	# file; at most 60 s), however long starting it takes.
	local ready="$BATS_TEST_TMPDIR/ready" i
	"$WRAPPER" --stats "$BATS_TEST_TMPDIR/t.jsonl" -- sh -c 'trap "echo got-usr1; exit 3" USR1; : >"$1"; while :; do sleep 0.05; done' \
		sh "$ready" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	local w=$!
	for ((i = 0; i < 6000; i++)); do
		[ -e "$ready" ] && break
		sleep 0.01
	done
	[ -e "$ready" ] || fail "the command did not start within 60 s"
	kill -USR1 "$w"
	local st=0
	wait "$w" || st=$?
	cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err"
	[ "$st" -eq 3 ]
	grep -qx got-usr1 "$BATS_TEST_TMPDIR/out"
}

@test "a malformed or unwritable destination: one clear line on stderr, the program runs on unharmed" {
	local f dest
	f="$(big_file diag-small 1M)"
	mkdir -p "$BATS_TEST_TMPDIR/adir"
	for dest in fd:x fd: "$BATS_TEST_TMPDIR/adir" "$BATS_TEST_TMPDIR/no/such/dir/s.jsonl"; do
		PREFAULT_STATS="$dest" run --separate-stderr preloaded "$PROGS/diag_churn" "$f" 3
		show
		[ "$status" -eq 0 ]
		[ "$output" = churned=3 ]
		[ "$(wc -l <<<"$stderr")" -eq 1 ]
		[[ $stderr == "prefault: PREFAULT_STATS='$dest': "*"; no statistics" ]]
	done
	[[ $stderr == *"No such file or directory"* ]]
	PREFAULT_STATS="$BATS_TEST_TMPDIR/adir" run --separate-stderr preloaded "$PROGS/diag_churn" "$f" 3
	[[ $stderr == *"Is a directory"* ]]
}

@test "where perf is refused (seccomp), attribution says unavailable and why" {
	local f stats="$BATS_TEST_TMPDIR/noperf.jsonl"
	f="$(big_file diag-256 256M)"
	PREFAULT_STATS="$stats" run --separate-stderr "$PROGS/diag_noperf" env LD_PRELOAD="$LIB" "$PROGS/diag_faults" "$f"
	show
	[ "$status" -eq 0 ]
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'R[-1]["attribution"]')" = unavailable ]
	[[ "$(stats_eval "$stats" 'R[-1]["why"]')" == "perf_event_open: EACCES"* ]]
	[ "$(stats_eval "$stats" 'all("majflt" not in m for m in R[-1]["mappings"])')" = True ]
	run "$ROOT/tools/prefault" report "$stats"
	[[ $output == *"fault attribution: unavailable: perf_event_open: EACCES"* ]]
}

@test "bounded: a flood of mappings is capped and counted in records_dropped" {
	local f stats="$BATS_TEST_TMPDIR/churn.jsonl"
	f="$(big_file diag-small 1M)"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/diag_churn" "$f" 20000
	show
	[ "$status" -eq 0 ]
	[ "$output" = churned=20000 ]
	stats_check "$stats"
	# 40000 map and unmap events; at most the burst (1000) plus 200 a
	# second of the flood's own span (its records' times, so that a slow
	# machine's longer flood is allowed its longer span) get through, and
	# every one that did not is counted.
	local limited='[r for r in R if r["ev"] in ("map", "unmap", "skip", "warning")]'
	echo "written: $(stats_eval "$stats" "len($limited)") in" \
		"$(stats_eval "$stats" "round($limited[-1]['t'] - $limited[0]['t'], 3)") s;" \
		"dropped: $(stats_eval "$stats" '[r for r in R if r["ev"] == "proc"][-1]["records_dropped"]')"
	[ "$(stats_eval "$stats" "len($limited) <= 1000 + 200 * ($limited[-1]['t'] - $limited[0]['t']) + 1")" = True ]
	[ "$(stats_eval "$stats" "[r for r in R if r['ev'] == 'proc'][-1]['records_dropped'] >= 40000 - len($limited)")" = True ]
}

@test "progress records come at most every 250 ms per mapping, with pages already resident" {
	local f stats="$BATS_TEST_TMPDIR/progress.jsonl"
	f="$(big_file diag-256 256M)"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/diag_faults" "$f"
	[ "$status" -eq 0 ]
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'sum(r["ev"] == "progress" for r in R)')" -ge 1 ]
	[ "$(stats_eval "$stats" 'all(b["t"] - a["t"] >= 0.24 for a, b in zip([r for r in R if r["ev"] == "progress"], [r for r in R if r["ev"] == "progress"][1:]))')" = True ]
	[ "$(stats_eval "$stats" 'all(0 <= r["done"] <= r["len"] and r["resident_before"] <= r["len"] for r in R if r["ev"] == "progress")')" = True ]
}

@test "prefault report: a summary per mapping, and an SVG or PNG chart" {
	faults_run
	local f
	f="$(stats_eval "$stats" '[r["path"] for r in R if r["ev"] == "map"][0]')"
	run --separate-stderr "$WRAPPER" report --chart "$BATS_TEST_TMPDIR/c.svg" "$stats"
	show
	[ "$status" -eq 0 ]
	[[ $output == *"$f"* && $output == *budget* && $output == *"first fault +"* ]]
	[[ $output == *"fault attribution: perf: "* ]]
	python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if len([e for e in r.iter() if e.tag.endswith("polyline")]) >= 2 else 1)' "$BATS_TEST_TMPDIR/c.svg"
	run --separate-stderr "$WRAPPER" report --chart "$BATS_TEST_TMPDIR/c.png" "$stats"
	show
	[ "$status" -eq 0 ]
	[ "$(head -c 4 "$BATS_TEST_TMPDIR/c.png" | od -An -c | tr -d ' ')" = '211PNG' ]
	run --separate-stderr "$WRAPPER" report "$BATS_TEST_TMPDIR/none.jsonl"
	[ "$status" -eq 1 ]
	[[ $stderr == *"No such file or directory"* ]]
}

@test "prefault stat: page-cache residency by cachestat, mincore where asked, unreliable flagged" {
	local f
	f="$(big_file diag-small 1M)"
	run --separate-stderr "$WRAPPER" stat --json "$f"
	show
	[ "$status" -eq 0 ]
	[ "$(python3 -c 'import json,sys; r = json.loads(sys.argv[1]); print(r["cached"], r["method"], r["reliable"])' "$output")" = "0 cachestat True" ]
	cat "$f" >/dev/null
	run --separate-stderr "$WRAPPER" stat "$f"
	[[ $output == "$f: 1.0 MiB of 1.0 MiB cached (100.0%) [cachestat"* ]]
	run --separate-stderr "$WRAPPER" stat --mincore "$f"
	[[ $output == "$f: 1.0 MiB of 1.0 MiB cached (100.0%) [mincore]" ]]
	# mincore on a file this user cannot write may not see the page cache.
	if [ "$(id -u)" -eq 0 ]; then
		run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$BUILD_DIR/prefault-stat" --mincore /etc/hostname
	else
		run --separate-stderr "$WRAPPER" stat --mincore /etc/hostname
	fi
	show
	[ "$status" -eq 0 ]
	[[ $output == *"[mincore; unreliable: "* ]]
	run --separate-stderr "$WRAPPER" stat "$f" "$BATS_TEST_TMPDIR/none"
	[ "$status" -eq 1 ]
	[[ $output == *"$f: "* ]]
	[ "$stderr" = "prefault stat: $BATS_TEST_TMPDIR/none: No such file or directory" ]
}

@test "installed: prefault report and prefault stat find their programs in LIBEXECDIR" {
	local prefix="$BATS_TEST_TMPDIR/usr" f
	f="$(big_file diag-small 1M)"
	run make -s -C "$ROOT" BUILD="$BUILD" install PREFIX="$prefix"
	[ "$status" -eq 0 ]
	[ -x "$prefix/libexec/prefault/prefault-stat" ] && [ -x "$prefix/libexec/prefault/prefault-report" ]
	run --separate-stderr "$prefix/bin/prefault" stat "$f"
	show
	[ "$status" -eq 0 ]
	[[ $output == "$f: "* ]]
	run --separate-stderr "$prefix/bin/prefault" report "$BATS_TEST_TMPDIR/none.jsonl"
	[ "$status" -eq 1 ]
	run make -s -C "$ROOT" BUILD="$BUILD" uninstall PREFIX="$prefix"
	[ "$status" -eq 0 ]
	[ ! -e "$prefix/libexec/prefault/prefault-stat" ] && [ ! -e "$prefix/libexec/prefault/prefault-report" ]
}
