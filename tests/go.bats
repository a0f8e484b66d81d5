#!/usr/bin/env bats
# go.bats - real Go programs (cgo, dynamic) that map files with raw system
# calls no hook sees: syscall.Mmap, golang.org/x/sys/unix.Mmap, and bbolt.
# Discovery (shim/lib/discover.c) finds their mappings in /proc/self/maps, and
# the helpers bring them in while the program pauses.
#
# Each program maps a cold file of >= 256 MiB, hints MADV_RANDOM (bbolt
# does it itself), pauses (preloaded: until prefault's done record, see
# go_helper.bash), then reads 20k random bytes and reports the major faults
# of its own threads (the threads not named prefault*).
# The programs live in tests/go/NAME/ and are built by tests/go.mk.

load test_helper
load go_helper

GO_PROGS="$BUILD_DIR/tests/go"

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" test-go >&2
}

setup() {
	prefault_setup
	local p
	for p in sysmmap unixmmap boltdb discbench remap; do
		[ -x "$GO_PROGS/$p" ] || fail "$GO_PROGS/$p is missing: run make test-go"
	done
}

# bolt_db: prints the path of a bbolt database of 288 MiB (values of 1 MiB),
# made once per run and evicted from the page cache on every call.
bolt_db() {
	local dir path
	dir="$(data_dir)" || return 1
	path="$dir/go-bolt.db"
	if [ ! -f "$path.ok" ]; then
		rm -f "$path"
		"$GO_PROGS/boltdb" create "$path" 288 >&2 || fail "boltdb create $path"
		touch "$path.ok"
	fi
	"$PROGS/evict" "$path" >&2 || fail "evict $path"
	printf '%s\n' "$path"
}

@test "the Go test programs are dynamic, and a preload takes effect in them" {
	local p
	for p in sysmmap unixmmap boltdb discbench remap; do
		run readelf -d "$GO_PROGS/$p"
		[ "$status" -eq 0 ]
		grep -q '(NEEDED)' <<<"$output" || fail "$p has no NEEDED entry: static, LD_PRELOAD would be ignored"
	done
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_STATS="$BATS_TEST_TMPDIR/s.jsonl" \
		"$GO_PROGS/boltdb" usage
	[ "$status" -eq 1 ]
	[ "$(stats_eval "$BATS_TEST_TMPDIR/s.jsonl" "sum(1 for r in R if r['ev'] == 'start' and r['active'])")" -eq 1 ]
}

@test "syscall.Mmap: discovered, program's major faults <= 5% of the plain run's" {
	local f
	f="$(big_file go-f256 256M)"
	cold_pair "$f" "$GO_PROGS/sysmmap" "$f"
	check_cold "$f" go-note
}

@test "golang.org/x/sys/unix.Mmap: discovered, program's major faults <= 5% of the plain run's" {
	local f
	f="$(big_file go-f256 256M)"
	cold_pair "$f" "$GO_PROGS/unixmmap" "$f"
	check_cold "$f" go-note
}

@test "bbolt (go.etcd.io/bbolt, MADV_RANDOM): discovered, program's major faults <= 5% of the plain run's" {
	local db
	db="$(bolt_db)"
	cold_pair "$db" "$GO_PROGS/boltdb" read "$db"
	check_cold "$db" go-note
}

# discbench_run [WRAPPER...]: tests/go/discbench, 1000 mappings held, 60
# trials, as $output; asserts what it found.  Behaviour only: each trial's
# mapping stays until its map record is written and the next trial waits
# for its unmap record (-wait, gotest.Deadline at most), so every one must
# be found on a machine of any speed; how fast and how cheaply is a
# benchmark's to say (make discbench).
discbench_run() {
	local big small
	big="$(fresh_file go-f1m 1M)"
	small="$(big_file go-small 1M)"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	run --separate-stderr "$@" env LD_PRELOAD="$LIB" PREFAULT_STATS="$STATS" \
		"$GO_PROGS/discbench" -stats "$STATS" -file "$big" -small "$small" \
		-maps 1000 -idle 2s -trials 60 -wait
	show
	[ "$status" -eq 0 ]
	[ "$(field maps_lines)" -ge 1000 ]
	[ "$(field found)" -eq 60 ]
	[ "$(field unmapped)" -eq 60 ]
	stats_check "$STATS"
}

