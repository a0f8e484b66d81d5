#!/usr/bin/env bats
# report.bats - `prefault report` (tools/prefault-report): the charts drawn
# from real runs (valid SVG, a marker for every sample in the records, the
# events, a PNG rendered from the same SVG), two runs side by side, and every
# kind of bad input ending in one line and an exit status, never a
# traceback: missing, unreadable, empty, binary, truncated and corrupt
# files, a directory, a FIFO, a non-UTF-8 name, over-long lines, records of a
# later version or with fields missing, an unwritable chart path, too many
# files, bad options; working-set memory's figures (replayed, hits,
# unremembered) from a real learning and replaying run and by hand.

load test_helper

REPORT="$ROOT/tools/prefault-report"
WRAPPER="$ROOT/tools/prefault"

BENCH_RANDOM="$BUILD_DIR/tools/bench-random"

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" bench-tools >&2
}

setup() {
	prefault_setup
	[ -x "$PROGS/diag_faults" ] || fail "$PROGS/diag_faults is missing: run make test"
	[ -x "$BENCH_RANDOM" ] || fail "$BENCH_RANDOM is missing: run make bench-tools"
	for t in xmllint rsvg-convert python3; do
		command -v "$t" >/dev/null || fail "$t is missing (tools/install-deps)"
	done
	export PREFAULT_LIBRARY="$LIB"
}

# real_run NAME [ENV...]: diag_faults on a cold 256 MiB file with the
# library, its report in $BATS_TEST_TMPDIR/NAME.jsonl; sets $stats.
real_run() {
	local name=$1 f
	shift
	f="$(big_file report-256 256M)"
	stats="$BATS_TEST_TMPDIR/$name.jsonl"
	run --separate-stderr env "$@" PREFAULT_STATS="$stats" LD_PRELOAD="$LIB" "$PROGS/diag_faults" "$f"
	show
	[ "$status" -eq 0 ]
	stats_check "$stats"
}

# random_run NAME [ENV...]: bench-random (tools/bench/random.c: 4000
# random one-byte reads of a cold 256 MiB file after a 300 ms pause) with
# the library, its report in $BATS_TEST_TMPDIR/NAME.jsonl; sets $stats.
random_run() {
	local name=$1 dir
	shift
	dir="$(data_dir)"
	stats="$BATS_TEST_TMPDIR/$name.jsonl"
	run --separate-stderr env "$@" PREFAULT_STATS="$stats" LD_PRELOAD="$LIB" "$BENCH_RANDOM" --dir "$dir" \
		--size 256M --pause 300 --reads 4000
	show
	[ "$status" -eq 0 ]
	[[ $output == *" cached_at_start=0 "* ]]
	stats_check "$stats"
}

# done_result FILE: the result of FILE's first done record, "?" (as the
# comparison shows it) when there is none: a helper that had not finished
# when the program ended writes none.
done_result() {
	stats_eval "$1" '([r["result"] for r in R if r["ev"] == "done"] + ["?"])[0]'
}

# one_error STATUS: the last run exited STATUS and said one line on stderr,
# "prefault-report: ...", and nothing on stdout.
one_error() {
	show
	[ "$status" -eq "$1" ] || fail "exit $status, expected $1"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "stderr is ${#stderr_lines[@]} lines, expected 1"
	[[ $stderr == "prefault-report: "* ]] || fail "stderr does not start with prefault-report:"
	[ -z "$output" ] || fail "stdout is not empty"
}

# no_traceback: stderr of the last run holds no Python traceback.
no_traceback() {
	[[ $stderr != *Traceback* && $stderr != *'File "'* ]] || fail "a traceback"
}

# svg_count FILE XPATH-PREDICATE: how many elements of FILE match.
svg_count() {
	xmllint --xpath "count(//*$2)" "$1"
}

# records FILE LINES...: writes the JSON lines to FILE.
records() {
	local f=$1
	shift
	printf '%s\n' "$@" >"$f"
}

