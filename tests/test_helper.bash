# tests/test_helper.bash - loaded by every suite (`load test_helper`).
#
# Runs the test programs (build/tests/, from tests/progs/) plain or with
# build/libprefault.so preloaded, keeps the big pattern files they map on a
# real disk, and reads the JSON Lines statistics.  A missing library, program
# or tool fails the test: nothing is ever skipped.

# status, output and stderr are set by bats' run.
# shellcheck disable=SC2154
bats_require_minimum_version 1.5.0

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
# BUILD is make's build directory (relative to the checkout, or absolute).
BUILD="${BUILD:-build}"
case "$BUILD" in
/*) BUILD_DIR="$BUILD" ;;
*) BUILD_DIR="$ROOT/$BUILD" ;;
esac
# PREFAULT_TEST_LIB tests another build of the library (an installed copy).
LIB="${PREFAULT_TEST_LIB:-$BUILD_DIR/libprefault.so}"
PROGS="$BUILD_DIR/tests"
MiB=$((1024 * 1024))

# The environment may carry settings of its own: start every test from the
# defaults.
while read -r _var; do
	unset "$_var"
done < <(compgen -e | grep -E '^PREFAULT' | grep -v -E '^PREFAULT_TEST_(DIR|LIB)$')
unset LD_PRELOAD _var

fail() {
	printf '%s\n' "$@" >&2
	return 1
}

# Builds the library and the test programs, so that a suite can also be run
# on its own with bats; call it from setup_file().
prefault_setup_file() {
	if [ -n "${PREFAULT_TEST_LIB-}" ]; then
		make -s -C "$ROOT" BUILD="$BUILD" test-progs >&2
	else
		make -s -C "$ROOT" BUILD="$BUILD" all test-progs >&2
	fi
}

# Checks what every test needs; call it from setup().
prefault_setup() {
	[ -f "$LIB" ] || fail "$LIB is missing: run make"
	[ -x "$PROGS/mapwatch" ] || fail "$PROGS/mapwatch is missing: run make test-progs"
}

# preloaded PROG ARGS...: runs PROG with the library preloaded.
preloaded() {
	env LD_PRELOAD="$LIB" "$@"
}

# Prints what a `run` produced, so a failing test shows it.
show() {
	printf 'status=%s\n--- stdout\n%s\n--- stderr\n%s\n---\n' \
		"$status" "$output" "${stderr-}"
}

# field KEY: the value of the first KEY=value line of $output.
field() {
	local v
	v="$(sed -n "s/^$1=//p" <<<"$output" | head -n 1)"
	[ -n "$v" ] || fail "no '$1=' line in the output"
	printf '%s\n' "$v"
}

# num / den of a "present=N/M" style value.
num() { printf '%s\n' "${1%/*}"; }
den() { printf '%s\n' "${1#*/}"; }

# data_dir: where big files go.  Page cache behaviour is what the tests
# measure, so it must be a disk-backed file system, never tmpfs.
data_dir() {
	local dir="${PREFAULT_TEST_DIR:-$BATS_RUN_TMPDIR}/data" fstype
	mkdir -p "$dir" || fail "cannot create $dir"
	fstype="$(stat -f -c %T "$dir")"
	case "$fstype" in
	tmpfs | ramfs)
		fail "$dir is on $fstype: page cache tests need a real disk;" \
			"set PREFAULT_TEST_DIR to a directory on one"
		return 1
		;;
	esac
	printf '%s\n' "$dir"
}

# big_file NAME SIZE: prints the path of a pattern file of SIZE (e.g. 256M),
# made once per run and evicted from the page cache on every call.
big_file() {
	local dir path want
	dir="$(data_dir)" || return 1
	path="$dir/$1"
	want=$(( ${2%M} * MiB ))
	if [ "$(stat -c %s "$path" 2>/dev/null)" != "$want" ]; then
		"$PROGS/mkfile" "$path.tmp" "$2" >&2 || fail "mkfile $path $2"
		mv "$path.tmp" "$path"
	fi
	"$PROGS/evict" "$path" >&2 || fail "evict $path"
	printf '%s\n' "$path"
}

# fresh_file NAME SIZE: like big_file, but always a new file (for tests that
# change it).
fresh_file() {
	local dir
	dir="$(data_dir)" || return 1
	rm -f "$dir/$1"
	big_file "$@"
}

