#!/usr/bin/env bats
# tests/torture-ext.bats - prefault under tools that watch it and under other
# projects' test suites (issue 7); run by `make torture`, not `make test`.
#
#   valgrind memcheck   torture programs preloaded: no error from anyone
#   ASan order          the runtime after prefault in LD_PRELOAD
#   Go os, syscall      Go's own package tests, external linking, preloaded:
#                       the same verdicts as without
#   CPython test_mmap   a C program's test suite that maps files (Debian's
#                       libpython3.11-testsuite), preloaded: the same verdicts

load test_helper

S="${TORTURE_SCALE:-1}"
LIBDIR=/usr/lib/x86_64-linux-gnu

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
}

# ---- valgrind ----

# memcheck NAME PROG ARGS...: PROG preloaded under valgrind memcheck.  Fails
# on any error valgrind counts (invalid access, uninitialised use, bad
# free, syscall params, definite or indirect leaks).  A "possibly lost"
# block is allowed only when it is the thread block of a helper still
# running at exit (pthread_create under start_helper_locked).
memcheck() {
	local log="$BATS_TEST_TMPDIR/$1.vg" stats="$BATS_TEST_TMPDIR/$1.jsonl"
	shift
	command -v valgrind >/dev/null || fail "valgrind is missing: run tools/install-deps"
	PREFAULT_STATS="$stats" run --separate-stderr timeout 600 env LD_PRELOAD="$LIB" \
		valgrind --error-exitcode=86 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --log-file="$log" "$@"
	show
	cat "$log"
	[ "$status" -eq 0 ] || fail "valgrind reported errors (86) or the program failed"
	grep -q 'ERROR SUMMARY: 0 errors' "$log"
	if grep -q 'possibly lost in loss record' "$log"; then
		[ "$(grep -c 'possibly lost in loss record' "$log")" -eq \
			"$(grep -A8 'possibly lost in loss record' "$log" | grep -c 'start_helper_locked')" ] ||
			fail "a possibly lost block that is not a live helper's thread"
	fi
	# prefault was at work under valgrind.
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map")')" -ge 1 ]
}

@test "valgrind memcheck: the munmap/MAP_FIXED/mremap race from 2 threads, preloaded" {
	local f
	f="$(big_file f64 64M)"
	memcheck race "$PROGS/torture_race" threads "$f" $((100 * S)) 2
	[ "$(field bad)" -eq 0 ]
	[ "$(field rounds)" -eq $((200 * S)) ]
}

@test "valgrind memcheck: a signal flood whose handler maps and unmaps, preloaded" {
	local f
	f="$(big_file f64 64M)"
	# Under valgrind a signal costs ~100x its native time: 500 keep the run
	# well inside the program's own watchdog and the 600 s timeout (10000
	# once ran past it; 2000 took about ten minutes of a clean-clone CI run, and
	# 200 alone took 56-162 s on the same machine).
	TORTURE_SIG_ANYTIME=1 memcheck sig "$PROGS/torture_sig" thread "$f" 500
	[ "$(field received)" -eq 500 ]
	[ "$(field bad)" -eq 0 ]
}

@test "valgrind memcheck: truncation under the helpers, preloaded" {
	local f big
	f="$(fresh_file vg-trunc.dat 4M)"
	big="$(big_file f256 256M)"
	memcheck trunc "$PROGS/torture_race" trunc "$f" $((50 * S)) "$big"
	[ "$(field bad)" -eq 0 ]
	[ "$(field signals)" -eq 0 ]
}

# ---- ASan ----

@test "ASan runtime after prefault in LD_PRELOAD: ASan's own message, as after any library; first, a clean run" {
	local asan f dir="$BATS_TEST_TMPDIR/rn" other
	asan="$(find "$LIBDIR" -maxdepth 1 -name 'libasan.so.*' | sort | head -n 1)"
	[ -f "$asan" ] || fail "no ASan runtime in $LIBDIR"
	mkdir -p "$dir"
	run --separate-stderr env LD_PRELOAD="$LIB $asan" "$PROGS/torture_race" rename "$dir" 10
	show
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"ASan runtime does not come first in initial library list"* ]]
	[ -z "$output" ]
	# Any library in that place gets the same answer: it is ASan's rule.
	other="$LIBDIR/libjemalloc.so.2"
	run --separate-stderr env LD_PRELOAD="$other $asan" "$PROGS/torture_race" rename "$dir" 10
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"ASan runtime does not come first in initial library list"* ]]
	# The right order runs, with prefault at work.
	PREFAULT_STATS="$BATS_TEST_TMPDIR/s.jsonl" run --separate-stderr \
		env LD_PRELOAD="$asan $LIB" "$PROGS/torture_race" rename "$dir" $((200 * S))
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field bad)" -eq 0 ]
	[ "$(stats_eval "$BATS_TEST_TMPDIR/s.jsonl" 'sum(1 for r in R if r["ev"] == "map")')" -ge 1 ]
}

# ---- Go's own tests ----

# verdicts FILE: every test's verdict and the run's, durations dropped, sorted.
verdicts() {
	grep -E '^[[:space:]]*--- (PASS|FAIL|SKIP): |^(ok|PASS|FAIL)([[:space:]]|$)' "$1" |
		sed -E 's/^[[:space:]]+//; s/ \([0-9.]+s\)$//' | sort
}

