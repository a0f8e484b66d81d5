#!/usr/bin/env bats
# core.bats - prefault brings pages in: the effect on the program's faults,
# PREFAULT=0, the budget, the helper threads.

load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
}

@test "cold 256 MiB file: pages present once the helpers are done, main thread takes <= 1% of the plain run's major faults" {
	local f plain_majflt plain_present pre_majflt pre_present pages stats
	f="$(big_file f256 256M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"

	# mapwatch sets MADV_RANDOM (as bbolt and LMDB do) so that the plain run
	# takes one major fault per page instead of reading ahead.
	run --separate-stderr "$PROGS/mapwatch" -R -s 300 -r "$f"
	show
	[ "$status" -eq 0 ]
	plain_majflt="$(field majflt)"
	plain_present="$(field present)"
	pages="$(field pages)"
	[ "$pages" -eq 65536 ]
	# Without prefault nothing is present before the reads, and the reads
	# fault: otherwise this test proves nothing.
	[ "$(num "$plain_present")" -eq 0 ]
	[ "$plain_majflt" -gt 1000 ]

	# Preloaded, the pause lasts until the helpers are done with the file
	# (its done record), however long a slow disk takes: how soon that is
	# is the benchmarks' business.
	"$PROGS/evict" "$f"
	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/mapwatch" -R -u done -r "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field wait_met)" -eq 1 ] || fail "no done record within the deadline"
	pre_majflt="$(field majflt)"
	pre_present="$(field present)"
	echo "plain: majflt=$plain_majflt present=$plain_present;" \
		"preloaded: majflt=$pre_majflt present=$pre_present, done after $(field wait_ms) ms"
	[ "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done"]')" = "['complete']" ]
	# Most pages are mapped in by the helpers during the pause ...
	[ "$(num "$pre_present")" -ge $((pages * 90 / 100)) ]
	# ... and the program's own thread hardly waits for the disk.
	[ $((pre_majflt * 100)) -le "$plain_majflt" ]
}

@test "PREFAULT=0: no helper thread, nothing prefaulted, output identical to the plain run" {
	local f plain
	f="$(big_file f64 64M)"

	run --separate-stderr "$PROGS/mapwatch" -s 200 -c "$f"
	show
	[ "$status" -eq 0 ]
	plain="$output"
	[ "$(field prefault_threads)" -eq 0 ]
	[ "$(field bad_words)" -eq 0 ]

	"$PROGS/evict" "$f"
	PREFAULT=0 run --separate-stderr preloaded "$PROGS/mapwatch" -s 200 -c "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field prefault_threads)" -eq 0 ]
	[ "$(num "$(field present)")" -eq 0 ]
	[ "$output" = "$plain" ]

	# The same program with prefault on: a helper ran (the pause lasts
	# until one is seen, as a new thread names itself only once it runs),
	# and apart from what the helper changes (threads, pages present) the
	# output is the same.
	"$PROGS/evict" "$f"
	run --separate-stderr preloaded "$PROGS/mapwatch" -s 200 -u helper -c "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field prefault_threads)" -ge 1 ]
	[ "$(without_lines '^(present|prefault_threads|helper_sigblk|wait_met|wait_ms)=')" = \
		"$(output="$plain" without_lines '^(present|prefault_threads|helper_sigblk)=')" ]
}

@test "PREFAULT_BUDGET=128M on a cold 512 MiB file: the page cache holds 64M..128M+10% of it, stats agree" {
	local f stats budget=$((128 * MiB)) resident
	f="$(big_file f512 512M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"

	run "$PROGS/resident" "$f"
	[ "$status" -eq 0 ]
	[ "$(field resident)" -lt "$MiB" ] # the eviction worked

	# The pause lasts until the helper is done (the budget stopped it).
	PREFAULT_BUDGET=128M PREFAULT_STATS="$stats" \
		run --separate-stderr preloaded "$PROGS/mapwatch" -u done "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field wait_met)" -eq 1 ] || fail "no done record within the deadline"

	run "$PROGS/resident" "$f"
	show
	[ "$status" -eq 0 ]
	resident="$(field resident)"
	echo "resident=$resident budget=$budget"
	[ "$resident" -le $((budget * 110 / 100)) ]
	[ "$resident" -ge $((64 * MiB)) ]

	cat "$stats"
	stats_check "$stats"
	[ "$(stats_eval "$stats" '[r["budget"] for r in R if r["ev"] == "start"]')" = "[$budget]" ]
	# proc records: brought_in within the budget, and the last one near it.
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "proc")')" -ge 1 ]
	[ "$(stats_eval "$stats" 'all(r["budget"] == '$budget' for r in R if r["ev"] == "proc")')" = True ]
	[ "$(stats_eval "$stats" 'max(r["brought_in"] for r in R if r["ev"] == "proc")')" -le $((budget * 110 / 100)) ]
	[ "$(stats_eval "$stats" 'max(r["brought_in"] for r in R if r["ev"] == "proc")')" -ge $((64 * MiB)) ]
	# The mapping's done record says the budget stopped it.
	[ "$(stats_eval "$stats" '[(r["result"], r["bytes_in"] <= '$((budget * 110 / 100))') for r in R if r["ev"] == "done"]')" = "[('budget', True)]" ]
}

@test "helper threads have every signal blocked" {
	local f mask sig missing=""
	f="$(big_file f64 64M)"

	run --separate-stderr preloaded "$PROGS/mapwatch" -s 300 -u helper "$f"
	show
	[ "$status" -eq 0 ]
	[ "$(field prefault_threads)" -ge 1 ]
	grep -q '^helper_sigblk=' <<<"$output"
	while read -r mask; do
		for sig in $(seq 1 64); do
			case $sig in
			9 | 19) continue ;; # SIGKILL, SIGSTOP: the kernel never blocks them
			32 | 33) continue ;; # glibc's SIGCANCEL, SIGSETXID: pthread_sigmask never blocks them
			esac
			if (((0x$mask >> (sig - 1) & 1) == 0)); then
				missing+=" $sig"
			fi
		done
	done < <(sed -n 's/^helper_sigblk=//p' <<<"$output")
	echo "signals not blocked:$missing"
	[ -z "$missing" ]
}

@test "a program that closes every descriptor after mapping still runs, and its pages are prefaulted" {
	local f stats out
	f="$(big_file f64 64M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	out="$BATS_TEST_TMPDIR/closeall.out"

	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/closeall" "$f" "$out"
	show
	cat "$out" "$stats" || true
	[ "$status" -eq 0 ]
	output="$(cat "$out")"
	[ "$(field done)" -eq 1 ] || fail "no done record within the deadline"
	[ "$(num "$(field present)")" -ge $(($(den "$(field present)") * 90 / 100)) ]
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "done" and r["bytes_in"] > 0)')" -ge 1 ]
}
