#!/usr/bin/env bats
# recall.bats - working-set memory in the library (PREFAULT_REMEMBER, issue
# 17; the record store itself is tests/remember.bats).  A program
# (tests/progs/recall.c) maps a cold 64 MiB file, waits, says with mincore
# which of its extents are in the page cache, then reads three extents of
# 1-2 MiB spread over it.  A first run learns them (a record appears, mode
# 0600); with the file evicted and a budget of 8M (over the 5 MiB
# remembered, far under the file) a second run finds them resident before
# it touches anything, and a part between them not: the replay brought
# them first.  A file whose mtime changed gets no replay; without
# PREFAULT_REMEMBER nothing is written.  Two processes on the file at once
# leave a whole record, one writer's; a setuid program (AT_SECURE, run for
# real) neither reads nor writes one.  Touches made just before an munmap
# are learned (python3's mmap).  Behaviour only, never timing: a
# replaying run polls (deadline 60 s) until the extents are in, or, where
# none may come, until the helper's read ahead from the file's start (after
# any replay, within the budget) is in, and only then looks; a run whose
# done record is asserted waits for a sign that the helper has finished
# (run_recall).

load test_helper
load recall_helper

EXTENTS=(24:1 36:2 52:2)
FAR=44:2

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
	SYSLIB=
	SUIDDIR=
	REC="$BATS_TEST_TMPDIR/records"
	mkdir -m 700 "$REC"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
}

# The setuid test's copies: the library in a system directory, the program.
teardown() {
	[ -z "$SYSLIB" ] || rm -f "$SYSLIB"
	[ -z "$SUIDDIR" ] || rm -rf "$SUIDDIR"
}

# Polls give up after this long (ms): a very slow disk still makes it.
DEADLINE_MS=60000

# record_of FILE: the path its record has in $REC.
record_of() {
	echo "$REC/$("$PROGS/remember_store" name "$1")"
}

# run_recall FILE WAIT [ENV...]: the program on FILE with the library, one
# helper thread.  WAIT, words joined by commas: ms, a fixed wait (a run that
# asserts nothing of what came in before it touched); "ext": until every
# extent is in; "start": until the helper's read ahead reached the file's
# first MiB, past where a replay comes; "stored": after its reads, until the
# record was stored since it started (the helper is done with the mapping:
# its done record, with the figures asserted, comes at exit); "done": after
# its reads, until the report holds a done record (a mapping not
# remembered: the helper writes it when it has finished).
run_recall() {
	local file=$1 w ms=$DEADLINE_MS
	local -a more=()
	for w in ${2//,/ }; do
		case $w in
		ext) more+=(until ext) ;;
		start) more+=(until 0:1) ;;
		stored) more+=(stored "$(record_of "$file")") ;;
		done) more+=(done "$STATS") ;;
		*) ms=$w ;;
		esac
	done
	shift 2
	rm -f "$STATS"
	run --separate-stderr env PREFAULT_STATS="$STATS" PREFAULT_LOG=stderr PREFAULT_THREADS=1 "$@" \
		LD_PRELOAD="$LIB" "$PROGS/recall" "$file" "$ms" "${EXTENTS[@]}" far "$FAR" "${more[@]}"
	show
	[ "$status" -eq 0 ]
	[[ " ${more[*]} " != *" until "* ]] || [ "$(field until)" = met ] || fail "waited $ms ms for the condition"
	[[ " ${more[*]} " != *" stored "* ]] || [ "$(field stored)" = met ] || fail "no record stored"
	[[ " ${more[*]} " != *" done "* ]] || [ "$(field done)" = met ] || fail "no done record"
}

# learn FILE [WAIT]: a first run, cold, that leaves the record.
learn() {
	run_recall "$1" "${2:-300}" PREFAULT_REMEMBER="$REC"
	records=("$REC"/pf-*.rec)
	[ -f "${records[0]}" ] || fail "no record in $REC"
}

