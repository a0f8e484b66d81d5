#!/usr/bin/env bats
# tests/companion.bats - prefault-companion (tools/companion/), through the
# wrapper (tools/prefault), by its effects: the major faults a static Go
# program (tests/go-static/coldmap, CGO_ENABLED=0: LD_PRELOAD never reaches
# it) takes on a cold 256 MiB file with and without it, the exit statuses and
# signals that pass through it, and what is left running afterwards.
#
# The plain baseline is measured once (setup_file) with fewer reads than the
# companion runs do (random reads on a cold file cost ~2-5 ms each on a shared
# disk); the two are compared per read.  Runs under the companion pause 1 s
# and then also wait until the companion's report says the file is warmed
# (SIGUSR1): how fast it warms depends on a disk other work shares, and is
# the benchmark's business (tools/companion/bench), not these tests'.

# shellcheck disable=SC2154
load test_helper

PLAIN_READS=2000
READS=20000

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/prefault-companion" \
		"$BUILD/tests/go-static/coldmap" >&2
	local f out
	f="$(big_file companion.bin 256M)"
	out="$("$PROGS/go-static/coldmap" -file "$f" -pause 0 -reads "$PLAIN_READS")"
	PLAIN_MAJFLT="$(sed -n 's/^majflt=//p' <<<"$out")"
	export PLAIN_MAJFLT
}

setup() {
	prefault_setup
	# A ThreadSanitizer build (BUILD=build-thread) would sleep 1 s in exit.
	export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}atexit_sleep_ms=0"
	COMPANION="$BUILD_DIR/prefault-companion"
	COLDMAP="$PROGS/go-static/coldmap"
	PREFAULT="$ROOT/tools/prefault"
	[ -x "$COMPANION" ] || fail "$COMPANION is missing: run make"
	[ -x "$COLDMAP" ] || fail "$COLDMAP is missing: run make test"
	export PREFAULT_COMPANION="$COMPANION" PREFAULT_LIBRARY="$LIB"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
}

