#!/usr/bin/env bats
# diagnose.bats - diagnose first (issue 18): PREFAULT_PREFETCH=0 measures a
# program (its mappings, its faults on each, their residency over time)
# and brings nothing in; the start record names the program; every string
# the library writes is valid JSON and UTF-8, and a file name or argument
# that is not UTF-8 can be had back from its _hex twin.
#
# Coldness is the kernel's word: /proc/self/pagemap in the program, and the
# page cache (prefault stat, cachestat) after it.  The programs hint
# MADV_RANDOM, so that each of their faults reads its own page only.
# Tolerances: fault counts within 2 + 1% (close_to), pages within 1% of the
# mapping.

load test_helper

GO_PROGS="$BUILD_DIR/tests/go"

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" test-go "$BUILD/prefault-stat" "$BUILD/prefault-options" \
		"$BUILD/prefault-companion" >&2
}

setup() {
	prefault_setup
	for p in "$PROGS/diag_cold" "$PROGS/catmap" "$GO_PROGS/sysmmap" "$BUILD_DIR/prefault-stat" \
		"$BUILD_DIR/prefault-options" "$BUILD_DIR/prefault-companion"; do
		[ -x "$p" ] || fail "$p is missing: run make test"
	done
}

# close_to A B: |A - B| <= 2 + 1% of B.
close_to() {
	python3 -c 'import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if abs(a - b) <= 2 + b / 100 else 1)' "$1" "$2" ||
		fail "$1 is not within 2 + 1% of $2"
}

# cached FILE: pages of FILE in the page cache.
cached() {
	"$BUILD_DIR/prefault-stat" --json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["cached"])'
}

# names_ok FILE: every line of FILE is UTF-8 (strictly) and JSON.
names_ok() {
	python3 - "$1" <<'EOF'
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n"), "no newline at the end"
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    try:
        json.loads(line.decode("utf-8", errors="strict"))
    except ValueError as e:
        sys.exit("line %d: %s: %r" % (n, e, line))
EOF
}

