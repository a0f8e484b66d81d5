#!/usr/bin/env bats
# companion-recall.bats - working-set memory in the companion
# (PREFAULT_REMEMBER with prefault-companion, issue 17; the library's side
# is tests/recall.bats).  The companion's own mapping of a file (its
# shadow) is never touched by the target: what the target touches must be
# learnt from the target's /proc/PID/pagemap (tools/companion/follow.c
# gives shim/work/recall.c that source).
#
# The target (tests/progs/recall_hold.c, a plain dynamic program: the
# companion follows any process the same way, and without LD_PRELOAD no
# library is in it) maps a cold 64 MiB file, says with mincore which of its
# extents are in the page cache before it touches anything, reads three
# extents of 1-2 MiB spread over it and then stays until SIGUSR1 (the
# companion samples a live process's pagemap about once a second and stores
# a record every 10 s while it learns).  A first run leaves a record with
# those extents; with the file evicted and a budget of 8M (over the 5 MiB
# remembered, far under the file) a second run finds them resident before
# the target touches anything and a part between them not: the replay
# brought them.  A companion attached (--pid) and stopped while its target
# runs stores the record as it exits.  Every wait polls for its condition
# (at most 60 s).

# shellcheck disable=SC2154
load test_helper
load recall_helper

EXTENTS=(24:1 36:2 52:2)
FAR=44:2

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/prefault-companion" "$BUILD/tests/remember_store" >&2
}

setup() {
	prefault_setup
	COMPANION="$BUILD_DIR/prefault-companion"
	[ -x "$COMPANION" ] || fail "$COMPANION is missing: run make"
	[ -x "$PROGS/recall_hold" ] || fail "$PROGS/recall_hold is missing: run make test-progs"
	REC="$BATS_TEST_TMPDIR/records"
	mkdir -m 700 "$REC"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	OUT="$BATS_TEST_TMPDIR/out"
	ERR="$BATS_TEST_TMPDIR/err"
}