teardown() {
	# Nothing a test started may outlive it.
	local pid
	for pid in ${BG_PIDS-}; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# allowed_majflt: 5% of the plain run's major faults, scaled to READS reads.
allowed_majflt() {
	echo $((PLAIN_MAJFLT * READS * 5 / (PLAIN_READS * 100)))
}

# wait_for FILE [SECONDS]: until FILE exists (default 60 s: generous, for
# the slowest machine).
wait_for() {
	local i
	for ((i = 0; i < ${2:-60} * 100; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.01
	done
	fail "$1 did not appear"
}

# wait_gone PID [SECONDS]: until no process has PID (default 60 s).
wait_gone() {
	local i
	for ((i = 0; i < ${2:-60} * 100; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.01
	done
	ps -o pid,ppid,stat,comm -p "$1" >&2
	fail "process $1 is still there"
}

# wait_record EV FILE: until the report ($STATS) has an EV record for FILE
# (at most 60 s; then the test's checks say what is missing).
wait_record() {
	local i
	for ((i = 0; i < 6000; i++)); do
		grep -q "\"ev\":\"$1\".*\"path\":\"$2\"" "$STATS" 2>/dev/null && return 0
		sleep 0.01
	done
	echo "no $1 record for $2 in $STATS within 60 s"
}

# read_when_warmed FILE READY: once the report ($STATS) has a done record for
# FILE (at most 60 s), sends SIGUSR1 to the pid in READY, so it reads.
read_when_warmed() {
	wait_for "$2"
	wait_record done "$1"
	kill -USR1 "$(sed -n 's/^pid=//p' "$2")"
}

# warmed_run FILE READY ARGS...: runs the wrapper with ARGS in the
# background, lets its target read once the report says FILE is warmed (see
# read_when_warmed), waits; the target's stdout in $output, the exit status
# in $st.  Nothing may reach stderr.
warmed_run() {
	local f=$1 ready=$2 cpid
	shift 2
	"$PREFAULT" "$@" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	cpid=$!
	BG_PIDS="$cpid"
	read_when_warmed "$f" "$ready"
	st=0
	wait "$cpid" || st=$?
	output="$(cat "$BATS_TEST_TMPDIR/out")"
	echo "$output"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
}

# wait_no_guard_left [TEXT]: until no_guard_left holds (at most 60 s): a
# guard leaves when the processes it watches are gone, which takes it a
# moment.
wait_no_guard_left() {
	local i
	for ((i = 0; i < 6000; i++)); do
		no_guard_left "$@" 2>/dev/null && return 0
		sleep 0.01
	done
	no_guard_left "$@"
}

# no_guard_left [TEXT]: no live guard process (guard.c) of this test's is
# running: one whose command line (the companion's) holds TEXT, by default
# this test's directory.  Other runs' guards (a suite run beside this one) and
# zombies (a guard orphaned by a killed companion, until init reaps it) are
# not this test's business.
no_guard_left() {
	local pid cmd state
	for pid in $(pgrep -x prefault-guard); do
		cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || continue
		state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" || continue
		if [[ $state != Z && $cmd == *"${1:-$BATS_TEST_TMPDIR}"* ]]; then
			fail "a prefault-guard was left behind: $pid $state $cmd"
		fi
	done
}

# unprivileged_copy: a directory nobody may use, with the companion in it.
unprivileged_copy() {
	NOBODY_DIR="$(mktemp -d /tmp/prefault-companion-test.XXXXXX)"
	chmod 755 "$NOBODY_DIR"
	cp "$COMPANION" "$NOBODY_DIR/prefault-companion"
}

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

@test "the baseline: a static Go program takes many major faults on a cold file" {
	echo "plain: $PLAIN_MAJFLT major faults in $PLAIN_READS reads"
	[ "$PLAIN_MAJFLT" -ge $((PLAIN_READS / 2)) ]
}

@test "a static Go program under prefault -- takes at most 5% of its plain major faults" {
	local f ready="$BATS_TEST_TMPDIR/ready" st
	f="$(big_file companion.bin 256M)"
	warmed_run "$f" "$ready" --stats "$STATS" -- "$COLDMAP" -file "$f" -pause 1s -wait-usr1 \
		-ready "$ready" -reads "$READS"
	[ "$st" -eq 0 ]
	local majflt
	majflt="$(field majflt)"
	echo "companion: $majflt major faults in $READS reads, allowed $(allowed_majflt)"
	[ "$majflt" -le "$(allowed_majflt)" ]
	# The report, from the companion's side: its own mapping of the file,
	# warmed whole; proc records about the target.
	stats_check "$STATS"
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['path'] == '$f' and r['source'] == 'companion')")" -eq 1 ]
	[ "$(stats_eval "$STATS" "[r['result'] for r in R if r['ev'] == 'done' and r['path'] == '$f']")" = "['complete']" ]
	[ "$(stats_eval "$STATS" "max(r['program']['threads'] for r in R if r['ev'] == 'proc')")" -ge 1 ]
	[ "$(stats_eval "$STATS" "R[-1]['ev']")" = proc ]
	[ "$(stats_eval "$STATS" "R[-1]['program']['majflt'] <= $(allowed_majflt) + 50")" = True ]
}

@test "--pid: a running static Go program, attached to, takes at most 5% of its plain major faults" {
	local f ready="$BATS_TEST_TMPDIR/ready" out="$BATS_TEST_TMPDIR/out" target cpid
	f="$(big_file companion.bin 256M)"
	"$COLDMAP" -file "$f" -pause 0 -wait-usr1 -ready "$ready" -reads "$READS" >"$out" &
	target=$!
	BG_PIDS="$target"
	wait_for "$ready"
	"$PREFAULT" --stats "$STATS" --pid "$target" 2>"$BATS_TEST_TMPDIR/err" &
	cpid=$!
	BG_PIDS="$target $cpid"
	# Read once the companion reports the file warmed.
	wait_record done "$f"
	kill -USR1 "$target"
	wait "$target"
	# The target is gone: the companion follows it out, status 0.
	local st=0
	wait "$cpid" || st=$?
	[ "$st" -eq 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	output="$(cat "$out")"
	local majflt
	majflt="$(field majflt)"
	echo "attached: $majflt major faults in $READS reads, allowed $(allowed_majflt)"
	[ "$majflt" -le "$(allowed_majflt)" ]
	stats_check "$STATS"
	no_guard_left
}

@test "a target that exits while its file is being warmed: the companion exits at once with its status" {
	local f ready="$BATS_TEST_TMPDIR/ready" cpid target t0 t1
	f="$(big_file companion.bin 256M)"
	# The target exits once told (SIGUSR1), and is told once the companion
	# has begun warming its file (the map record): a slow machine cannot
	# make it exit before.  A small window keeps the warming going well past
	# that.  How soon the companion follows it out is printed: the check is
	# that it did not finish warming first.
	PREFAULT_WINDOW=256K "$PREFAULT" --stats "$STATS" -- "$COLDMAP" -mode exit -pause 0 -wait-usr1 \
		-code 5 -file "$f" -ready "$ready" &
	cpid=$!
	BG_PIDS="$cpid"
	wait_for "$ready"
	target="$(sed -n 's/^pid=//p' "$ready")"
	wait_record map "$f"
	t0=$(date +%s%N)
	kill -USR1 "$target"
	local st=0
	wait "$cpid" || st=$?
	t1=$(date +%s%N)
	[ "$st" -eq 5 ]
	echo "the companion left $(((t1 - t0) / 1000000)) ms after the target was told to exit"
	[ -n "$target" ]
	run ! kill -0 "$target"
	run ! kill -0 "$cpid"
	no_guard_left
	stats_check "$STATS"
	# It was warming the file, and did not finish it.
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['path'] == '$f')")" -eq 1 ]
	[ "$(stats_eval "$STATS" "[r['result'] for r in R if r['ev'] == 'done' and r['path'] == '$f']")" != "['complete']" ]
}

@test "a target that forks and execs: its child's mappings are warmed" {
	local f ready="$BATS_TEST_TMPDIR/ready" cpid st=0
	f="$(big_file companion.bin 256M)"
	"$PREFAULT" --stats "$STATS" -- "$COLDMAP" -mode spawn -file "$f" -pause 1s -wait-usr1 \
		-ready "$ready" -reads "$READS" >"$BATS_TEST_TMPDIR/out" &
	cpid=$!
	BG_PIDS="$cpid"
	read_when_warmed "$f" "$ready" # the child's pid
	wait "$cpid" || st=$?
	output="$(cat "$BATS_TEST_TMPDIR/out")"
	echo "$output"
	[ "$st" -eq 0 ]
	local majflt parent child
	majflt="$(field majflt)"
	parent="$(field parent)"
	child="$(field pid)"
	[ "$parent" != "$child" ]
	echo "child: $majflt major faults in $READS reads, allowed $(allowed_majflt)"
	[ "$majflt" -le "$(allowed_majflt)" ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['path'] == '$f')")" -ge 1 ]
}

@test "attaching to another user's process is refused in one line, status 1" {
	local sp
	unprivileged_copy
	sleep 30 &
	sp=$!
	BG_PIDS="$sp"
	run --separate-stderr as_nobody "$NOBODY_DIR/prefault-companion" --pid "$sp"
	show
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "prefault: cannot follow process $sp: permission denied"* ]]
	# Through the wrapper too.
	PREFAULT_COMPANION="$NOBODY_DIR/prefault-companion" run --separate-stderr as_nobody "$PREFAULT" --pid "$sp"
	show
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "prefault: cannot follow process $sp: permission denied"* ]]
	kill "$sp"
	rm -rf "$NOBODY_DIR"
}