# A small report of 3 proc samples, written by hand: a mapping of 64 MiB,
# brought in over 2 s, faulted on at +0.5 s.
small_report() {
	local f=$1 p=${2:-100}
	records "$f" \
		'{"v":2,"ev":"start","t":1000.0,"pid":'"$p"',"active":true,"budget":1073741824,"window":16777216,"threads":1,"populate_read":true}' \
		'{"v":2,"ev":"map","t":1000.1,"pid":'"$p"',"id":1,"addr":"0x7f0000000000","len":67108864,"offset":0,"path":"/srv/data.db","source":"hook"}' \
		'{"v":2,"ev":"proc","t":1001.0,"pid":'"$p"',"program":{"threads":1,"majflt":40,"minflt":3,"offcpu_ms":800.0,"blkio_ms":null},"helpers":{"threads":1,"majflt":10,"minflt":9,"offcpu_ms":900.0,"blkio_ms":null},"brought_in":33554432,"records_dropped":0,"attribution":"perf","majflt_sampled":40,"majflt_lost":0,"majflt_untracked":0,"residency":"pagemap","mappings":[{"id":1,"pages":16384,"resident":8192,"sampled":16384,"majflt":40,"first_fault":1000.6}]}' \
		'{"v":2,"ev":"done","t":1002.1,"pid":'"$p"',"id":1,"path":"/srv/data.db","len":67108864,"bytes_in":67108864,"resident_before":0,"ms":2000.0,"result":"complete","errors":0,"last_error":""}' \
		'{"v":2,"ev":"proc","t":1002.0,"pid":'"$p"',"program":{"threads":1,"majflt":50,"minflt":3,"offcpu_ms":900.0,"blkio_ms":null},"helpers":{"threads":1,"majflt":20,"minflt":9,"offcpu_ms":1900.0,"blkio_ms":null},"brought_in":67108864,"records_dropped":0,"attribution":"perf","majflt_sampled":50,"majflt_lost":0,"majflt_untracked":0,"residency":"pagemap","mappings":[{"id":1,"pages":16384,"resident":16000,"sampled":16384,"majflt":50,"first_fault":1000.6}]}' \
		'{"v":2,"ev":"proc","t":1002.5,"pid":'"$p"',"program":{"threads":1,"majflt":50,"minflt":3,"offcpu_ms":950.0,"blkio_ms":null},"helpers":{"threads":0,"majflt":20,"minflt":9,"offcpu_ms":0.0,"blkio_ms":null},"brought_in":67108864,"records_dropped":0,"attribution":"perf","majflt_sampled":50,"majflt_lost":0,"majflt_untracked":0,"residency":"pagemap","mappings":[{"id":1,"pages":16384,"resident":16384,"sampled":16384,"majflt":50,"first_fault":1000.6}]}'
}