@test "PREFAULT_PREFETCH=0: the file stays cold, the program's faults on it are counted, residency over time" {
	local f stats="$BATS_TEST_TMPDIR/cold.jsonl" touched majflt pages present
	f="$(big_file diag-256 256M)"
	PREFAULT_PREFETCH=0 PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/diag_cold" "$f" 64
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	stats_check "$stats"
	touched="$(field touched)" majflt="$(field touch_majflt)" pages="$(field pages)" present="$(field present)"
	echo "cached after: $(cached "$f") pages"
	[ "$touched" -eq 1024 ]
	# Cold: every page it read was a major fault of its own ...
	[ "$majflt" -ge $((touched * 9 / 10)) ]
	# ... and nothing else came in: in its page table and in the page cache,
	# only the pages it read (prefetching, 1.2 s of it, would have put most
	# of the file there).
	[ "$present" -le $((touched + pages / 100)) ]
	[ "$(cached "$f")" -le $((touched + pages / 100)) ]
	# The report: measuring, not prefetching.
	[ "$(stats_eval "$stats" '[(r["active"], r["prefetch"]) for r in R if r["ev"] == "start"]')" = "[(True, False)]" ]
	[ "$(stats_eval "$stats" '[r["source"] for r in R if r["ev"] == "map" and r["path"] == "'"$f"'"]')" = "['hook']" ]
	[ "$(stats_eval "$stats" 'sum(r["ev"] in ("done", "progress") for r in R)')" -eq 0 ]
	[ "$(stats_eval "$stats" 'set((r["brought_in"], r["helpers"]["majflt"]) for r in R if r["ev"] == "proc")')" = "{(0, 0)}" ]
	# Its faults on the mapping, attributed, and when the first came.
	[ "$(stats_eval "$stats" 'R[-1]["ev"]')" = proc ]
	[ "$(stats_eval "$stats" 'R[-1]["attribution"]')" = perf ]
	close_to "$(stats_eval "$stats" 'R[-1]["mappings"][0]["majflt"]')" "$majflt"
	[ "$(stats_eval "$stats" 'R[-1]["mappings"][0]["first_fault"] >= [r["t"] for r in R if r["ev"] == "map"][0]')" = True ]
	# Residency over time: nothing while the program waited, then the
	# pages it read.
	[ "$(stats_eval "$stats" '[r["mappings"][0]["resident"] for r in R if r["ev"] == "proc" and r["mappings"]][:2]')" = "[0, 0]" ]
	[ "$(stats_eval "$stats" "abs(R[-1]['mappings'][0]['resident'] - $present) <= $pages // 100")" = True ]
}

@test "PREFAULT_PREFETCH=0, a Go program (syscall.Mmap, discovered): its faults are its own, the file stays cold" {
	local f stats="$BATS_TEST_TMPDIR/go.jsonl" majflt pages
	f="$(big_file go-f256 256M)"
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_PREFETCH=0 PREFAULT_STATS="$stats" "$GO_PROGS/sysmmap" "$f"
	show
	[ "$status" -eq 0 ]
	stats_check "$stats"
	majflt="$(field majflt)" pages=$(($(stat -c %s "$f") / 4096))
	echo "majflt=$majflt cached=$(cached "$f") pages=$pages helper_majflt=$(field helper_majflt)"
	# As many faults as without prefault (go.bats: >= 10000 there) ...
	[ "$majflt" -ge 10000 ]
	[ "$(field helper_majflt)" -eq 0 ]
	# ... and the page cache holds what they read, no more.
	[ "$(cached "$f")" -le $((majflt + pages / 100)) ]
	[ "$(stats_eval "$stats" '[(r["active"], r["prefetch"], r["discover"]) for r in R if r["ev"] == "start"]')" = "[(True, False, True)]" ]
	[ "$(stats_eval "$stats" '[r["source"] for r in R if r["ev"] == "map" and r["path"] == "'"$f"'"]')" = "['discover']" ]
	[ "$(stats_eval "$stats" 'sum(r["ev"] in ("done", "progress") for r in R)')" -eq 0 ]
	[ "$(stats_eval "$stats" 'set(r["brought_in"] for r in R if r["ev"] == "proc")')" = "{0}" ]
	[ "$(stats_eval "$stats" 'any(r["mappings"] for r in R if r["ev"] == "proc")')" = True ]
}

@test "PREFAULT_PREFETCH: 0 or 1, a malformed value said once and the default (prefetching) kept; prefault-options agrees" {
	local stats="$BATS_TEST_TMPDIR/s.jsonl"
	PREFAULT_PREFETCH=yes PREFAULT_STATS="$stats" run --separate-stderr preloaded /bin/true
	show
	[ "$status" -eq 0 ]
	[ "$stderr" = "prefault: PREFAULT_PREFETCH='yes' is not valid: expected 0 or 1; using the default '1'" ]
	[ "$(stats_eval "$stats" '[r["prefetch"] for r in R if r["ev"] == "start"]')" = "[True]" ]
	[ "$(stats_eval "$stats" '[r["msg"] for r in R if r["ev"] == "warning"]')" = \
		"[\"PREFAULT_PREFETCH='yes' is not valid: expected 0 or 1; using the default '1'\"]" ]
	PREFAULT_PREFETCH=yes PREFAULT_LOG="$BATS_TEST_TMPDIR/log" run --separate-stderr preloaded /bin/true
	[ "$stderr" = "prefault: PREFAULT_PREFETCH='yes' is not valid: expected 0 or 1; using the default '1'" ]
	[ "$(cat "$BATS_TEST_TMPDIR/log")" = "$stderr" ]
	[ "$("$BUILD_DIR/prefault-options" PREFAULT_PREFETCH 0 PREFAULT_PREFETCH 1 | tr '\0' ' ')" = "=0 =1 " ]
	[ "$("$BUILD_DIR/prefault-options" PREFAULT_PREFETCH 2 | tr '\0' ' ')" = "!expected 0 or 1 " ]
	run "$BUILD_DIR/prefault-options" PREFAULT_PREFETCH 2
	[ "$status" -eq 1 ]
	# PREFAULT=0 (the wrapper's --off) stays inert: a start record only.
	rm -f "$stats"
	PREFAULT=0 PREFAULT_PREFETCH=0 PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/catmap" "$(big_file diag-small 1M)" "$BATS_TEST_TMPDIR/rep"
	[ "$status" -eq 0 ]
	[ "$(stats_eval "$stats" '[(r["ev"], r["active"], r["prefetch"]) for r in R]')" = "[('start', False, False)]" ]
}

@test "the start record names the program: exe and argv, bounded, a non-UTF-8 argument had back from argv_hex" {
	local stats="$BATS_TEST_TMPDIR/s.jsonl" exe
	exe="$(readlink -f /bin/true)"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded /bin/true plain $'x\xffy' $'tab\there "q" \\ \x01' $'caf\xc3\xa9'
	show
	[ "$status" -eq 0 ]
	names_ok "$stats"
	python3 - "$stats" "$exe" <<'EOF'
import json, os, sys
r = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if '"ev":"start"' in l][0]
assert r["exe"] == sys.argv[2] and r["exe_cut"] is False and "exe_hex" not in r, r
want = [b"/bin/true", b"plain", b"x\xffy", b'tab\there "q" \\ \x01', "café".encode()]
assert r["argv"][2] == "x\ufffdy" and r["argv"][4] == "café", r["argv"]
assert [bytes.fromhex(h) for h in r["argv_hex"]] == want, r["argv_hex"]
assert r["argv_cut"] is False
EOF
	# Cut: more than 8 arguments; one longer than 256 bytes, cut before a
	# character rather than inside it; more than 1 KiB in all.
	rm -f "$stats"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded /bin/true 2 3 4 5 6 7 8 9 10
	[ "$(stats_eval "$stats" '[(r["argv"], r["argv_cut"], "argv_hex" in r) for r in R if r["ev"] == "start"]')" = \
		"[(['/bin/true', '2', '3', '4', '5', '6', '7', '8'], True, False)]" ]
	rm -f "$stats"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded /bin/true "$(printf 'a%.0s' {1..201})$(printf 'é%.0s' {1..50})"
	[ "$(stats_eval "$stats" '[(len(r["argv"][1].encode()), r["argv"][1].count("é"), r["argv_cut"], "argv_hex" in r) for r in R if r["ev"] == "start"]')" = \
		"[(255, 27, True, False)]" ]
	rm -f "$stats"
	local a250
	a250="$(printf 'b%.0s' {1..250})"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded /bin/true "$a250" "$a250" "$a250" "$a250" "$a250"
	[ "$(stats_eval "$stats" '[([len(a) for a in r["argv"]], r["argv_cut"]) for r in R if r["ev"] == "start"]')" = \
		"[([9, 250, 250, 250, 250, 15], True)]" ]
	# The companion's record names its target, not itself (the target
	# waits until it is written: a process that has exited has no name).
	rm -f "$stats"
	local go_on="$BATS_TEST_TMPDIR/go-on" pid i
	PREFAULT_STATS="$stats" "$BUILD_DIR/prefault-companion" -- \
		sh -c 'until [ -e "$1" ]; do sleep 0.01; done' $'x\xffy' "$go_on" &
	pid=$!
	for ((i = 0; i < 6000; i++)); do
		grep -q '"ev":"start"' "$stats" 2>/dev/null && break
		sleep 0.01
	done
	touch "$go_on"
	wait "$pid"
	names_ok "$stats"
	[ "$(stats_eval "$stats" '[(r["exe"], r["argv"][3] == "x\ufffdy", r["argv_hex"][3]) for r in R if r["ev"] == "start"]')" = \
		"[('$(readlink -f /bin/sh)', True, '78ff79')]" ]
}

