#!/usr/bin/env bats
# core-safety.bats - the program cannot tell prefault is there: return values
# and errno, file truncation, MAP_FIXED, mremap, fork, descriptors,
# unshare, stdio locking.

load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
}

@test "return values and errno of every hooked call are the same as libc's" {
	local plain line name want stats dir
	stats="$BATS_TEST_TMPDIR/stats.jsonl"
	dir="$(data_dir)"
	mkdir -p "$dir/errnos-plain" "$dir/errnos-pre"

	run --separate-stderr "$PROGS/errnos" "$dir/errnos-plain"
	show
	[ "$status" -eq 0 ]
	plain="$output"

	# The cases are what their names say (checked on the plain run, so the
	# comparison below covers every errno that matters) ...
	while read -r line; do
		name="${line%%:*}"
		want="$(sed -E 's/^[a-z]+_(ok|e[a-z]+)_.*/\1/' <<<"$name" | tr "[:lower:]" "[:upper:]")"
		if [ "$want" = OK ]; then
			[[ "$line" == *": ret=ok errno=unchanged" ]] || fail "plain run: $line"
		else
			[[ "$line" == *": ret=-1 errno=$want" ]] || fail "plain run: $line"
		fi
	done <<<"$plain"
	for want in mmap_ok mmap_ebadf mmap_einval mmap_enodev mmap_eacces mmap_enomem \
		munmap_ok munmap_einval mremap_ok mremap_einval mremap_enomem mremap_efault \
		fopen_ok fopen_enoent fopen_einval fdopen_ebadf freopen_enoent tmpfile_ok \
		popen_einval popen_ok memstream_ok cookie_ok timercreate_einval mqnotify_ebadf \
		aiofsync_einval liolistio_einval pthreadcreate_ok thrdcreate_ok; do
		grep -q "^${want}_" <<<"$plain" || fail "no ${want}_ case"
	done

	# ... and preloaded, every line is the same, errno untouched on success.
	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/errnos" "$dir/errnos-pre"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	diff -u <(echo "$plain") <(echo "$output")
	# The library was at work: it tracked the successful file mappings.
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map")')" -ge 3 ]
}

@test "a file truncated to zero while the helpers bring it in: no SIGBUS, exit 0" {
	local f stats i cut=0
	for i in 1 2 3; do
		f="$(fresh_file truncate.dat 256M)"
		stats="$BATS_TEST_TMPDIR/stats.$i.jsonl"
		PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/truncate" "$f"
		show
		[ "$status" -ne 135 ] || fail "SIGBUS (exit 135) on round $i"
		[ "$status" -eq 0 ]
		[ -z "$stderr" ]
		[ "$(field survived)" = 1 ]
		# Truncated once a helper had begun, and the helper finished after.
		[ "$(field begun)" = 1 ] || fail "no page came in before the deadline"
		[ "$(field finished)" = 1 ] || fail "no done record before the deadline"
		[ "$(stat -c %s "$f")" -eq 0 ]
		# The mapping was tracked, so a helper was at work on it.
		cat "$stats"
		stats_check "$stats"
		[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map" and r["len"] == 256 << 20 and r["path"].endswith("/truncate.dat"))')" -eq 1 ]
		# Did the truncation cut the helper's work short this round?
		if [ "$(stats_eval "$stats" 'any(r["ev"] == "done" and 0 < r["bytes_in"] < 256 << 20 for r in R)')" = True ]; then
			cut=$((cut + 1))
		fi
		rm -f "$f"
	done
	# At least once the file shrank under a helper at work, which is
	# what this test is about.
	echo "rounds where the helper was cut short: $cut"
	[ "$cut" -ge 1 ]
}

@test "MAP_FIXED anonymous memory over tracked ranges reads zero and stays writable" {
	local f stats
	f="$(big_file f256 256M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"

	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/fixedanon" "$f"
	show
	cat "$stats" || true
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field part_nonzero)" -eq 0 ]
	[ "$(field whole_nonzero)" -eq 0 ]
	[ "$(field part_lost)" -eq 0 ]
	[ "$(field whole_lost)" -eq 0 ]
	[ "$(field file_bad)" -eq 0 ]

	# prefault saw both replacements: for the tracked mapping under each
	# replaced range, an unmap record over that range or a done record
	# with result "unmapped".
	stats_check "$stats"
	local addr len part_addr part_len whole_addr whole_len
	part_addr="$(sed -n 's/^part_addr=\([^ ]*\) .*/\1/p' <<<"$output")"
	part_len="$(sed -n 's/.* part_len=//p' <<<"$output")"
	whole_addr="$(sed -n 's/^whole_addr=\([^ ]*\) .*/\1/p' <<<"$output")"
	whole_len="$(sed -n 's/.* whole_len=//p' <<<"$output")"
	for range in "$part_addr $part_len" "$whole_addr $whole_len"; do
		read -r addr len <<<"$range"
		[ "$(stats_eval "$stats" "
[m['id'] for m in R if m['ev'] == 'map'
 and A(m['addr']) <= $addr < A(m['addr']) + m['len']
 and any((r['ev'] == 'unmap' and r['id'] == m['id']
          and A(r['addr']) <= $addr and A(r['addr']) + r['len'] >= $addr + $len)
         or (r['ev'] == 'done' and r['id'] == m['id'] and r['result'] == 'unmapped')
         for r in R)] != []")" = True ] || fail "no unmap record for $range"
	done
}