@test "chart of a real run: valid SVG, a marker at every sample in the records, the events, a PNG of the same drawing" {
	real_run budget PREFAULT_BUDGET=64M
	local svg="$BATS_TEST_TMPDIR/c.svg" png="$BATS_TEST_TMPDIR/c.png" want
	run --separate-stderr "$REPORT" --chart "$svg" "$stats"
	show
	[ "$status" -eq 0 ]
	xmllint --noout "$svg"
	# One marker per residency sample (proc records' mapping entries), per
	# progress record, per attributed fault count, per proc record.
	want="$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "proc" for m in r.get("mappings", []) if m["pages"] > 0 and m["resident"] >= 0)')"
	echo "residency samples: $want"
	[ "$want" -ge 1 ]
	[ "$(svg_count "$svg" '[@class="sample"][@data-series="residency"]')" -eq "$want" ]
	want="$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "progress" and r["len"] > 0)')"
	[ "$(svg_count "$svg" '[@class="sample"][@data-series="progress"]')" -eq "$want" ]
	want="$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "proc" for m in r.get("mappings", []) if "majflt" in m)')"
	[ "$(svg_count "$svg" '[@class="sample"][@data-series="faults"]')" -eq "$want" ]
	want="$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "proc")')"
	[ "$(svg_count "$svg" '[@class="sample"][@data-series="program"]')" -eq "$want" ]
	# The events: mapped, the budget spent (64M of a 256 MiB file), the
	# program's first fault, one each.
	[ "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done"]')" = "['budget']" ]
	[ "$(svg_count "$svg" '[@class="event"][@data-kind="mapped"]')" -eq 1 ]
	[ "$(svg_count "$svg" '[@class="event"][@data-kind="budget"]')" -eq 1 ]
	[ "$(svg_count "$svg" '[@class="event"][@data-kind="first"]')" -eq 1 ]
	# The PNG is the same SVG rendered: a PNG, of the SVG's size, not blank.
	run --separate-stderr "$REPORT" --chart "$png" "$stats"
	show
	[ "$status" -eq 0 ]
	[ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
	[ "$(stat -c %s "$png")" -gt 20000 ]
	[ "$(python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$png")" = \
		"$(xmllint --xpath 'concat(/*/@width, "x", /*/@height)' "$svg")" ]
}

@test "two or three samples are drawn as markers, not only as a line" {
	local f="$BATS_TEST_TMPDIR/small.jsonl" svg="$BATS_TEST_TMPDIR/small.svg"
	small_report "$f"
	run --separate-stderr "$REPORT" --chart "$svg" "$f"
	show
	[ "$status" -eq 0 ]
	xmllint --noout "$svg"
	[ "$(svg_count "$svg" '[@class="sample"][@data-series="residency"]')" -eq 3 ]
	[ "$(svg_count "$svg" '[@class="sample"][@data-series="faults"]')" -eq 3 ]
	[ "$(svg_count "$svg" '[@class="event"][@data-kind="done"]')" -eq 1 ]
	[[ $output == *"/srv/data.db"*"64.0 MiB"*"complete"*"100%"*"50"*"first fault +500 ms"* ]]
}

@test "BEFORE AFTER: two real runs side by side, per process and per mapping, with the ratio" {
	local before after f
	# Before: measured without prefetching (PREFAULT_PREFETCH=0, what
	# prefault --diagnose sets).
	random_run before PREFAULT_PREFETCH=0
	before=$stats
	[ "$(stats_eval "$before" '[r["prefetch"] for r in R if r["ev"] == "start"]')" = "[False]" ]
	random_run after
	after=$stats
	f="$(stats_eval "$after" '[r["path"] for r in R if r["ev"] == "map"][0]')"
	run --separate-stderr "$REPORT" --chart "$BATS_TEST_TMPDIR/both.svg" "$before" "$after"
	show
	[ "$status" -eq 0 ]
	no_traceback
	local fb fa line
	fb="$(stats_eval "$before" '[r for r in R if r["ev"] == "proc"][-1]["program"]["majflt"]')"
	fa="$(stats_eval "$after" '[r for r in R if r["ev"] == "proc"][-1]["program"]["majflt"]')"
	[[ ${lines[0]} == "prefault report: before $before (pid "* ]]
	[[ ${lines[1]} == *"after  $after (pid "* ]]
	line="$(grep -m1 '^  program major faults' <<<"$output")"
	echo "$line"
	[ "$(awk '{ print $4, $5 }' <<<"$line")" = "$fb $fa" ]
	if [ "$fb" -gt 0 ]; then
		[ "$(awk '{ print $6 }' <<<"$line")" = "$(python3 -c 'import sys; print("%.2fx" % (int(sys.argv[2]) / int(sys.argv[1])))' "$fb" "$fa")" ]
	fi
	[[ $output == *"mapping $f (256 MiB)"* ]]
	# The mapping's rows: before's prefetch was off, after's what its done
	# record says (complete; unmapped when the program ended first).
	[[ $output == *"  prefetch "*" off "*" $(done_result "$after")"* ]]
	[[ $output == *"  brought in "*" 0 B "* ]]
	[[ ${lines[0]} == *"prefetch off"* && ${lines[1]} == *"prefetch on"* ]]
	[[ $output == *"resident (last sample)"* && $output == *"first fault after mapping"* ]]
	# The chart: one block per run.
	xmllint --noout "$BATS_TEST_TMPDIR/both.svg"
	[ "$(svg_count "$BATS_TEST_TMPDIR/both.svg" '[@class="event"][@data-kind="mapped"]')" -eq 2 ]
	[ "$(svg_count "$BATS_TEST_TMPDIR/both.svg" '[@class="sample"][@data-series="program"]')" -eq \
		"$(($(stats_eval "$before" 'sum(r["ev"] == "proc" for r in R)') + $(stats_eval "$after" 'sum(r["ev"] == "proc" for r in R)')))" ]
}

@test "BEFORE AFTER: an inert (--off) run before has no measurements, and says so" {
	random_run off PREFAULT=0
	local off=$stats
	random_run after
	run --separate-stderr "$WRAPPER" report "$off" "$stats"
	show
	[ "$status" -eq 0 ]
	no_traceback
	[[ ${lines[0]} == *"prefetch inert"* ]]
	[[ $output == *"before: no proc record (prefault was inert"* ]]
	[[ $output == *"program major faults"*"not tracked"* ]]
}

# human BYTES...: each as the report prints a size (its own human()).
human() {
	python3 - "$REPORT" "$@" <<'EOF2'
import importlib.machinery, sys
r = importlib.machinery.SourceFileLoader("report", sys.argv[1]).load_module()
for a in sys.argv[2:]:
    print(r.human(int(a)))
EOF2
}

# recall_run NAME WAIT [ENV...]: tests/progs/recall (see tests/recall.bats)
# on $rfile under PREFAULT_REMEMBER=$rdir, one helper, its report in
# $BATS_TEST_TMPDIR/NAME.jsonl; waits for the record's store before it
# exits, so that the done record carries the figures; sets $stats.
recall_run() {
	local name=$1 wait=$2
	shift 2
	stats="$BATS_TEST_TMPDIR/$name.jsonl"
	run --separate-stderr env "$@" PREFAULT_STATS="$stats" PREFAULT_REMEMBER="$rdir" PREFAULT_THREADS=1 \
		LD_PRELOAD="$LIB" "$PROGS/recall" "$rfile" 60000 24:1 36:2 52:2 far 44:2 "$wait" ext \
		stored "$rdir/$("$PROGS/remember_store" name "$rfile")"
	show
	[ "$status" -eq 0 ]
	[ "$(field stored)" = met ]
	stats_check "$stats"
}

@test "working-set memory: replayed, hits and unremembered per mapping and summed, in the summary, the comparison and at exit" {
	local rdir="$BATS_TEST_TMPDIR/records" rfile learn replay want line
	mkdir -m 700 "$rdir"
	rfile="$(data_dir)/report-recall.dat"
	rm -f "$rfile"
	rfile="$(big_file report-recall.dat 64M)"
	# A first run learns the three extents (5 MiB), a second replays them.
	recall_run learn until
	learn=$stats
	"$PROGS/evict" "$rfile"
	recall_run replay until PREFAULT_BUDGET=8M
	replay=$stats
	# What the done record says, as the report prints it.
	want="$(human $(stats_eval "$replay" '" ".join(str(d[k]) for d in R if d["ev"] == "done" for k in ("replayed", "replay_used", "unremembered"))'))"
	echo "want: $want"
	[ "$(stats_eval "$replay" '[d["replayed"] > 0 and d["replay_used"] > 0 for d in R if d["ev"] == "done"]')" = "[True]" ]
	local rep hit unrem
	{ read -r rep; read -r hit; read -r unrem; } <<<"$want"
	run --separate-stderr "$REPORT" "$replay"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ $output == *"  mapping "*"already  replayed  "*"hits  unremembered  "*"took"* ]]
	line="$(grep -F "$rfile" <<<"$output")"
	# The cells after size, brought in and already.
	[ "$(awk '{ print $8 " " $9, $10 " " $11, $12 " " $13 }' <<<"$line")" = "$rep $hit $unrem" ]
	[[ $output == *"  working-set memory: 1 mapping(s) remembered: replayed $rep, hits $hit (touched in remembered extents), unremembered $unrem (touched, not in the record)"* ]]
	# --at-exit's summary lists the mappings: the same figures.
	run --separate-stderr "$REPORT" --at-exit "$(stats_eval "$replay" 'R[0]["pid"]')" "$replay"
	show
	[ "$status" -eq 0 ]
	[[ $stderr == *"  working-set memory: 1 mapping(s) remembered: replayed $rep, hits $hit"* ]]
	[ "$(grep -F "$rfile" <<<"$stderr" | awk '{ print $8 " " $9, $10 " " $11 }')" = "$rep $hit" ]
	# Side by side: the learning run replayed nothing; its hits are 0 and
	# what it touched is all unremembered.
	local lunrem
	lunrem="$(human "$(stats_eval "$learn" '[d["unremembered"] for d in R if d["ev"] == "done"][0]')")"
	[ "$(stats_eval "$learn" '[(d["replayed"], d["replay_used"]) for d in R if d["ev"] == "done"]')" = "[(0, 0)]" ]
	run --separate-stderr "$REPORT" "$learn" "$replay"
	show
	[ "$status" -eq 0 ]
	for k in "replayed:0 B:$rep" "replay hits:0 B:$hit" "unremembered:$lunrem:$unrem"; do
		IFS=: read -r label b a <<<"$k"
		# Once for the process, once for the mapping.
		[ "$(grep -c -E "^  $label +$b +$a *\$" <<<"$output")" -eq 2 ] || fail "no row '$label $b $a' twice"
	done
	# Without PREFAULT_REMEMBER: nothing of it printed.
	run --separate-stderr env PREFAULT_STATS="$BATS_TEST_TMPDIR/off.jsonl" LD_PRELOAD="$LIB" "$PROGS/recall" "$rfile" 300 24:1
	[ "$status" -eq 0 ]
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/off.jsonl"
	show
	[ "$status" -eq 0 ]
	[[ $output == *"$rfile"* ]]
	[[ $output != *replay* && $output != *unremembered* && $output != *working-set* ]]
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/off.jsonl" "$BATS_TEST_TMPDIR/off.jsonl"
	show
	[ "$status" -eq 0 ]
	[[ $output == *"mapping $rfile"* ]]
	[[ $output != *replay* && $output != *unremembered* ]]
}

