#!/usr/bin/env bats
# settings.bats - bad settings are never silent (issue 14).
#
# A malformed PREFAULT_* value is said in one line on stderr (the user set
# it: that is asking) and on PREFAULT_LOG when set, its safe default applies
# (seen in the start record, or in map and skip records) and the program's
# output and status are a plain run's.  A PREFAULT_INCLUDE or
# PREFAULT_EXCLUDE that cannot be taken whole prefaults no file.  The
# wrapper's options and the variables take the same words, and refuse a bad
# one for the same reason (one parser: shim/core/options.c).  A relative
# PREFAULT_STATS or PREFAULT_LOG keeps naming the directory the program
# started in after it changes directory.

load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
	WRAPPER="$ROOT/tools/prefault"
	D="$BATS_TEST_TMPDIR"
	F="$(big_file settings-1m 1M)"
	P="$(realpath "$F")"
	# The plain run every preloaded one must equal: catmap copies the file.
	local st=0
	"$PROGS/catmap" "$F" "$D/plain.report" >"$D/plain.out" 2>"$D/plain.err" || st=$?
	[ "$st" -eq 0 ]
	[ ! -s "$D/plain.err" ]
	cmp "$D/plain.out" "$F"
}

# catmap_run [VAR=VALUE...]: catmap on $F with the library preloaded and
# these settings; sets status and err (its stderr); fails unless its stdout
# and status are the plain run's.
catmap_run() {
	status=0
	env "$@" LD_PRELOAD="$LIB" "$PROGS/catmap" "$F" "$D/report" >"$D/out" 2>"$D/err" || status=$?
	err="$(cat "$D/err")"
	printf 'run: %s\nstatus=%s\n--- stderr\n%s\n---\n' "$*" "$status" "$err"
	[ "$status" -eq 0 ] || fail "catmap exited $status"
	cmp "$D/out" "$D/plain.out" || fail "catmap's output is not a plain run's"
}

# start_eval STATS REF EXPR: EXPR evaluated with S, the start record of STATS,
# T, that of REF, R, the records of STATS, and P, the file's path.
start_eval() {
	python3 - "$@" "$P" <<'EOF'
import json, sys
P = sys.argv[4]
R = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
S = [r for r in R if r["ev"] == "start"][0]
T = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if '"start"' in l][0]
print(eval(sys.argv[3]))
EOF
}

# said LINE LOG STATS: LINE was said once on stderr ($err), is the log's one
# line, and the report's warning.
said() {
	[ "$err" = "$1" ] || fail "stderr is not exactly: $1"
	[ "$(cat "$2")" = "$1" ] || fail "the log is not exactly: $1" "$(cat "$2")"
	stats_check "$3"
	[ "$(stats_eval "$3" '[r["msg"] for r in R if r["ev"] == "warning"]')" = \
		"$(python3 -c 'import sys; print([sys.argv[1][len("prefault: "):]])' "$1")" ]
}

@test "a malformed value: one line on stderr and in the log, the default in the start record, the program unchanged" {
	local var value why check line n=0
	catmap_run PREFAULT_STATS="$D/ref.jsonl"
	[ -z "$err" ]
	# VAR|VALUE|what the line says after "is not valid: "|true of the start record S
	while IFS='|' read -r var value why check; do
		n=$((n + 1))
		line="prefault: $var='$value' is not valid: $why"
		catmap_run "$var=$value" PREFAULT_LOG="$D/$n.log" PREFAULT_STATS="$D/$n.jsonl"
		said "$line" "$D/$n.log" "$D/$n.jsonl"
		[ "$(start_eval "$D/$n.jsonl" "$D/ref.jsonl" "$check")" = True ] || fail "start record: not $check"
		# By default (no log, no report) the line is all there is on stderr ...
		catmap_run "$var=$value"
		[ "$err" = "$line" ]
		# ... and with the log on stderr it is said once, not twice.
		catmap_run "$var=$value" PREFAULT_LOG=stderr
		[ "$err" = "$line" ]
	done <<'EOF'
PREFAULT_BUDGET|12Q|expected a size like 128M or a share like 25%, within 1M .. 1T or 1% .. 100%; using the default '50%'|abs(S["budget"] - T["budget"]) <= T["budget"] / 10
PREFAULT_BUDGET|0%|expected a size like 128M or a share like 25%, within 1M .. 1T or 1% .. 100%; using the default '50%'|abs(S["budget"] - T["budget"]) <= T["budget"] / 10
PREFAULT_WINDOW|3Q|expected a size like 16M, within 256K .. 1G; using the default '16M'|S["window"] == 16 << 20
PREFAULT_WINDOW|128K|expected a size like 16M, within 256K .. 1G; using the default '16M'|S["window"] == 16 << 20
PREFAULT_THREADS|99|expected a whole number within 1 .. 16; using the default '1'|S["threads"] == 1
PREFAULT_THREADS|two|expected a whole number within 1 .. 16; using the default '1'|S["threads"] == 1
PREFAULT_MIN_SIZE|1K|expected a size like 64K, within 4K .. 1T; using the default '64K'|[(r["path"], r["len"]) for r in R if r["ev"] in ("map", "skip")] == [(P, 1 << 20)]
PREFAULT_DISCOVER|maybe|expected auto, on, off, 1 or 0; using the default 'auto'|(S["discover"], S["discover_why"]) == (T["discover"], T["discover_why"])
PREFAULT|2|expected 0 or 1; using the default '1'|S["active"] is True
PREFAULT_INHERIT|yes|expected 0 or 1; using the default '1'|S["active"] is True
PREFAULT_PACE|off|expected 0 or 1; using the default '1'|S["active"] is True
PREFAULT_FAST_STDIO|x|expected 0 or 1; using the default '1'|S["active"] is True
EOF
	[ "$n" -eq 12 ]
}