@test "--pid: no such process, or no process id, is one line and a non-zero status" {
	local gone
	sh -c 'exit 0' &
	gone=$!
	wait "$gone"
	run --separate-stderr "$PREFAULT" --pid "$gone"
	[ "$status" -eq 1 ]
	[ "$stderr" = "prefault: cannot follow process $gone: no such process" ]
	run --separate-stderr "$PREFAULT" --pid abc
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 reach the target and its exit status comes back" {
	local sig want ready cpid st
	for sig in TERM:42 INT:43; do
		want=${sig#*:}
		sig=${sig%:*}
		ready="$BATS_TEST_TMPDIR/ready-$sig"
		"$PREFAULT" -- "$COLDMAP" -mode trap -ready "$ready" >/dev/null &
		cpid=$!
		BG_PIDS="$cpid"
		wait_for "$ready"
		kill -"$sig" "$cpid"
		st=0
		wait "$cpid" || st=$?
		echo "SIG$sig: status $st, want $want"
		[ "$st" -eq "$want" ]
		wait_gone "$(sed -n 's/^pid=//p' "$ready")"
	done
	# SIGHUP kills a Go program that does not catch it: 128+1.  (Unless it
	# started with SIGHUP ignored, as under nohup: the companion passes the
	# disposition it inherited on, so reset it for this run.)
	env --default-signal=HUP "$PREFAULT" -- "$COLDMAP" -mode trap -ready "$BATS_TEST_TMPDIR/ready-HUP" >/dev/null &
	cpid=$!
	BG_PIDS="$cpid"
	wait_for "$BATS_TEST_TMPDIR/ready-HUP"
	kill -HUP "$cpid"
	st=0
	wait "$cpid" || st=$?
	echo "SIGHUP: status $st, want 129"
	[ "$st" -eq 129 ]
	# SIGUSR1 and SIGUSR2 are passed on as well.
	for sig in USR1:51 USR2:52; do
		want=${sig#*:}
		sig=${sig%:*}
		ready="$BATS_TEST_TMPDIR/ready-$sig"
		"$COMPANION" -- sh -c "trap 'exit 51' USR1; trap 'exit 52' USR2; echo x >$ready; while :; do sleep 0.02; done" &
		cpid=$!
		BG_PIDS="$cpid"
		wait_for "$ready"
		kill -"$sig" "$cpid"
		st=0
		wait "$cpid" || st=$?
		echo "SIG$sig: status $st, want $want"
		[ "$st" -eq "$want" ]
	done
	no_guard_left
	# Killed by a signal: 128+N, as a shell reports it.
	run "$COMPANION" -- sh -c 'kill -KILL $$'
	[ "$status" -eq 137 ]
}

@test "the target does not outlive a companion killed with SIGKILL, setuid target included" {
	local ready="$BATS_TEST_TMPDIR/ready" cpid target
	# Plain: PR_SET_PDEATHSIG and the guard.
	"$PREFAULT" -- "$COLDMAP" -mode trap -ready "$ready" >/dev/null &
	cpid=$!
	BG_PIDS="$cpid"
	wait_for "$ready"
	target="$(sed -n 's/^pid=//p' "$ready")"
	kill -KILL "$cpid"
	wait_gone "$target"
	wait_no_guard_left

	# A setuid-root target started by nobody: exec clears its PDEATHSIG, and
	# the companion may not read its maps (one warning); the guard remains.
	unprivileged_copy
	cp "$COLDMAP" "$NOBODY_DIR/coldmap"
	chmod 4755 "$NOBODY_DIR/coldmap"
	mkdir -m 777 "$NOBODY_DIR/run"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$NOBODY_DIR/prefault-companion" -- "$NOBODY_DIR/coldmap" -mode trap \
		-ready "$NOBODY_DIR/run/ready" >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
	cpid=$!
	BG_PIDS="$cpid"
	wait_for "$NOBODY_DIR/run/ready"
	target="$(sed -n 's/^pid=//p' "$NOBODY_DIR/run/ready")"
	[ "$(stat -c %u "/proc/$target")" = 0 ] || [ "$(awk '/^Uid:/ { print $3 }' "/proc/$target/status")" = 0 ]
	kill -KILL "$cpid"
	wait_gone "$target"
	wait_no_guard_left "$NOBODY_DIR"
	grep -q "cannot read the mappings" "$BATS_TEST_TMPDIR/err"
	rm -rf "$NOBODY_DIR"
}

@test "--companion: a dynamic single-threaded program stays single-threaded and its file is warmed" {
	local f ready="$BATS_TEST_TMPDIR/ready" cpid st=0 lonely="$PROGS/lonely" plain
	make -s -C "$ROOT" BUILD="$BUILD" "$lonely" >&2
	f="$(big_file companion.bin 256M)"
	# Preloaded, prefault's helper thread makes glibc lock stdio for good.
	"$lonely" "$f" "$ready" 200 >"$BATS_TEST_TMPDIR/plain" &
	cpid=$!
	BG_PIDS="$cpid"
	wait_for "$ready"
	kill -USR1 "$(sed -n 's/^pid=//p' "$ready")"
	wait "$cpid"
	plain="$(sed -n 's/^majflt=//p' "$BATS_TEST_TMPDIR/plain")"
	echo "plain: $plain major faults in 200 reads"
	[ "$plain" -ge 100 ]
	rm -f "$ready"
	"$PROGS/evict" "$f" >&2
	env LD_PRELOAD="$LIB" "$lonely" "$f" "$ready" 200 >"$BATS_TEST_TMPDIR/out" &
	cpid=$!
	BG_PIDS="$cpid"
	wait_for "$ready"
	sleep 0.5
	kill -USR1 "$(sed -n 's/^pid=//p' "$ready")"
	wait "$cpid"
	grep -qx single_threaded=0 "$BATS_TEST_TMPDIR/out"
	# Under the companion nothing of prefault's runs in the program.
	rm -f "$ready"
	"$PROGS/evict" "$f" >&2
	warmed_run "$f" "$ready" --companion --stats "$STATS" -- "$lonely" "$f" "$ready" "$READS"
	[ "$st" -eq 0 ]
	[ "$(field single_threaded)" -eq 1 ]
	[ "$(field threads)" -eq 1 ]
	echo "companion: $(field majflt) major faults in $READS reads, allowed $((plain * READS / 200 / 20))"
	[ "$(field majflt)" -le $((plain * READS / 200 / 20)) ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['path'] == '$f' and r['source'] == 'companion')")" -eq 1 ]
}