@test "learn: a run leaves a record of the file, mode 0600, with its extents" {
	local file
	file="$(fresh_file recall.dat 64M)"
	learn "$file" 300,stored
	[ "${#records[@]}" -eq 1 ]
	[ "$(stat -c %a "${records[0]}")" = 600 ]
	# A header, the path and at least one extent (24 bytes each).
	local size
	size=$(stat -c %s "${records[0]}")
	((size >= 64 + ${#file} + 24)) || fail "record of $size bytes"
	[ "$(done_field replayed)" = 0 ]
	# What the program touched, 5 MiB, none of it remembered yet; only
	# that: prefault mapped nothing in itself (the file came in whole).
	local u
	u=$(done_field unremembered)
	((u >= 5 * MiB && u <= 6 * MiB)) || fail "unremembered $u"
	[ "$(done_field replay_used)" = 0 ]
}

@test "replay: the remembered extents come in first, before the program touches anything" {
	local file
	file="$(fresh_file recall.dat 64M)"
	learn "$file"
	"$PROGS/evict" "$file"
	run_recall "$file" ext,stored PREFAULT_REMEMBER="$REC" PREFAULT_BUDGET=8M
	replayed_first
	replay_counted
}

@test "a changed file (mtime) gets no replay" {
	local file
	file="$(fresh_file recall.dat 64M)"
	learn "$file"
	touch -d '2020-01-01 00:00:00' "$file"
	"$PROGS/evict" "$file"
	run_recall "$file" start,stored PREFAULT_REMEMBER="$REC" PREFAULT_BUDGET=8M
	local i r
	for i in 0 1 2; do
		r=$(field "ext$i")
		[ "$(num "$r")" -eq 0 ] || fail "extent $i: $r resident"
	done
	[ "$(done_field replayed)" = 0 ]
	[ "$(done_field replay_used)" = 0 ]
}

@test "without PREFAULT_REMEMBER: no record, and the done record as before" {
	local file
	file="$(fresh_file recall.dat 64M)"
	run_recall "$file" 300,done
	[ -z "$(ls -A "$REC")" ]
	grep -q '"ev":"done"' "$STATS"
	! grep -q '"replayed"' "$STATS"
}

@test "a directory others may write is refused, said once, and nothing is remembered" {
	local file
	file="$(fresh_file recall.dat 64M)"
	chmod 777 "$REC"
	run_recall "$file" 300,done PREFAULT_REMEMBER="$REC"
	[ -z "$(ls -A "$REC")" ]
	grep -q '"ev":"done"' "$STATS"
	[ "$(grep -c 'PREFAULT_REMEMBER' <<<"$stderr")" -eq 1 ]
	! grep -q '"replayed"' "$STATS"
}

@test "a corrupt record is said once, gets no replay, and is replaced by a fresh one" {
	local file rec
	file="$(fresh_file recall.dat 64M)"
	learn "$file"
	rec="${records[0]}"
	head -c 200 /dev/urandom >"$rec"
	"$PROGS/evict" "$file"
	run_recall "$file" start,stored PREFAULT_REMEMBER="$REC" PREFAULT_BUDGET=8M
	[ "$(grep -c 'learning a fresh one' <<<"$stderr")" -eq 1 ]
	[ "$(done_field replayed)" = 0 ]
	# The fresh record replays next time.
	"$PROGS/evict" "$file"
	run_recall "$file" ext,stored PREFAULT_REMEMBER="$REC" PREFAULT_BUDGET=8M
	[ -z "$stderr" ]
	local r
	r=$(done_field replayed)
	((r >= 4 * MiB)) || fail "replayed $r"
}

# covers SET: every OFF:LEN (MiB) of SET lies inside the extents of the
# record dump on stdin (remember_store load); "subset" as SET checks
# instead that every extent lies inside the OFF:LEN of the arguments.
covers() {
	python3 -c '
import sys
mode, parts = sys.argv[1], [tuple(int(x) << 20 for x in a.split(":")) for a in sys.argv[2:]]
ext = [(int(f[1]), int(f[2])) for f in (l.split() for l in sys.stdin) if f and f[0] == "ext"]
def inside(o, n, within):
    return any(a <= o and o + n <= a + m for a, m in within)
if mode == "all":
    sys.exit(0 if all(inside(o, n, ext) for o, n in parts) else 1)
sys.exit(0 if all(inside(o, n, parts) for o, n in ext) else 1)' "$@"
}

@test "two processes on one file at once: the record stays whole and holds the last writer's extents; no temporary file is left" {
	# Each store writes the record its process loaded at the start merged
	# with that process's own touches, renamed into place: the record is
	# then one writer's, all of its extents; the other's of that round
	# may be lost (last writer wins), never half of each.
	local file round p rec dump
	local -a a=(8:1 16:2 24:1) b=(32:2 48:1) pids
	file="$(fresh_file recall.dat 64M)"
	rec="$(record_of "$file")"
	for round in 1 2 3 4; do
		"$PROGS/evict" "$file"
		rm -f "$BATS_TEST_TMPDIR"/[ab].* "$BATS_TEST_TMPDIR/go"
		pids=()
		for p in a b; do
			local -n ext=$p
			env PREFAULT_STATS="$BATS_TEST_TMPDIR/$p.jsonl" PREFAULT_LOG=stderr PREFAULT_REMEMBER="$REC" \
				LD_PRELOAD="$LIB" "$PROGS/recall" "$file" "$DEADLINE_MS" "${ext[@]}" go "$BATS_TEST_TMPDIR/go" \
				>"$BATS_TEST_TMPDIR/$p.out" 2>"$BATS_TEST_TMPDIR/$p.err" &
			pids+=($!)
			unset -n ext
		done
		# Both have loaded the record (a helper reads the mapping after
		# that: a progress record) before either touches anything.
		local deadline=$((SECONDS + DEADLINE_MS / 1000))
		until grep -q '"ev":"progress"' "$BATS_TEST_TMPDIR/a.jsonl" 2>/dev/null &&
			grep -q '"ev":"progress"' "$BATS_TEST_TMPDIR/b.jsonl" 2>/dev/null; do
			((SECONDS < deadline)) || fail "round $round: no progress record in both"
			sleep 0.05
		done
		touch "$BATS_TEST_TMPDIR/go"
		for p in 0 1; do
			wait "${pids[$p]}" || fail "round $round: process $p failed"
		done
		for p in a b; do
			cat "$BATS_TEST_TMPDIR/$p.out" "$BATS_TEST_TMPDIR/$p.err"
			grep -qx 'until=met' "$BATS_TEST_TMPDIR/$p.out"
			# No load refused (a torn record), no store failed.
			[ ! -s "$BATS_TEST_TMPDIR/$p.err" ] || fail "round $round: $p said something"
		done
		run "$PROGS/remember_store" load "$REC" "$file"
		show
		[ "$status" -eq 0 ] || fail "round $round: the record does not load"
		dump=$output
		covers all "${a[@]}" <<<"$dump" || covers all "${b[@]}" <<<"$dump" ||
			fail "round $round: neither process's extents whole in the record"
		covers subset "${a[@]}" "${b[@]}" <<<"$dump" || fail "round $round: an extent neither touched"
		# One record, no temporary file beside it.
		[ "$(ls -A "$REC")" = "$(basename "$rec")" ] || fail "round $round: $(ls -A "$REC")"
	done
}

@test "a setuid program never reads or writes a record, and says why" {
	# ld.so drops LD_PRELOAD for a secure-execution (AT_SECURE) program
	# but for a bare name found in a system directory, set-user-ID: so the
	# library is copied there, mode 4755, and a setuid-root copy of the
	# program runs as nobody (real uid nobody, effective root, AT_SECURE).
	local file rec before libdir
	file="$(fresh_file recall.dat 64M)"
	learn "$file"
	rec="${records[0]}"
	before="$(stat -c '%Y.%y %s' "$rec") $(md5sum <"$rec")"
	"$PROGS/evict" "$file"
	libdir="$(dirname "$(readlink -f "$(ldd /bin/true | awk '$1 ~ /^libc\.so/ { print $3 }')")")"
	SYSLIB="$libdir/libprefault-bats-$$.so"
	install -m 4755 "$LIB" "$SYSLIB"
	SUIDDIR="$(mktemp -d /tmp/recall-suid.XXXXXX)"
	chmod 755 "$SUIDDIR"
	install -m 4755 "$PROGS/recall" "$SUIDDIR/recall"
	# As in run_recall: until the helper's read ahead reached the file's
	# start, past where a replay comes, within the budget.
	rm -f "$STATS"
	run --separate-stderr env PREFAULT_STATS="$STATS" PREFAULT_LOG=stderr PREFAULT_THREADS=1 \
		PREFAULT_REMEMBER="$REC" PREFAULT_BUDGET=8M LD_PRELOAD="$(basename "$SYSLIB")" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$SUIDDIR/recall" "$file" "$DEADLINE_MS" "${EXTENTS[@]}" far "$FAR" until 0:1
	show
	[ "$status" -eq 0 ]
	[ "$(field until)" = met ]
	# The library ran in it (its line, its report), and said why.
	[ "$stderr" = "prefault: PREFAULT_REMEMBER: a secure-execution program: nothing remembered" ]
	# (setpriv, which execs it, has the library too: its own start record.)
	[ "$(stats_eval "$STATS" '[r["active"] for r in R if r["ev"] == "start" and r["exe"] == "'"$SUIDDIR/recall"'"]')" = "[True]" ]
	[ "$(stats_eval "$STATS" '[r["path"] for r in R if r["ev"] == "map"]')" = "['$file']" ]
	# Not read: nothing of the record came in, and no done record says
	# replayed.
	local i r
	for i in 0 1 2; do
		r=$(field "ext$i")
		[ "$(num "$r")" -eq 0 ] || fail "extent $i: $r resident"
	done
	! grep -q '"replayed"' "$STATS"
	# Not written: the record as it was, and nothing beside it.
	[ "$(stat -c '%Y.%y %s' "$rec") $(md5sum <"$rec")" = "$before" ]
	[ "$(ls -A "$REC")" = "$(basename "$rec")" ]
}

@test "touches just before an munmap are learned (python3's mmap, closed at once)" {
	local file
	file="$(fresh_file recall.dat 64M)"
	rm -f "$STATS"
	# Debian's python3: once a helper has begun on the mapping (a progress
	# record), it reads 2 MiB at 40 MiB, closes the map at once and exits,
	# long before the helper's next sample (about a second later).
	run --separate-stderr env PREFAULT_STATS="$STATS" PREFAULT_THREADS=1 PREFAULT_REMEMBER="$REC" \
		LD_PRELOAD="$LIB" python3 - "$file" "$STATS" "$DEADLINE_MS" <<'EOF2'
import mmap, sys, time
path, stats, deadline = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1000
with open(path, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
t0 = time.monotonic()
while '"ev":"progress"' not in open(stats).read():
    if time.monotonic() - t0 > deadline:
        print("progress=timeout")
        sys.exit(0)
    time.sleep(0.01)
s = sum(m[off] for off in range(40 << 20, 42 << 20, 4096))
m.close()
print("progress=met")
print("touched=%d" % s)
EOF2
	show
	[ "$status" -eq 0 ]
	[ "$(field progress)" = met ] || fail "no helper at the mapping in $DEADLINE_MS ms"
	run "$PROGS/remember_store" load "$REC" "$file"
	show
	[ "$status" -eq 0 ]
	# An extent covers [40 MiB, 42 MiB).
	awk -v lo=$((40 * MiB)) -v hi=$((42 * MiB)) '$1 == "ext" && $2 <= lo && $2 + $3 >= hi { ok = 1 }
		END { exit !ok }' <<<"$output" || fail "no extent holds the 2 MiB touched before the munmap"
}