@test "several malformed values: one line each, on stderr and in the log" {
	catmap_run PREFAULT_BUDGET=xyz PREFAULT_THREADS=0 PREFAULT_WINDOW=-1 PREFAULT_LOG="$D/log"
	[ "$(wc -l <<<"$err")" -eq 3 ]
	[ "$(grep -c '^prefault: PREFAULT_\(BUDGET\|THREADS\|WINDOW\)=.* is not valid: ' <<<"$err")" -eq 3 ]
	[ "$(cat "$D/log")" = "$err" ]
}

@test "a malformed PREFAULT_LOG is said on stderr, with why; no log" {
	local value why
	mkdir "$D/adir"
	while IFS='|' read -r value why; do
		value="${value//@D@/$D}"
		catmap_run PREFAULT_LOG="$value" PREFAULT_BUDGET=12Q PREFAULT_STATS="$D/s.jsonl"
		[ "$(wc -l <<<"$err")" -eq 2 ]
		[ "$(head -n 1 <<<"$err")" = "prefault: PREFAULT_LOG='$value' is not valid: $why; no log" ]
		[[ "$(tail -n 1 <<<"$err")" == "prefault: PREFAULT_BUDGET='12Q' is not valid: "* ]]
		stats_check "$D/s.jsonl"
		[ "$(stats_eval "$D/s.jsonl" 'sum(r["ev"] == "warning" for r in R)')" -eq 2 ]
		rm "$D/s.jsonl"
	done <<'EOF'
fd:x|not a path, stderr or fd:N
|not a path, stderr or fd:N
@D@/adir|cannot be written: Is a directory
@D@/no/such/dir/log|cannot be written: No such file or directory
EOF
	[ -z "$(ls -A "$D/adir")" ]
}

# patterns_run VAR VALUE WHY INSTEAD REASON: VALUE cannot be taken whole:
# one line, and the file is skipped for REASON, never mapped.
patterns_run() {
	local var=$1 value=$2 why=$3 instead=$4 reason=$5 shown=$2 stats="$D/p.jsonl"
	if [ "${#value}" -gt 64 ]; then
		shown="${value:0:64}..."
	fi
	rm -f "$stats" "$D/p.log"
	catmap_run "$var=$value" PREFAULT_STATS="$stats" PREFAULT_LOG="$D/p.log"
	said "prefault: $var='$shown' is not valid: $why; $instead" "$D/p.log" "$stats"
	[ "$(stats_eval "$stats" '[(r["ev"], r["path"], r.get("reason")) for r in R if r["ev"] in ("map", "skip")]')" = \
		"[('skip', '$P', '$reason')]" ] || fail "$var='$value': not one skip ($reason)"
}