# discovery_is PID HOW LOOKUP: every proc record of PID says discovery HOW,
# new mappings checked by LOOKUP.
discovery_is() {
	[ "$(stats_eval "$STATS" "sorted(set((r['discovery'], r['discovery_lookup']) for r in R if r['ev'] == 'proc' and r['pid'] == $1))")" = "[('$2', '$3')]" ]
}

@test "discovery: raw mmaps and munmaps in a process with 1000 mappings are found, from perf mmap records and PROCMAP_QUERY" {
	discbench_run
	# (The program's own records: the shell it runs to measure writes some.)
	discovery_is "$(field pid)" perf procmap-query
}

@test "discovery where perf is refused (seccomp): the same mappings are found by polling /proc" {
	discbench_run "$PROGS/diag_noperf"
	discovery_is "$(field pid)" poll scan
}

@test "raw munmap of part of a discovered mapping, raw MAP_FIXED of another file over it, the same file mapped again in its place: the table follows" {
	local f g a MiB=1048576
	f="$(big_file go-f8 8M)"
	g="$(big_file go-g8 8M)"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_STATS="$STATS" "$GO_PROGS/remap" "$f" "$g"
	show
	[ "$status" -eq 0 ]
	a="$(field addr)"
	cat "$STATS"
	stats_check "$STATS"
	# F found whole; its third and fourth MiB forgotten; its second half
	# forgotten when G took its place; G found there.
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['source'] == 'discover' and r['path'] == '$f' and A(r['addr']) == A('$a') and r['len'] == 8 * $MiB)")" -eq 1 ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'unmap' and A(r['addr']) == A('$a') + 2 * $MiB and r['len'] == 2 * $MiB)")" -eq 1 ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'unmap' and A(r['addr']) == A('$a') + 4 * $MiB and r['len'] == 4 * $MiB)")" -eq 1 ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['source'] == 'discover' and r['path'] == '$g' and A(r['addr']) == A('$a') + 4 * $MiB and r['len'] == 4 * $MiB and r['offset'] == 0)")" -eq 1 ]
	# F's first 2 MiB unmapped and mapped again from F at once: a new
	# mapping, although it looks like the entry it replaced.
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'unmap' and A(r['addr']) == A('$a') and r['len'] == 2 * $MiB)")" -eq 1 ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['source'] == 'discover' and r['path'] == '$f' and A(r['addr']) == A('$a') and r['len'] == 2 * $MiB and r['offset'] == 0)")" -eq 1 ]
	[ -z "$(sed -n 's/^missed=//p' <<<"$output")" ]
}

@test "PREFAULT_EXCLUDE applies to discovered mappings" {
	local f
	f="$(big_file go-f16 16M)"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_STATS="$STATS" PREFAULT_EXCLUDE="*/go-f16" \
		"$GO_PROGS/sysmmap" "$f"
	show
	[ "$status" -eq 0 ]
	cat "$STATS"
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map')")" -eq 0 ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'skip' and r['path'] == '$f' and r['reason'] == 'excluded')")" -eq 1 ]
}

@test "PREFAULT_DISCOVER=0: a Go program's raw mappings are left alone, no thread starts" {
	local f
	f="$(big_file go-f256 256M)"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_STATS="$STATS" PREFAULT_DISCOVER=0 \
		"$GO_PROGS/sysmmap" "$f"
	show
	[ "$status" -eq 0 ]
	[ "$(field helper_threads)" -eq 0 ]
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map')")" -eq 0 ]
}

@test "a C program gets a discovery thread only with PREFAULT_DISCOVER=1" {
	local f dir auto on
	f="$(big_file go-f16 16M)"
	dir="$BATS_TEST_TMPDIR"
	# catmap waits until it has seen that many of prefault's threads at
	# once (a helper; a helper and prefault-disc), so a slow start cannot
	# hide one; a discovery thread in the auto run would make it 2 there.
	preloaded "$PROGS/catmap" "$f" "$dir/auto.report" 1 >/dev/null
	PREFAULT_DISCOVER=1 preloaded "$PROGS/catmap" "$f" "$dir/on.report" 2 >/dev/null
	cat "$dir/auto.report" "$dir/on.report"
	auto="$(sed -n 's/^prefault_threads=//p' "$dir/auto.report")"
	on="$(sed -n 's/^prefault_threads=//p' "$dir/on.report")"
	[ "$on" -eq $((auto + 1)) ]
}