# without_lines REGEX: $output without the lines that match REGEX.
without_lines() {
	grep -v -E "$1" <<<"$output" || true
}

# stats_check FILE: FILE is JSON Lines and every record has the fields the
# docs/stats-format.md lists for its kind; prints the problems and fails otherwise.
stats_check() {
	python3 - "$1" <<'EOF'
import json, sys
need = {
    "start": ["active", "budget", "window", "threads", "populate_read"],
    "map": ["id", "addr", "len", "offset", "path", "source"],
    "skip": ["path", "len", "reason"],
    "done": ["id", "path", "len", "bytes_in", "resident_before", "ms",
             "result", "errors", "last_error"],
    "unmap": ["id", "addr", "len"],
    "progress": ["id", "len", "done", "bytes_in", "resident_before", "ms"],
    "proc": ["program", "helpers", "brought_in", "budget", "held", "given_back", "records_dropped",
             "discovery", "discovery_lookup", "stdio", "io_limits", "io_paced_ms", "io_unpaced_steps"],
    "warning": ["msg"],
    "ahead": ["id", "len", "mode", "held", "budget", "dropped", "fronts"],
}
bad = []
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
if lines[-1] != "":
    bad.append("the last line does not end with a newline")
for n, line in enumerate(lines[:-1], 1):
    try:
        r = json.loads(line)
    except ValueError as e:
        bad.append("line %d is not JSON (%s): %r" % (n, e, line))
        continue
    if not isinstance(r, dict):
        bad.append("line %d is not an object" % n)
        continue
    for k in ("v", "ev", "t", "pid"):
        if k not in r:
            bad.append("line %d has no %r: %s" % (n, k, line))
    if r.get("v") != 2:
        bad.append("line %d: v is not 2" % n)
    for k in need.get(r.get("ev"), []):
        if k not in r:
            bad.append("line %d (%s) has no %r: %s" % (n, r.get("ev"), k, line))
    if r.get("ev") not in need:
        bad.append("line %d: unknown ev %r" % (n, r.get("ev")))
    if r.get("ev") == "proc":
        for who in ("program", "helpers"):
            for k in ("threads", "majflt", "minflt", "offcpu_ms"):
                if not isinstance(r.get(who), dict) or k not in r[who]:
                    bad.append("line %d: proc.%s has no %r" % (n, who, k))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

# stats_eval FILE EXPR: prints the Python expression EXPR evaluated with R,
# the list of records in FILE, and A(x), a hex string or int as an int.
stats_eval() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
R = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
def A(x):
    return int(x, 16) if isinstance(x, str) else int(x)
print(eval(sys.argv[2]))
EOF
}

# trace_start FILE EVENT...: a tracefs instance of our own that records the
# EVENTs (system/name, as under events/) for FILE's inode only, whoever's,
# stamped by the mono clock (CLOCK_MONOTONIC's seconds).  TRACE is its
# directory; trace_stop reads and removes it, trace_cleanup (teardown)
# removes it after a failure.
trace_start() {
	local t=/sys/kernel/tracing ino file=$1 e
	shift
	[ -d "$t/events" ] || mount -t tracefs nodev "$t" || fail "cannot mount tracefs at $t"
	for e in "$@"; do
		[ -d "$t/events/$e" ] || fail "this kernel has no $e tracepoint"
	done
	ino=$(stat -c %i "$file")
	TRACE="$t/instances/prefault-test-$$"
	TRACE_EVENTS=("$@")
	mkdir "$TRACE" || fail "cannot make the trace instance $TRACE"
	echo 65536 >"$TRACE/buffer_size_kb"
	echo mono >"$TRACE/trace_clock"
	for e in "$@"; do
		echo "i_ino == $ino" >"$TRACE/events/$e/filter"
		echo 1 >"$TRACE/events/$e/enable"
	done
}

# trace_stop: TRACED gets what the instance recorded; the instance goes.
trace_stop() {
	local e
	echo 0 >"$TRACE/tracing_on"
	TRACED="$BATS_TEST_TMPDIR/trace.txt"
	cat "$TRACE/trace" >"$TRACED"
	for e in "${TRACE_EVENTS[@]}"; do
		echo 0 >"$TRACE/events/$e/enable"
	done
	rmdir "$TRACE"
	TRACE=
}

trace_cleanup() {
	[ -z "${TRACE-}" ] || { echo 0 >"$TRACE/tracing_on"; rmdir "$TRACE"; } || true
}