@test "a PREFAULT_INCLUDE that cannot be taken whole includes no file, and says so" {
	local long
	long="/no/such/$(printf 'a%.0s' {1..1100}):*"
	local empty='expected colon-separated fnmatch(3) patterns, none empty'
	patterns_run PREFAULT_INCLUDE '*::*' "pattern 2 of 3 is empty; $empty" 'including no file' not-included
	patterns_run PREFAULT_INCLUDE '*:' "pattern 2 of 2 is empty; $empty" 'including no file' not-included
	patterns_run PREFAULT_INCLUDE ':*' "pattern 1 of 2 is empty; $empty" 'including no file' not-included
	patterns_run PREFAULT_INCLUDE '' 'empty; expected colon-separated fnmatch(3) patterns' \
		'including no file' not-included
	patterns_run PREFAULT_INCLUDE "$long" "too long: ${#long} characters, at most 1023" \
		'including no file' not-included
}

@test "a PREFAULT_EXCLUDE that cannot be taken whole excludes every file, and says so" {
	local long
	long="/no/such/$(printf 'a%.0s' {1..1100}):/no/b"
	local empty='expected colon-separated fnmatch(3) patterns, none empty'
	patterns_run PREFAULT_EXCLUDE '/no/a::/no/b' "pattern 2 of 3 is empty; $empty" 'excluding every file' excluded
	patterns_run PREFAULT_EXCLUDE '/no/a:' "pattern 2 of 2 is empty; $empty" 'excluding every file' excluded
	patterns_run PREFAULT_EXCLUDE ':/no/a' "pattern 1 of 2 is empty; $empty" 'excluding every file' excluded
	patterns_run PREFAULT_EXCLUDE '' 'empty; expected colon-separated fnmatch(3) patterns' \
		'excluding every file' excluded
	patterns_run PREFAULT_EXCLUDE "$long" "too long: ${#long} characters, at most 1023" \
		'excluding every file' excluded
}

@test "a pattern is matched whole up to the limit (1023 characters), for include and exclude alike" {
	# One pattern of about 300 characters that matches the file: a bracket
	# of x's and the file's second character.
	local pat="${P:0:1}[$(printf 'x%.0s' {1..300})${P:1:1}]${P:2}" stats="$D/l.jsonl"
	catmap_run PREFAULT_INCLUDE="/no/such:$pat" PREFAULT_STATS="$stats"
	[ -z "$err" ]
	[ "$(stats_eval "$stats" '[(r["ev"], r["path"]) for r in R if r["ev"] in ("map", "skip")]')" = "[('map', '$P')]" ]
	rm "$stats"
	catmap_run PREFAULT_EXCLUDE="/no/such:$pat" PREFAULT_STATS="$stats"
	[ -z "$err" ]
	[ "$(stats_eval "$stats" '[(r["ev"], r["path"], r.get("reason")) for r in R if r["ev"] in ("map", "skip")]')" = \
		"[('skip', '$P', 'excluded')]" ]
}

@test "a relative PREFAULT_STATS and PREFAULT_LOG stay in the directory the program started in" {
	local out plain stats
	mkdir "$D/start" "$D/elsewhere"
	plain="$("$PROGS/chdirmap" "$D/elsewhere" "$F")"
	[ "$plain" = "bytes=$MiB bad=0" ]
	cd "$D/start"
	# Without perf records (seccomp), discovery says so in the log on the
	# program's first mmap, after its chdir.
	out="$(PREFAULT_STATS=rel.%p.jsonl PREFAULT_LOG=rel.log PREFAULT_DISCOVER=1 \
		"$PROGS/diag_noperf" env LD_PRELOAD="$LIB" "$PROGS/chdirmap" "$D/elsewhere" "$F" 2>"$D/err")"
	cat "$D/err"
	[ "$out" = "$plain" ]
	[ ! -s "$D/err" ]
	ls -la "$D/start" "$D/elsewhere"
	[ -z "$(ls -A "$D/elsewhere")" ]
	stats="$(echo "$D"/start/rel.*.jsonl)"
	[ -f "$stats" ]
	stats_check "$stats"
	# One report, all of it: the start record from before the chdir, the
	# mapping and its end from after.
	[ "$(stats_eval "$stats" '[r["ev"] for r in R if r["ev"] in ("start", "map", "done", "unmap")]')" = \
		"['start', 'map', 'done', 'unmap']" ]
	[ "$(stats_eval "$stats" '[r["path"] for r in R if r["ev"] == "map"]')" = "['$P']" ]
	grep -qx 'prefault: discovery: no perf mmap records (Permission denied): polling /proc only' "$D/start/rel.log"
}