@test "working-set memory by hand: the cells, the sums over the mappings that carry them, a dash for one that does not" {
	local f="$BATS_TEST_TMPDIR/recall.jsonl"
	records "$f" \
		'{"v":2,"ev":"start","t":1000.0,"pid":200,"active":true,"budget":8388608,"window":16777216,"threads":1,"populate_read":true}' \
		'{"v":2,"ev":"map","t":1000.1,"pid":200,"id":1,"addr":"0x7f0000000000","len":67108864,"offset":0,"path":"/srv/a.db","source":"hook"}' \
		'{"v":2,"ev":"map","t":1000.1,"pid":200,"id":2,"addr":"0x7f1000000000","len":16777216,"offset":0,"path":"/srv/b.db","source":"hook"}' \
		'{"v":2,"ev":"map","t":1000.1,"pid":200,"id":3,"addr":"0x7f2000000000","len":16777216,"offset":0,"path":"/srv/c.db","source":"hook"}' \
		'{"v":2,"ev":"done","t":1003.0,"pid":200,"id":1,"path":"/srv/a.db","len":67108864,"bytes_in":8388608,"resident_before":0,"ms":900.0,"result":"budget","errors":0,"last_error":"","replayed":5242880,"replay_used":6291456,"unremembered":131072}' \
		'{"v":2,"ev":"done","t":1003.0,"pid":200,"id":2,"path":"/srv/b.db","len":16777216,"bytes_in":1048576,"resident_before":0,"ms":100.0,"result":"complete","errors":0,"last_error":"","replayed":1048576,"replay_used":2097152,"unremembered":65536}' \
		'{"v":2,"ev":"done","t":1003.0,"pid":200,"id":3,"path":"/srv/c.db","len":16777216,"bytes_in":0,"resident_before":0,"ms":100.0,"result":"complete","errors":0,"last_error":""}'
	run --separate-stderr "$REPORT" "$f"
	show
	[ "$status" -eq 0 ]
	[[ $output == *"  /srv/a.db  64.0 MiB     8.0 MiB      0 B   5.0 MiB  6.0 MiB       128 KiB  900 ms    budget "* ]]
	[[ $output == *"  /srv/b.db  16.0 MiB     1.0 MiB      0 B   1.0 MiB  2.0 MiB      64.0 KiB  100 ms  complete "* ]]
	[[ $output == *"  /srv/c.db  16.0 MiB         0 B      0 B         -        -             -  100 ms  complete "* ]]
	[[ $output == *"  working-set memory: 2 mapping(s) remembered: replayed 6.0 MiB, hits 8.0 MiB (touched in remembered extents), unremembered 192 KiB (touched, not in the record)"* ]]
	# Compared with a run that did not remember: a dash for it.
	small_report "$BATS_TEST_TMPDIR/plain.jsonl" 200
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/plain.jsonl" "$f"
	show
	[ "$status" -eq 0 ]
	grep -q -E '^  replayed +- +6\.0 MiB *$' <<<"$output"
	grep -q -E '^  replay hits +- +8\.0 MiB *$' <<<"$output"
	grep -q -E '^  unremembered +- +192 KiB *$' <<<"$output"
	[[ $output == *"mapping /srv/a.db (64.0 MiB)"*"  replayed "*" not tracked  5.0 MiB"* ]]
	# Neither remembered: no row of it.
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/plain.jsonl" "$BATS_TEST_TMPDIR/plain.jsonl"
	[ "$status" -eq 0 ]
	[[ $output != *replay* && $output != *unremembered* ]]
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/plain.jsonl"
	[[ $output != *replay* && $output != *unremembered* && $output != *working-set* ]]
}