@test "mremap moves, grows and shrinks keep the content of tracked mappings" {
	local f stats
	f="$(big_file f64 64M)"
	stats="$BATS_TEST_TMPDIR/stats.jsonl"

	PREFAULT_STATS="$stats" run --separate-stderr preloaded "$PROGS/remap" "$f"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	for k in moved grown shrunk moved_later grown_later shrunk_later; do
		[ "$(field "${k}_bad")" -eq 0 ] || fail "$k: words differ from the file"
	done
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map")')" -ge 3 ]
}

@test "200 forks while the helpers are busy: no hang, and a child's own mappings are prefaulted" {
	local big small child present
	big="$(big_file f256 256M)"
	small="$(big_file f64 64M)"
	child="$(big_file f64b 64M)"

	run --separate-stderr timeout 300 env LD_PRELOAD="$LIB" "$PROGS/forks" "$big" "$small" "$child"
	show
	[ "$status" -ne 124 ] || fail "hung: killed by timeout after 300 s"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$(field forks)" = "200 ok=200" ]
	[ "$(field child_status)" -eq 0 ]
	present="$(field child_present)"
	[ "$(field child_waited)" -eq 1 ] || fail "the child's pages: not 90% present within the deadline"
	[ "$(num "$present")" -ge $(($(den "$present") * 90 / 100)) ]
}

@test "no descriptor held: the open descriptors are the plain run's, with stats and log on" {
	local f plain_fds dir
	f="$(big_file f64 64M)"
	dir="$BATS_TEST_TMPDIR"

	run --separate-stderr "$PROGS/mapwatch" -s 500 "$f"
	show
	[ "$status" -eq 0 ]
	plain_fds="$(field fds)"

	# Preloaded, the pause lasts until a helper was seen and is done.
	"$PROGS/evict" "$f"
	PREFAULT_STATS="$dir/stats.jsonl" PREFAULT_LOG="$dir/log" \
		run --separate-stderr preloaded "$PROGS/mapwatch" -s 500 -u helper -u done "$f"
	show
	[ "$status" -eq 0 ]
	[ "$(field wait_met)" -eq 1 ] || fail "no helper, or no done record, within the deadline"
	[ "$(field prefault_threads)" -ge 1 ]
	[ "$(field fds)" = "$plain_fds" ]
	stats_check "$dir/stats.jsonl"
	[ "$(stats_eval "$dir/stats.jsonl" 'sum(1 for r in R if r["ev"] == "map")')" -eq 1 ]
}

@test "unshare(CLONE_NEWUSER) works preloaded when no file was mapped" {
	run --separate-stderr "$PROGS/userns"
	show
	[ "$status" -eq 0 ]
	local plain="$output"
	# As root the plain call succeeds: a failure preloaded would show.
	grep -qx 'unshare: ret=0 errno=0' <<<"$plain"

	run --separate-stderr preloaded "$PROGS/userns"
	show
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "$plain" ]
}

@test "a single-threaded program keeps glibc's unlocked stdio beside prefault's thread" {
	local f out
	f="$(big_file f8 8M)"
	out="$BATS_TEST_TMPDIR/out"

	run --separate-stderr preloaded "$PROGS/stdiolocks" "$f" pthread "$out"
	show
	[ "$status" -eq 0 ]
	# prefault's helper is there (2 threads), yet no stream is marked for
	# locking, neither the standard ones nor one opened after it started.
	[ "${lines[0]}" = "before: threads=2 std=unlocked opened=unlocked" ]

	# The mark is glibc's reaction to prefault's thread: here it stays.
	PREFAULT_FAST_STDIO=0 run --separate-stderr preloaded "$PROGS/stdiolocks" "$f" pthread "$out"
	show
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "before: threads=2 std=locked opened=locked" ]
}

@test "stdio locking is back before the program's own second thread runs, however it starts" {
	local f out how
	f="$(big_file f8 8M)"
	out="$BATS_TEST_TMPDIR/out"
	for how in pthread thrd timer aio lio mq gai; do
		run --separate-stderr preloaded "$PROGS/stdiolocks" "$f" "$how" "$out"
		printf 'how=%s\n' "$how"
		show
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "before: threads=2 std=unlocked opened=unlocked" ]
		# Printed by the new thread before it writes: every stream locked.
		[[ ${lines[1]} == "after: threads="*" std=locked opened=locked" ]]
		# Two threads putc 2000000 characters each to one stream: none lost.
		[ "${lines[2]}" = "bytes=4000000" ]
	done
}