# same_verdict OPTION VAR VALUE: the wrapper's OPTION and the library's VAR
# both take VALUE, or both refuse it for the same reason.
same_verdict() {
	local opt=$1 var=$2 value=$3 wst wline eline re
	run --separate-stderr env PREFAULT_LIBRARY="$LIB" "$WRAPPER" "$opt" "$value" -- true
	wst=$status
	wline="$(grep '^prefault: ' <<<"$stderr" || true)"
	run --separate-stderr env "$var=$value" LD_PRELOAD="$LIB" true
	[ "$status" -eq 0 ] || fail "$var='$value': true exited $status"
	eline="$(grep '^prefault: ' <<<"$stderr" || true)"
	echo "$opt '$value': wrapper $wst: $wline"
	echo "$var='$value': $eline"
	if [ "$wst" -eq 0 ]; then
		[ -z "$wline" ] || fail "the wrapper took $opt '$value' but said: $wline"
		[ -z "$eline" ] || fail "the wrapper took $opt '$value', the library refused it"
		return
	fi
	[ "$wst" -eq 2 ] || fail "the wrapper exited $wst"
	[ "$(wc -l <<<"$wline")" -eq 1 ] || fail "the wrapper said more than one line"
	[[ $wline == "prefault: invalid $opt '$value': "* ]] || fail "the wrapper's line: $wline"
	re="^prefault: $var='.*'( is not valid)?: (.*); [^;]*\$"
	[[ $eline =~ $re ]] || fail "the wrapper refused $opt '$value', the library took it (or said more)"
	[ "${wline#"prefault: invalid $opt '$value': "}" = "${BASH_REMATCH[2]}" ] ||
		fail "different reasons"
}

@test "the wrapper's options and the variables take the same values and refuse the others for the same reason" {
	local long value
	long="/no/such/$(printf 'a%.0s' {1..1100})"
	local -a budget=(64Mi 64MiB 64M 64mb 1G 1g 25% 1% 100% 1M 1T 016M 1048576
		12Q 0 1K 2T 0% 101% 12.5M 1MiBB -1M '' 64iB ' 64M' 99999999999999999999)
	local -a window=(256K 1G 16Mi 16MiB 128K 2G 50% x)
	local -a min_size=(4K 64Ki 1T 1K 2T 4Q)
	local -a threads=(1 16 016 0 17 two '' 1.5)
	local -a discover=(auto on off 1 0 maybe yes '')
	local -a patterns=('/data/*:*.db' '*' '' 'a::b' 'a:' ':a' "$long")
	local -a stats=("$D/s.%p.jsonl" stderr '' fd:x fd:)
	local -a log=("$D/l.log" stderr fd:2 '' fd:x fd:)
	for value in "${budget[@]}"; do same_verdict --budget PREFAULT_BUDGET "$value"; done
	for value in "${window[@]}"; do same_verdict --window PREFAULT_WINDOW "$value"; done
	for value in "${min_size[@]}"; do same_verdict --min-size PREFAULT_MIN_SIZE "$value"; done
	for value in "${threads[@]}"; do same_verdict --threads PREFAULT_THREADS "$value"; done
	for value in "${discover[@]}"; do same_verdict --discover PREFAULT_DISCOVER "$value"; done
	for value in "${patterns[@]}"; do same_verdict --include PREFAULT_INCLUDE "$value"; done
	for value in "${patterns[@]}"; do same_verdict --exclude PREFAULT_EXCLUDE "$value"; done
	for value in "${stats[@]}"; do same_verdict --stats PREFAULT_STATS "$value"; done
	for value in "${log[@]}"; do same_verdict --log PREFAULT_LOG "$value"; done
}

@test "the wrapper passes what it took as the library reads it: 016 as 16, on and off as 1 and 0" {
	run --separate-stderr env PREFAULT_LIBRARY="$LIB" "$WRAPPER" --threads 016 --budget 064Mi \
		--discover on --window 16MiB -- env
	[ "$status" -eq 0 ]
	grep -qx PREFAULT_THREADS=16 <<<"$output"
	grep -qx PREFAULT_BUDGET=64Mi <<<"$output"
	grep -qx PREFAULT_DISCOVER=1 <<<"$output"
	grep -qx PREFAULT_WINDOW=16MiB <<<"$output"
	run --separate-stderr env PREFAULT_LIBRARY="$LIB" "$WRAPPER" --discover off -- env
	grep -qx PREFAULT_DISCOVER=0 <<<"$output"
}