@test "a file name that is not UTF-8 (or holds controls, quotes): every line valid JSON, the name had back from path_hex" {
	local f dir name stats="$BATS_TEST_TMPDIR/n.jsonl"
	f="$(big_file diag-small 1M)"
	dir="$(dirname "$f")"
	name="$dir/bad-"$'\xff\xfe'"-\"q\"-\\-"$'\x01'"-"$'\n'"-é.dat"
	ln -f "$f" "$name"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/diag_cold" "$name" 16
	show
	[ "$status" -eq 0 ]
	# A skip record too: the same name, too small to be tracked.
	PREFAULT_MIN_SIZE=2M PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/catmap" "$name" "$BATS_TEST_TMPDIR/rep"
	[ "$status" -eq 0 ]
	names_ok "$stats"
	stats_check "$stats"
	python3 - "$stats" "$name" <<'EOF'
import json, os, sys
want = os.fsencode(sys.argv[2])
R = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
named = [r for r in R if "path" in r]
def name(r):
    return bytes.fromhex(r["path_hex"]) if "path_hex" in r else r["path"].encode("utf-8")
evs = sorted(set(r["ev"] for r in named if name(r) == want))
assert {"map", "skip"} <= set(evs), (evs, [(r["ev"], r["path"]) for r in named])
for r in named:
    if name(r) == want:
        assert r["path"] == want.decode("utf-8", "replace"), r["path"]
        assert "\ufffd\ufffd" in r["path"] and '"q"' in r["path"] and "\n" in r["path"]
print("records naming it:", evs)
EOF
}