@test "--verbose says whether discovery is on and why, and how it finds new mappings" {
	local f how
	f="$(big_file go-f16 16M)"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	# GOTEST_SETTLE=done: the program reads once the file is done, so
	# discovery has run by then.
	run --separate-stderr env PREFAULT_STATS="$STATS" GOTEST_SETTLE=done \
		"$ROOT/tools/prefault" -v -- "$GO_PROGS/sysmmap" "$f"
	show
	[ "$status" -eq 0 ]
	grep -qE '^prefault: active: budget [0-9]+ MiB, discovery on \(go-note\)$' <<<"$stderr"
	how="$(stats_eval "$STATS" "sorted(set((r['discovery'], r['discovery_lookup']) for r in R if r['ev'] == 'proc'))")"
	case "$how" in
	"[('perf', 'procmap-query')]") grep -qx 'prefault: discovery: perf, new mappings checked by procmap-query' <<<"$stderr" ;;
	"[('perf', 'scan')]") grep -qx 'prefault: discovery: perf, new mappings checked by scan' <<<"$stderr" ;;
	*) grep -qx 'prefault: discovery: poll, new mappings checked by scan' <<<"$stderr" ;;
	esac
	run --separate-stderr "$ROOT/tools/prefault" -v --discover 0 -- "$GO_PROGS/sysmmap" "$f"
	[ "$status" -eq 0 ]
	grep -qE '^prefault: active: .*, discovery off \(turned-off\)$' <<<"$stderr"
	run --separate-stderr "$ROOT/tools/prefault" -v -- "$PROGS/catmap" "$(big_file go-small 1M)" /dev/null
	[ "$status" -eq 0 ]
	grep -qE '^prefault: active: .*, discovery off \(not-go\)$' <<<"$stderr"
	# Without --verbose nothing of this is said.
	run --separate-stderr env PREFAULT_LOG=stderr "$GO_PROGS/sysmmap" "$f"
	[ -z "$stderr" ]
}

@test "bbolt grown by a writer after a restart: each remap of the database is served, reading only what is not resident" {
	local db base a a2 MiB=1048576
	base="$(bolt_db)"
	db="$BATS_TEST_TMPDIR/grow.db"
	# Plain: the old part of the file is cold, the new part was just written.
	cp "$base" "$db"
	"$PROGS/evict" "$db"
	run --separate-stderr "$GO_PROGS/boltdb" grow "$db" 300
	show
	[ "$status" -eq 0 ]
	plain_majflt="$(field majflt)"
	cp "$base" "$db"
	"$PROGS/evict" "$db"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_STATS="$STATS" GOTEST_SETTLE=done \
		"$GO_PROGS/boltdb" grow "$db" 300
	show
	[ "$status" -eq 0 ]
	[ -z "$(sed -n 's/^settle_timeout=//p' <<<"$output")" ]
	a="$(field addr)"
	a2="$(sed -n 's/^addr2=//p' <<<"$output")"
	stats_check "$STATS"
	echo "plain_majflt=$plain_majflt majflt=$(field majflt) first=$a grown=$a2"
	# bbolt mapped the file again, larger, elsewhere: a new mapping.
	[ "$a" != "$a2" ]
	# The first mapping was brought in; the grown one and the reader's
	# (opened again read-only) read only what was not already resident.
	[ "$(stats_eval "$STATS" "[d['result'] for m in R if m['ev'] == 'map' and A(m['addr']) == A('$a') for d in R if d['ev'] == 'done' and d['id'] == m['id']][0]")" = complete ]
	[ "$(stats_eval "$STATS" "len([m for m in R if m['ev'] == 'map' and m['source'] == 'discover' and m['path'] == '$db'])")" -ge 3 ]
	[ "$(stats_eval "$STATS" "sum(1 for m in R if m['ev'] == 'map' and m['path'] == '$db' and m['id'] > min(x['id'] for x in R if x['ev'] == 'map' and x['path'] == '$db') for d in R if d['ev'] == 'done' and d['id'] == m['id'] and d['result'] == 'complete' and d['bytes_in'] <= 16 * $MiB)")" -ge 2 ]
	# And the reads after the growth fault as they would on a hot file.
	[ "$plain_majflt" -ge 2000 ]
	[ $(($(field majflt) * 20)) -le "$plain_majflt" ]
}