@test "files that cannot be read: missing, a directory, unreadable, empty, binary: one line, exit 1" {
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/none.jsonl"
	one_error 1
	[ "$stderr" = "prefault-report: $BATS_TEST_TMPDIR/none.jsonl: No such file or directory" ]
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR"
	one_error 1
	[[ $stderr == *": Is a directory" ]]
	small_report "$BATS_TEST_TMPDIR/secret.jsonl"
	chmod 600 "$BATS_TEST_TMPDIR/secret.jsonl"
	if [ "$(id -u)" -eq 0 ]; then
		chmod 755 "$BATS_TEST_TMPDIR"
		run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$REPORT" "$BATS_TEST_TMPDIR/secret.jsonl"
	else
		chmod 000 "$BATS_TEST_TMPDIR/secret.jsonl"
		run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/secret.jsonl"
	fi
	one_error 1
	[[ $stderr == *": Permission denied" ]]
	: >"$BATS_TEST_TMPDIR/empty.jsonl"
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/empty.jsonl"
	one_error 1
	[[ $stderr == *"empty.jsonl: no statistics record" ]]
	head -c 3M /dev/urandom >"$BATS_TEST_TMPDIR/binary.jsonl"
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/binary.jsonl"
	one_error 1
	[[ $stderr == *"binary.jsonl: no statistics record ("*" line(s) that are not records"* ]]
}

@test "a FIFO and standard input are read like files" {
	small_report "$BATS_TEST_TMPDIR/small.jsonl"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	# The writer gives up after 60 s if the report never opens the FIFO.
	timeout 60 sh -c 'cat "$1" >"$2"' sh "$BATS_TEST_TMPDIR/small.jsonl" "$BATS_TEST_TMPDIR/fifo" &
	run --separate-stderr timeout 60 "$REPORT" "$BATS_TEST_TMPDIR/fifo"
	wait
	show
	[ "$status" -eq 0 ]
	[[ $output == *"/srv/data.db"* ]]
	run --separate-stderr "$REPORT" - <"$BATS_TEST_TMPDIR/small.jsonl"
	show
	[ "$status" -eq 0 ]
	[[ $output == "prefault report: -, pid 100"*"/srv/data.db"* ]]
}

