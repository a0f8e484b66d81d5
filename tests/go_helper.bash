# go_helper.bash - what the suites of Go programs share (go.bats,
# gomodes.bats): a cold run plain and preloaded, and what it must show.
# Preloaded, the programs read their file once prefault's done record is
# written (GOTEST_SETTLE=done, tests/go/gotest's Settle), so a fault count
# says what prefault brought in, on a disk of any speed.

# cold_pair FILE PROG ARGS...: runs PROG ARGS plain, then preloaded with the
# statistics in $BATS_TEST_TMPDIR/stats.jsonl, FILE evicted before each run.
# Sets plain_majflt, pre_majflt, pre_helper_majflt and pre_addr.
cold_pair() {
	local file=$1
	shift
	"$PROGS/evict" "$file"
	run --separate-stderr "$@"
	show
	[ "$status" -eq 0 ] || return 1
	plain_majflt="$(field majflt)"

	"$PROGS/evict" "$file"
	STATS="$BATS_TEST_TMPDIR/stats.jsonl"
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_STATS="$STATS" GOTEST_SETTLE=done "$@"
	show
	[ "$status" -eq 0 ] || return 1
	pre_majflt="$(field majflt)"
	pre_helper_majflt="$(field helper_majflt)"
	pre_addr="$(field addr)"
	pre_settle_timeout="$(sed -n 's/^settle_timeout=//p' <<<"$output")"
	cat "$STATS"
}

# check_cold FILE [WHY]: what every cold test asserts after cold_pair; with
# WHY, also that the start record turned discovery on for that reason
# (go-note, go-library, cgo-symbol), and that it ran.
check_cold() {
	local file=$1 why=${2:-} size pages
	size="$(stat -c %s "$file")"
	pages=$((size / 4096))
	echo "plain_majflt=$plain_majflt pre_majflt=$pre_majflt pre_helper_majflt=$pre_helper_majflt pages=$pages"
	# The program read after prefault's done record (gotest.Settle): what
	# it still faults on is what prefault did not bring in, on any disk.
	[ -z "$pre_settle_timeout" ]
	# The plain run faulted page by page: otherwise this proves nothing.
	[ "$plain_majflt" -ge 10000 ]
	# Preloaded, the program's own threads take <= 5% of those faults.
	[ $((pre_majflt * 20)) -le "$plain_majflt" ]
	# Discovery found the file's mapping, at the address the program used.
	stats_check "$STATS"
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['source'] == 'discover' and r['path'] == '$file' and A(r['addr']) == A('$pre_addr'))")" -eq 1 ]
	# MADV_RANDOM did not make the helpers read page by page: WILLNEED
	# before POPULATE_READ reads ahead whatever the hint (a page-sized read
	# per fault would be one major fault per page).
	[ "$pre_helper_majflt" -le $((pages / 64)) ]
	[ "$(stats_eval "$STATS" "sum(r['bytes_in'] for r in R if r['ev'] == 'done' and r['path'] == '$file')")" -ge $((size * 9 / 10)) ]
	if [ -n "$why" ]; then
		[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'start' and r['active'] and r.get('discover') is True and r.get('discover_why') == '$why')")" -eq 1 ]
		# It ran, from perf records where this kernel gives them (as
		# prefault --check finds), the threads a c-shared library's Go
		# runtime started before prefault's constructor included.
		local how
		how="$(stats_eval "$STATS" "sorted(set(r['discovery'] for r in R if r['ev'] == 'proc'))")"
		echo "discovery: $how"
		if "$ROOT/tools/prefault" --check --json /bin/true |
			python3 -c 'import json, sys; sys.exit(not json.load(sys.stdin)["perf"]["available"])'; then
			[ "$how" = "['perf']" ]
		else
			[ "$how" = "['poll']" ]
		fi
	fi
}
