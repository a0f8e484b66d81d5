#!/usr/bin/env bats
# tests/sanitizers.bats - the library built with AddressSanitizer,
# UndefinedBehaviorSanitizer and ThreadSanitizer (make SANITIZE=...), run
# where its helpers are busiest: a cold file brought in, a file truncated
# under them, tracked ranges mapped over and moved, forks, a mapping larger
# than the budget followed by two scanning threads.  A sanitizer
# report anywhere fails; the effect (pages present) must still be there.

load test_helper

LIBDIR=/usr/lib/x86_64-linux-gnu

setup_file() {
	prefault_setup_file
	for san in address undefined thread; do
		make -s -C "$ROOT" BUILD="build-$san" SANITIZE="$san" all >&2
	done
}

setup() {
	prefault_setup
}

# under SAN PROG ARGS...: runs PROG with the sanitizer's runtime first in
# LD_PRELOAD (ASan insists) and that build of the library after it.
under() {
	local san="$1" rt
	shift
	case "$san" in
	address) rt="$(ls "$LIBDIR"/libasan.so.* | head -n 1)" ;;
	undefined) rt="$(ls "$LIBDIR"/libubsan.so.* | head -n 1)" ;;
	thread) rt="$(ls "$LIBDIR"/libtsan.so.* | head -n 1)" ;;
	esac
	[ -f "$rt" ] || fail "no $san runtime in $LIBDIR"
	env LD_PRELOAD="$rt $ROOT/build-$san/libprefault.so" \
		ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:exitcode=86 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=86 \
		TSAN_OPTIONS=halt_on_error=1:exitcode=86:report_signal_unsafe=0 \
		"$@"
}

clean_stderr() {
	if grep -E -q 'Sanitizer|runtime error|WARNING: ThreadSanitizer' <<<"$stderr"; then
		fail "sanitizer report:" "$stderr"
	fi
}

check_one() {
	local san="$1" f stats
	f="$(big_file san.dat 256M)"
	stats="$BATS_TEST_TMPDIR/$san.jsonl"
	# The pause lasts until the helper is done, however slow the build.
	PREFAULT_STATS="$stats" run --separate-stderr under "$san" "$PROGS/mapwatch" -u done -c "$f"
	show
	[ "$status" -eq 0 ]
	clean_stderr
	[ "$(field wait_met)" -eq 1 ] || fail "no done record within the deadline"
	present="$(field present)"
	[ "$(num "$present")" -ge $(( $(den "$present") * 99 / 100 )) ] || fail "present=$present"
	[ "$(field bad_words)" -eq 0 ]
	stats_check "$stats"

	f="$(fresh_file san-trunc.dat 256M)"
	run --separate-stderr under "$san" "$PROGS/truncate" "$f"
	show
	[ "$status" -eq 0 ]
	clean_stderr

	f="$(big_file san.dat 256M)"
	run --separate-stderr under "$san" "$PROGS/fixedanon" "$f"
	show
	[ "$status" -eq 0 ]
	clean_stderr
	[ "$(field part_nonzero)" -eq 0 ]
	[ "$(field file_bad)" -eq 0 ]

	f="$(big_file san.dat 256M)"
	run --separate-stderr under "$san" "$PROGS/remap" "$f"
	show
	[ "$status" -eq 0 ]
	clean_stderr

	# A mapping 8x the budget is followed (follow.c, front.c): two fronts,
	# MADV_RANDOM, pages let go behind them.
	f="$(big_file san.dat 256M)"
	stats="$BATS_TEST_TMPDIR/$san-ahead.jsonl"
	PREFAULT_BUDGET=32M PREFAULT_WINDOW=2M PREFAULT_STATS="$stats" \
		run --separate-stderr under "$san" "$PROGS/ahead_scan" -R -t 2 -w 20000 "$f"
	show
	[ "$status" -eq 0 ]
	clean_stderr
	[ "$(stats_eval "$stats" "sum(1 for r in R if r['ev'] == 'ahead')")" -ge 1 ]
}

@test "ASan build: clean while bringing in, truncating, mapping over and moving" {
	check_one address
}

@test "UBSan build: clean while bringing in, truncating, mapping over and moving" {
	check_one undefined
}

@test "TSan build: clean while bringing in, truncating, mapping over and moving" {
	check_one thread
}