@test "truncated, corrupt and over-long lines and fields of the wrong type are counted and ignored" {
	local f="$BATS_TEST_TMPDIR/corrupt.jsonl" deep
	small_report "$f"
	deep="$(python3 -c 'print("[" * 100000 + "]" * 100000)')"
	{
		echo '{"v":2,"ev":"map","t":1000.2,"pid":[1],"id":2,"len":1,"path":"x"}'
		echo '{"v":2,"ev":"map","t":"soon","pid":100,"id":3,"len":1,"path":"x"}'
		echo '{"v":2,"ev":"map","t":1000.3,"pid":100,"id":"four","len":1,"path":"x"}'
		echo '{"v":2,"ev":"map","t":1000.3,"pid":100,"id":5,"len":1e400,"path":17}'
		echo '{"v":2,"ev":"map","t":1000.3,"pid":100,"id":6,"len":100000000000000000000000000000,"path":{"a":1}}'
		echo '{"v":2,"ev":"proc","t":1002.6,"pid":100,"program":7,"helpers":[],"mappings":{"id":1},"attribution":3}'
		echo '{"v":2,"ev":"progress","t":1000.5,"pid":100,"id":1,"len":0,"done":"half"}'
		echo '{"v":2,"ev":"done","t":1003,"pid":100,"id":5,"result":["complete"],"ms":"slow","bytes_in":-1}'
		echo '"just a string"'
		echo '[1, 2, 3]'
		echo "$deep"
		python3 -c 'import sys; sys.stdout.write("{\"v\":2,\"pad\":\"" + "x" * (3 << 20) + "\"}\n")'
		printf '\xff\xfe\x00garbage\n'
		printf '{"v":2,"ev":"proc","t":1003.0,"pid":100,"program":{"majf'
	} >>"$f"
	run --separate-stderr "$REPORT" --chart "$BATS_TEST_TMPDIR/corrupt.svg" "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ $output == *"/srv/data.db"*"complete"* ]]
	[[ $output == *"(8 line(s) were not records and were ignored; 1 longer than 1 MiB)"* ]]
	xmllint --noout "$BATS_TEST_TMPDIR/corrupt.svg"
	# A huge report: 100 000 mappings, every one listed.
	python3 -c '
import json, sys
w = sys.stdout.write
w(json.dumps({"v": 2, "ev": "start", "t": 1.0, "pid": 9, "active": True}) + "\n")
for i in range(100000):
    w(json.dumps({"v": 2, "ev": "map", "t": 1.0 + i / 1e5, "pid": 9, "id": i, "len": 1 << 20, "path": "/d/f%d" % i}) + "\n")' \
		>"$BATS_TEST_TMPDIR/huge.jsonl"
	run --separate-stderr "$REPORT" --chart "$BATS_TEST_TMPDIR/huge.svg" "$BATS_TEST_TMPDIR/huge.jsonl"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^  /d/f' <<<"$output")" -eq 100000 ]
	xmllint --noout "$BATS_TEST_TMPDIR/huge.svg"
}

@test "records of a later version, and records with fields missing, are read for what is known" {
	local f="$BATS_TEST_TMPDIR/v3.jsonl"
	records "$f" \
		'{"v":3,"ev":"start","t":5.0,"pid":7,"active":true,"new_field":{"x":[1,2]}}' \
		'{"v":3,"ev":"teleport","t":5.1,"pid":7,"id":1}' \
		'{"v":3,"ev":"map","t":5.2,"pid":7,"id":1,"path":"/srv/v3.db"}' \
		'{"v":3,"ev":"proc","t":6.0,"pid":7}'
	run --separate-stderr "$REPORT" --chart "$BATS_TEST_TMPDIR/v3.svg" "$f"
	show
	[ "$status" -eq 0 ]
	[ "$stderr" = "prefault-report: $f: records of format version 3; this reader knows version 2 and shows what it knows" ]
	[[ $output == *"/srv/v3.db"*"?"*"in progress"* ]]
	[[ $output == *"program: ?"* ]]
	xmllint --noout "$BATS_TEST_TMPDIR/v3.svg"
	# Nothing but the fields every record has.
	records "$f" '{"v":2,"ev":"map","t":5.2,"pid":7}' '{"v":2,"ev":"done","t":5.2,"pid":7}' '{"v":2,"ev":"proc","t":5.3,"pid":7}'
	run --separate-stderr "$REPORT" "$f" "$f"
	show
	[ "$status" -eq 0 ]
	no_traceback
}