# go_pkg PKG: builds PKG's test binary with external linking (dynamic, so
# LD_PRELOAD reaches it), runs it plain and preloaded in the package's
# source directory (its testdata), and compares.
go_pkg() {
	local pkg="$1" dir goroot bin
	# syscall's TestDeathSignal copies the binary to TMPDIR and runs it as
	# nobody: bats' own directories are private.
	dir="$(mktemp -d /tmp/prefault-go-"$pkg".XXXXXX)"
	chmod 755 "$dir"
	command -v go >/dev/null || fail "go is missing: run tools/install-deps"
	goroot="$(go env GOROOT)"
	bin="$dir/$pkg.test"
	mkdir -p "$dir/plain" "$dir/pre"
	chmod 1777 "$dir/plain" "$dir/pre"
	GOCACHE="$BUILD_DIR/gocache" GOFLAGS='' go test -c -ldflags=-linkmode=external -o "$bin" "$pkg" >&2
	[[ "$(file -L "$bin")" == *"dynamically linked"* ]] || fail "$bin is static: $(file -L "$bin")"
	# Each run's status is kept: a failing run is for the checks to report.
	(cd "$goroot/src/$pkg" && TMPDIR="$dir/plain" timeout 600 "$bin" -test.short -test.v \
		>"$dir/plain.out" 2>&1 && echo 0 >"$dir/plain.status" || echo $? >"$dir/plain.status")
	(cd "$goroot/src/$pkg" && TMPDIR="$dir/pre" PREFAULT_STATS="$dir/stats.jsonl" \
		timeout 600 env LD_PRELOAD="$LIB" "$bin" -test.short -test.v \
		>"$dir/pre.out" 2>&1 && echo 0 >"$dir/pre.status" || echo $? >"$dir/pre.status")
	echo "plain_status=$(cat "$dir/plain.status") preloaded_status=$(cat "$dir/pre.status")"
	echo "plain_pass=$(verdicts "$dir/plain.out" | grep -c '^--- PASS')" \
		"preloaded_pass=$(verdicts "$dir/pre.out" | grep -c '^--- PASS')" \
		"skip=$(verdicts "$dir/pre.out" | grep -c '^--- SKIP')"
	[ "$(cat "$dir/plain.status")" -eq 0 ] || fail "$pkg fails without prefault" "$(tail -n 30 "$dir/plain.out")"
	diff -u <(verdicts "$dir/plain.out") <(verdicts "$dir/pre.out")
	[ "$(cat "$dir/pre.status")" -eq 0 ]
	[ "$(verdicts "$dir/pre.out" | grep -c '^--- PASS')" -ge 20 ]
	stats_check "$dir/stats.jsonl"
	[ "$(stats_eval "$dir/stats.jsonl" 'sum(1 for r in R if r["ev"] == "start" and r["active"])')" -ge 1 ]
	rm -rf "$dir"
}

@test "Go's os package tests (external linking, -test.short) preloaded: the same verdicts as plain" {
	go_pkg os
}

@test "Go's syscall package tests (external linking, -test.short) preloaded: the same verdicts as plain" {
	go_pkg syscall
}

# ---- a C program's own test suite ----

@test "CPython's test_mmap (Debian's python3.11 and its test suite) preloaded: the same verdicts as plain" {
	local py=/usr/bin/python3.11 dir="$BATS_TEST_TMPDIR/py" plain
	[ -x "$py" ] || fail "$py is missing"
	[ -f /usr/lib/python3.11/test/test_mmap.py ] ||
		fail "libpython3.11-testsuite is missing: run tools/install-deps"
	mkdir -p "$dir"
	# Most of test_mmap's files are small: track everything from 4K up.
	run --separate-stderr env -C "$dir" TMPDIR="$dir" timeout 600 \
		"$py" -m test -v -u largefile test_mmap
	plain="$(grep -E ' \.\.\. (ok|FAIL|ERROR|skipped)' <<<"$stderr$output" | sed 's/ (.*) \.\.\./ .../' | sort)"
	[ "$status" -eq 0 ] || { show; fail "test_mmap fails without prefault"; }
	PREFAULT_MIN_SIZE=4K PREFAULT_STATS="$dir/stats.jsonl" run --separate-stderr \
		env -C "$dir" TMPDIR="$dir" timeout 600 env LD_PRELOAD="$LIB" \
		"$py" -m test -v -u largefile test_mmap
	show
	[ "$status" -eq 0 ]
	diff -u <(echo "$plain") \
		<(grep -E ' \.\.\. (ok|FAIL|ERROR|skipped)' <<<"$stderr$output" | sed 's/ (.*) \.\.\./ .../' | sort)
	echo "passed=$(grep -c ' \.\.\. ok$' <<<"$plain")"
	[ "$(grep -c ' \.\.\. ok$' <<<"$plain")" -ge 30 ]
	stats_check "$dir/stats.jsonl"
	local maps
	maps="$(stats_eval "$dir/stats.jsonl" 'sum(1 for r in R if r["ev"] == "map")')"
	echo "tracked=$maps"
	[ "$maps" -ge 5 ]
}