teardown() {
	# Nothing a test started may outlive it.
	local pid
	for pid in ${BG_PIDS-}; do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# start FILE WAIT_S [ENV...]: the target on FILE under the companion
# (PREFAULT_REMEMBER=$REC unless ENV says otherwise), in the background;
# returns once the target has touched its extents (its stdout in $output,
# its pid in $TARGET).
start() {
	local file=$1 wait=$2 i
	shift 2
	rm -f "$STATS"
	env PREFAULT_STATS="$STATS" PREFAULT_LOG=stderr PREFAULT_REMEMBER="$REC" "$@" \
		"$COMPANION" "$PROGS/recall_hold" "$file" "$wait" "${EXTENTS[@]}" far "$FAR" \
		>"$OUT" 2>"$ERR" &
	CPID=$!
	BG_PIDS="$CPID"
	for ((i = 0; i < 6000; i++)); do
		grep -q '^touched=1$' "$OUT" && break
		kill -0 "$CPID" 2>/dev/null || break
		sleep 0.01
	done
	output="$(cat "$OUT")"
	echo "$output"
	grep -q '^touched=1$' <<<"$output" || fail "the target did not get to touch its extents" "$(cat "$ERR")"
	TARGET="$(field pid)"
}

# finish: lets the target exit, waits for the companion; its status 0 and
# nothing on stderr (PREFAULT_LOG=stderr: no log line either).
finish() {
	local st=0
	kill -USR1 "$TARGET"
	wait "$CPID" || st=$?
	cat "$ERR"
	[ "$st" -eq 0 ] || fail "companion status $st"
	[ ! -s "$ERR" ]
}

# record_covers FILE WEIGHT: the record of FILE in $REC has every extent
# of EXTENTS whole in extents of at least WEIGHT (256: learnt in one run;
# 512: touched again in the next), and nothing of FAR; else prints why.
record_covers() {
	local dump
	dump="$("$PROGS/remember_store" load "$REC" "$1" 2>&1)"
	python3 - "$dump" "$2" "$FAR" "${EXTENTS[@]}" <<'EOF2'
import sys
MiB = 1 << 20
weight = int(sys.argv[2])
def span(s):
    a, b = s.split(":")
    return int(a) * MiB, (int(a) + int(b)) * MiB
far = span(sys.argv[3])
want = [span(s) for s in sys.argv[4:]]
ext = []
for line in sys.argv[1].split("\n"):
    f = line.split()
    if f and f[0] == "ext":
        ext.append((int(f[1]), int(f[1]) + int(f[2]), int(f[4])))
bad = []
for lo, hi in want:
    at = lo
    for a, b, w in sorted(ext):
        if w >= weight and a <= at < b:
            at = b
    if at < hi:
        bad.append("%d:%d not covered from %d (weight >= %d)" % (lo // MiB, (hi - lo) // MiB, at, weight))
for a, b, w in ext:
    if a < far[1] and b > far[0]:
        bad.append("the far part is in the record: %d+%d" % (a, b - a))
if bad:
    print("; ".join(bad))
    print(sys.argv[1])
    sys.exit(1)
EOF2
}

# wait_record FILE WEIGHT: until record_covers holds (at most 60 s).
wait_record() {
	local end=$((SECONDS + 60))
	while ((SECONDS < end)); do
		record_covers "$@" >/dev/null && return 0
		sleep 0.1
	done
	cat "$ERR" >&2
	record_covers "$@"
}

# learn FILE: a first run, cold, until its record holds what it touched.
# The budget ends the engine's part soon, so that the done record waits
# for the companion's exit however slow the disk.
learn() {
	start "$1" 0 PREFAULT_BUDGET=8M
	wait_record "$1" 256
	finish
}

@test "learn: the record holds what the target touched, learnt from the target's pagemap" {
	local file u
	file="$(fresh_file recall.dat 64M)"
	learn "$file"
	# Stored at the companion's exit too: it still says so, mode 0600.
	record_covers "$file" 256
	local rec
	rec="$REC/$("$PROGS/remember_store" name "$file")"
	[ "$(stat -c %a "$rec")" = 600 ]
	# The done record, queued as the companion exits: what the target
	# touched, 5 MiB, none of it remembered yet.
	[ "$(done_field replayed)" = 0 ]
	[ "$(done_field replay_used)" = 0 ]
	u=$(done_field unremembered)
	((u >= 5 * MiB && u <= 6 * MiB)) || fail "unremembered $u"
}

@test "replay: the remembered extents are resident before the target touches anything, the rest not" {
	local file
	file="$(fresh_file recall.dat 64M)"
	learn "$file"
	"$PROGS/evict" "$file"
	start "$file" 60 PREFAULT_BUDGET=8M
	replayed_first
	# This run's touches are learnt too: the extents gain weight.
	wait_record "$file" 512
	finish
	replay_counted
}

@test "without PREFAULT_REMEMBER the companion stores nothing, its done record as before" {
	local file
	file="$(fresh_file recall.dat 64M)"
	start "$file" 0 PREFAULT_REMEMBER=0
	# Warmed whole (not deferred: no record waits for the touches).
	local end=$((SECONDS + 60))
	until grep -q '"ev":"done".*recall.dat' "$STATS" 2>/dev/null || ((SECONDS >= end)); do
		sleep 0.01
	done
	finish
	[ -z "$(ls -A "$REC")" ]
	grep -q '"ev":"done".*recall.dat.*"result":"complete"' "$STATS"
	run ! grep -q '"replayed"' "$STATS"
}

@test "--pid: a companion stopped while its target runs stores what the target touched" {
	local file end st=0
	file="$(fresh_file recall.dat 64M)"
	# The target runs plain, touches its extents, then stays.
	"$PROGS/recall_hold" "$file" 0 "${EXTENTS[@]}" >"$OUT" 2>"$ERR" &
	TARGET=$!
	BG_PIDS="$TARGET"
	end=$((SECONDS + 60))
	until grep -q '^touched=1$' "$OUT" || ((SECONDS >= end)); do
		sleep 0.01
	done
	env PREFAULT_STATS="$STATS" PREFAULT_LOG=stderr PREFAULT_REMEMBER="$REC" PREFAULT_BUDGET=128M \
		"$COMPANION" --pid "$TARGET" 2>"$ERR.companion" &
	CPID=$!
	BG_PIDS="$TARGET $CPID"
	# Once the file is warmed whole, a helper has reached it (its
	# remembering started then); the store every 10 s may not have come.
	end=$((SECONDS + 60))
	until [ "$("$PROGS/resident" "$file")" = "resident=$((64 * MiB))" ] || ((SECONDS >= end)); do
		sleep 0.01
	done
	kill -TERM "$CPID"
	wait "$CPID" || st=$?
	[ "$st" -eq 143 ] || fail "companion status $st"
	[ ! -s "$ERR.companion" ] || fail "$(cat "$ERR.companion")"
	record_covers "$file" 256
	kill -USR1 "$TARGET"
	wait "$TARGET"
}