@test "a non-UTF-8 file name, and non-UTF-8 bytes in a record, are shown escaped" {
	local f
	f="$BATS_TEST_TMPDIR/$(printf 'caf\xe9').jsonl"
	small_report "$f"
	# Written raw (an older library), and as the library writes it now: valid
	# UTF-8 with the original bytes in path_hex.
	printf '{"v":2,"ev":"map","t":1000.2,"pid":100,"id":9,"len":67108864,"path":"/srv/\xff.db","source":"hook"}\n' >>"$f"
	printf '{"v":2,"ev":"map","t":1000.2,"pid":100,"id":10,"len":67108864,"path":"/srv/\\ufffd2.db","path_hex":"2f7372762fff322e6462","source":"hook"}\n' >>"$f"
	run --separate-stderr "$REPORT" --chart "$BATS_TEST_TMPDIR/u.svg" "$f"
	show
	[ "$status" -eq 0 ]
	[[ $output == "prefault report: $BATS_TEST_TMPDIR/caf\\xe9.jsonl, pid 100"* ]]
	[[ $output == *"/srv/"$'\xef\xbf\xbd'".db"* ]]
	[[ $output == *"/srv/\xff2.db"* ]]
	xmllint --noout "$BATS_TEST_TMPDIR/u.svg"
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR/$(printf 'caf\xe9')-none.jsonl"
	one_error 1
	[ "$stderr" = "prefault-report: $BATS_TEST_TMPDIR/caf\\xe9-none.jsonl: No such file or directory" ]
}

