#!/usr/bin/env bats
# tests/bbolt.bats - bbolt's own test suite, a real Go user of syscall.Mmap, run
# with prefault preloaded: it passes exactly as it does without, and prefault
# finds bbolt's database mappings through /proc/self/maps (no libc mmap call to
# hook: Go issues the system call itself).
#
# The suite is Debian's go.etcd.io/bbolt (golang-github-coreos-bbolt-dev) built
# by `make build/tests/bbolt.test` (tools/gobench.mk) as a dynamic test binary.
# setup_file runs it twice, plain and preloaded, each in its own TMPDIR (bbolt
# creates its databases there as bolt-NNNN and bboltmemtestNNNN/testdb.db); the tests compare the two runs and
# read the preloaded run's statistics.
#
# -test.short: the full suite takes about 2.5 minutes a run on a 2-cpu machine
# (its simulation and stress tests), 5 minutes for the pair; short mode runs
# every test but those few, in seconds. -quick.seed is fixed so both runs
# generate the same data. PREFAULT_MIN_SIZE=4K: bbolt maps a new database with
# 32 KiB, below the default 64K floor, and most test databases stay small.

BBOLT_FLAGS=(-test.v -test.short -test.timeout 5m -quick.seed 4242)

setup_file() {
	cd "$BATS_TEST_DIRNAME/.."
	local build=${BUILD:-build}
	[[ $build == /* ]] || build=$PWD/$build
	make -s --no-print-directory BUILD="$build" "$build/libprefault.so" "$build/tests/bbolt.test" >&2
	export LIB=$build/libprefault.so BBOLT_TEST=$build/tests/bbolt.test
	export PLAIN=$BATS_FILE_TMPDIR/plain PRELOADED=$BATS_FILE_TMPDIR/preloaded
	mkdir -p "$PLAIN/tmp" "$PRELOADED/tmp"

	# Each run: its output, its exit status; a failing suite is for the tests to report.
	(cd "$PLAIN" && TMPDIR=$PLAIN/tmp "$BBOLT_TEST" "${BBOLT_FLAGS[@]}" >out 2>&1; echo $? >status)
	(cd "$PRELOADED" && TMPDIR=$PRELOADED/tmp LD_PRELOAD=$LIB \
		PREFAULT_STATS=$PRELOADED/stats.jsonl PREFAULT_LOG=$PRELOADED/log \
		PREFAULT_DISCOVER=1 PREFAULT_MIN_SIZE=4K \
		"$BBOLT_TEST" "${BBOLT_FLAGS[@]}" >out 2>&1; echo $? >status)
}

# summary DIR: the verdict of every test and of the whole run, durations dropped,
# in a stable order ("--- PASS: TestX", "--- SKIP: TestY", "ok"/"PASS"/"FAIL").
summary() {
	grep -E '^[[:space:]]*--- (PASS|FAIL|SKIP): |^(ok|PASS|FAIL)([[:space:]]|$)' "$1/out" |
		sed -E 's/^[[:space:]]+//; s/ \([0-9.]+s\)$//' | sort
}

# discovered_dbs: paths of the preloaded run's map records found by discovery
# whose file is one of bbolt's test databases.
discovered_dbs() {
	grep '"ev":"map"' "$PRELOADED/stats.jsonl" | grep '"source":"discover"' |
		sed -n 's/.*"path":"\([^"]*\)".*/\1/p' | grep -F "$PRELOADED/tmp/" | sort -u
}

@test "bbolt test binary is dynamic, so LD_PRELOAD reaches it" {
	run readelf -d "$BBOLT_TEST"
	[ "$status" -eq 0 ]
	[[ $output == *"(NEEDED)"*"libc.so"* ]]
}

@test "bbolt suite passes without prefault" {
	echo "exit status $(cat "$PLAIN/status")"
	tail -n 30 "$PLAIN/out"
	[ "$(cat "$PLAIN/status")" -eq 0 ]
	grep -qx PASS "$PLAIN/out"
}

@test "bbolt suite passes preloaded, test for test as it does without" {
	echo "exit status $(cat "$PRELOADED/status")"
	tail -n 30 "$PRELOADED/out"
	[ "$(cat "$PRELOADED/status")" -eq 0 ]
	grep -qx PASS "$PRELOADED/out"
	diff <(summary "$PLAIN") <(summary "$PRELOADED")
	# The two runs really ran tests: more than a handful passed.
	[ "$(summary "$PRELOADED" | grep -c '^--- PASS')" -gt 50 ]
}

@test "prefault was active in the bbolt run" {
	[ -s "$PRELOADED/stats.jsonl" ]
	grep '"ev":"start"' "$PRELOADED/stats.jsonl" | head -n 1 | grep -q '"active":true'
}

@test "prefault discovered bbolt's database mappings in /proc/self/maps" {
	echo "map records:"
	grep '"ev":"map"' "$PRELOADED/stats.jsonl" | head -n 20 || true
	echo "discovered test databases:"
	discovered_dbs | head -n 20
	[ -n "$(discovered_dbs)" ]
	# Every one is a database bbolt created (bolt-NNNN, bboltmemtestNNNN/testdb.db).
	! discovered_dbs | grep -v -E '/(bolt-[0-9]+|bboltmemtest[0-9]+/testdb\.db)( \(deleted\))?$'
}