@test "a chart that cannot be written (docs/benchmarks.md's example outside the checkout): one line, exit 1" {
	local f="$BATS_TEST_TMPDIR/small.jsonl"
	small_report "$f"
	# docs/benchmarks.md's real run draws docs/report.svg; here `--chart docs/report.svg` runs where there is no docs/.
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr "$WRAPPER" report --chart docs/report.svg "$f"
	show
	[ "$status" -eq 1 ]
	[ "${stderr_lines[-1]}" = "prefault-report: --chart docs/report.svg: No such file or directory" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	mkdir "$BATS_TEST_TMPDIR/dir.svg"
	run --separate-stderr "$REPORT" --chart "$BATS_TEST_TMPDIR/dir.svg" "$f"
	show
	[ "$status" -eq 1 ]
	[ "${stderr_lines[-1]}" = "prefault-report: --chart $BATS_TEST_TMPDIR/dir.svg: Is a directory" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	mkdir "$BATS_TEST_TMPDIR/ro"
	if [ "$(id -u)" -eq 0 ]; then
		run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups "$REPORT" --chart "$BATS_TEST_TMPDIR/ro/c.png" - <"$f"
	else
		chmod 555 "$BATS_TEST_TMPDIR/ro"
		run --separate-stderr "$REPORT" --chart "$BATS_TEST_TMPDIR/ro/c.png" "$f"
	fi
	show
	[ "$status" -eq 1 ]
	[ "${stderr_lines[-1]}" = "prefault-report: --chart $BATS_TEST_TMPDIR/ro/c.png: Permission denied" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	# A PNG needs rsvg-convert: without it, one line that says so.
	mkdir "$BATS_TEST_TMPDIR/bin"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin" "$(python3 -c 'import sys; print(sys.executable)')" "$REPORT" --chart "$BATS_TEST_TMPDIR/c.png" "$f"
	show
	[ "$status" -eq 1 ]
	[ "${stderr_lines[-1]}" = "prefault-report: a PNG chart needs rsvg-convert (Debian: librsvg2-bin); an .svg chart needs nothing" ]
	[ ! -e "$BATS_TEST_TMPDIR/c.png" ]
}

@test "usage: a glob of three files, bad options, a chart name that is neither .svg nor .png: one line, exit 2" {
	local i
	for i in 1 2 3; do small_report "$BATS_TEST_TMPDIR/run.$i.jsonl" "$i"; done
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR"/run.*.jsonl
	one_error 2
	[ "$stderr" = "prefault-report: 3 files given: give one FILE, or BEFORE and AFTER" ]
	# A glob of two compares them, in the shell's order.
	run --separate-stderr "$REPORT" "$BATS_TEST_TMPDIR"/run.[12].jsonl
	show
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "prefault report: before $BATS_TEST_TMPDIR/run.1.jsonl (pid 1, prefetch on)" ]]
	run --separate-stderr "$REPORT"
	one_error 2
	run --separate-stderr "$REPORT" --frobnicate "$BATS_TEST_TMPDIR/run.1.jsonl"
	one_error 2
	run --separate-stderr "$REPORT" --pid many "$BATS_TEST_TMPDIR/run.1.jsonl"
	one_error 2
	run --separate-stderr "$REPORT" --chart out.txt "$BATS_TEST_TMPDIR/run.1.jsonl"
	one_error 2
	[ "$stderr" = "prefault-report: --chart out.txt: the file name must end in .svg or .png" ]
	run --separate-stderr "$REPORT" --pid 42 "$BATS_TEST_TMPDIR/run.1.jsonl"
	one_error 1
	[ "$stderr" = "prefault-report: $BATS_TEST_TMPDIR/run.1.jsonl: no statistics record for pid 42" ]
	# A reader that leaves early (| head) gets no complaint: 20 000 mappings,
	# more than a pipe holds.
	python3 -c '
import json, sys
for i in range(20000):
    sys.stdout.write(json.dumps({"v": 2, "ev": "map", "t": 1.0, "pid": 9, "id": i, "len": 1, "path": "/d/f%d" % i}) + "\n")' \
		>"$BATS_TEST_TMPDIR/many.jsonl"
	run --separate-stderr bash -c '"$1" "$2" | head -n 1' sh "$REPORT" "$BATS_TEST_TMPDIR/many.jsonl"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "compare's chart: a group per workload, a bar per alternative, plain/hot/limit as marks, the p99 latencies" {
	local svg="$BATS_TEST_TMPDIR/compare.svg" out="$BATS_TEST_TMPDIR/rows"
	# The recorded run's table (tools/bench/COMPARE.md), as compare prints it.
	run --separate-stderr "$ROOT/tools/bench/compare-chart" "$ROOT/tools/bench/COMPARE.md" "$svg"
	show
	[ "$status" -eq 0 ]
	xmllint --noout "$svg"
	# The first table (the recorded run), its rows as "GROUP ALT P99?".
	awk '/^workload +alternative/ { on = 1; next } on && /^$/ { exit }
	     on { if ($0 !~ /^ /) g = ($1 == "server:") ? "server" : "other"
	          for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^([0-9.]+|-)$/ && $(i + 2) ~ /x$|^-$/) { alt = $i; break }
	          print g, alt, ($0 ~ /p99 [0-9.]+ ms/) ? "p99" : "-" }' "$ROOT/tools/bench/COMPARE.md" >"$out"
	cat "$out"
	# Time panel: every row but the server's (its time is the schedule), the
	# alternatives as bars, plain/hot/limit as marks.  Latency panel: every
	# row with a p99, plain and hot as marks.
	local bars marks
	bars="$(awk '$2 !~ /^(plain|hot|limit)$/ { n += ($1 != "server") + ($3 == "p99") } END { print n }' "$out")"
	marks="$(awk '$2 ~ /^(plain|hot|limit)$/ { n += ($1 != "server") + ($3 == "p99") } END { print n }' "$out")"
	echo "bars $bars, marks $marks"
	[ "$(awk '$3 == "p99"' "$out" | wc -l)" -ge 8 ]
	[ "$(svg_count "$svg" '[@class="bar"]')" -eq "$bars" ]
	[ "$(svg_count "$svg" '[@class="mark"]')" -eq "$marks" ]
	[ "$(svg_count "$svg" '[@class="bar"][@data-alt="plain" or @data-alt="hot" or @data-alt="limit"]')" -eq 0 ]
	# The Go ticker's p99, prefault's included (where it lost), is drawn.
	local go_p99
	go_p99="$(awk '/^workload +alternative/ { on = 1 } on && /^$/ { exit } on' "$ROOT/tools/bench/COMPARE.md" |
		grep -m1 -E '^ +prefault .*ticker p99' | grep -oE 'ticker p99 [0-9.]+' | awk '{ print $3 }')"
	[ -n "$go_p99" ]
	grep -q ">$go_p99 ms" "$svg"
	# A file without a table: one line, exit 1.
	run --separate-stderr "$ROOT/tools/bench/compare-chart" "$ROOT/README.md" "$svg"
	[ "$status" -eq 1 ]
	[ "$stderr" = "compare-chart: $ROOT/README.md: no compare table in it (a line 'workload  alternative ...')" ]
}

@test "prefault --diagnose, then prefault: prefault report shows the two runs side by side" {
	local dir before="$BATS_TEST_TMPDIR/diagnose.jsonl" after="$BATS_TEST_TMPDIR/prefault.jsonl"
	dir="$(data_dir)"
	run --separate-stderr "$WRAPPER" --diagnose --stats "$before" -- "$BENCH_RANDOM" --dir "$dir" --size 256M --pause 300 --reads 4000
	show
	[ "$status" -eq 0 ]
	run --separate-stderr "$WRAPPER" --stats "$after" -- "$BENCH_RANDOM" --dir "$dir" --size 256M --pause 300 --reads 4000
	show
	[ "$status" -eq 0 ]
	run --separate-stderr "$WRAPPER" report "$before" "$after"
	show
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "prefault report: before $before (pid "*", prefetch off, $BENCH_RANDOM)" ]]
	[[ ${lines[1]} == *"after  $after (pid "*", prefetch on, $BENCH_RANDOM)" ]]
	[[ $output == *"mapping $dir/bench-268435456.dat (256 MiB)"* ]]
	[[ $output == *"  prefetch "*" off "*" $(done_result "$after")"* ]]
}
