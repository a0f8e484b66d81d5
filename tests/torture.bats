#!/usr/bin/env bats
# tests/torture.bats - each of prefault's promises under a test that tries
# hard to break it (issue 7): races with the helpers busy, process life
# (fork storms, fork in a signal handler, vfork, posix_spawn, exec chains,
# unshare, setuid), signal floods, short resources, allocators beside it.
# Every test prints its counts (key=value) and asserts them.
#
# Counts are multiplied by TORTURE_SCALE: 1 in make test (seconds each),
# 5 in make torture (tests/torture.mk).  Programs: tests/progs/torture_*.c.

load test_helper

S="${TORTURE_SCALE:-1}"
LIBDIR=/usr/lib/x86_64-linux-gnu

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/tests/torture_ctorlib.so" \
		"$BUILD/tests/torture_eiofs" "$BUILD/tests/slowlock.so" >&2
}

setup() {
	prefault_setup
}

# watched SECS PROG ARGS...: PROG preloaded, killed after SECS times
# TORTURE_SCALE (status 124): a hang's watchdog, generous enough for a
# machine ten times slower than this one at the full counts.
watched() {
	local secs="$1"
	shift
	timeout "$((secs * S))" env LD_PRELOAD="$LIB" "$@"
}

# ran_clean: the run ended by itself with status 0 and said nothing on stderr.
ran_clean() {
	[ "$status" -ne 124 ] || fail "hung: killed by the watchdog"
	[ "$status" -lt 128 ] || fail "killed by signal $((status - 128))"
	[ "$status" -eq 0 ] || fail "exit status $status"
	[ -z "$stderr" ] || fail "stderr: $stderr"
}

# ---- races ----

@test "race: a mapped file truncated and re-extended while helpers bring it in" {
	local f big rounds=$((400 * S))
	f="$(fresh_file trunc4.dat 4M)"
	big="$(big_file f256 256M)"
	# Two helpers: one may be on BIG while the other is on the file cut.
	PREFAULT_THREADS=2 run --separate-stderr watched 300 "$PROGS/torture_race" trunc "$f" "$rounds" "$big"
	show
	ran_clean
	[ "$(field rounds)" -eq "$rounds" ]
	[ "$(field bad)" -eq 0 ]
	[ "$(field signals)" -eq 0 ]
	# Half the rounds truncate once a helper has begun (no wait ran out),
	# and some of those found it half way through the mapping.
	[ "$(field begun_timeouts)" -eq 0 ]
	[ "$(field cut_mid)" -ge 1 ]
}

# threads_race RUN_ENV...: the munmap/MAP_FIXED/mremap race, checked.
threads_race() {
	local f rounds=$((250 * S)) stats="$BATS_TEST_TMPDIR/stats.jsonl" op
	f="$(big_file f64 64M)"
	run --separate-stderr env "$@" PREFAULT_STATS="$stats" \
		timeout $((600 * S)) env LD_PRELOAD="$LIB" "$PROGS/torture_race" threads "$f" "$rounds" 4
	show
	ran_clean
	[ "$(field rounds)" -eq $((4 * rounds)) ]
	for op in munmap fixed_anon fixed_file grow shrink move; do
		[[ "$(field ops)" =~ (^|,)$op:[1-9] ]] || fail "no $op round"
	done
	[ "$(field bad)" -eq 0 ]
	[ "$(field errors)" -eq 0 ]
	[ "$(field signals)" -eq 0 ]
	stats_check "$stats"
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map")')" -ge 100 ]
	if [ -n "${alloc_fail-}" ]; then
		# The library's allocations did fail, and it said so.
		local nomem
		nomem="$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "skip" and r["reason"] == "no-memory")')"
		echo "no_memory_skips=$nomem"
		[ "$nomem" -ge 10 ]
	fi
}

@test "race: munmap, MAP_FIXED over and mremap of tracked ranges from 4 threads" {
	threads_race PREFAULT_THREADS=2
}

@test "race: the same with every 5th allocation of the library failing" {
	# Not 2 or 3: creating the table takes 3 allocations, so those
	# rates fail it every time and nothing is ever tracked.
	alloc_fail=5 threads_race PREFAULT_TEST_ALLOC_FAIL=5
}

@test "race: mappings made and changed by raw system calls, found by discovery" {
	local f rounds=$((300 * S)) stats="$BATS_TEST_TMPDIR/stats.jsonl"
	f="$(big_file f64 64M)"
	PREFAULT_DISCOVER=1 PREFAULT_STATS="$stats" \
		run --separate-stderr watched 300 "$PROGS/torture_race" raw "$f" "$rounds"
	show
	ran_clean
	[ "$(field rounds)" -eq $((2 * rounds)) ]
	[ "$(field bad)" -eq 0 ]
	[ "$(field errors)" -eq 0 ]
	[ "$(field signals)" -eq 0 ]
	stats_check "$stats"
	# Every 16th mapping was held until a scan found it: none waited in vain
	# (a wait may run out while records are dropped, the other thread's churn
	# filling them: its map record may be one; once in three runs at
	# TORTURE_SCALE=5, with ~9000 records dropped a run, before and after
	# issue 15's changes alike).
	[ "$(field held_timeouts)" -eq 0 ]
	echo "held_dropped=$(field held_dropped)"
	[ "$(field held_dropped)" -le 1 ]
	# After a dropped wait the other holds only sleep (held_unwatched).
	[ $(($(field held_found) + $(field held_dropped) + $(field held_unwatched))) -eq "$(field held)" ]
	[ "$(field held_dropped)" -eq 1 ] || [ "$(field held_unwatched)" -eq 0 ]
	local found
	found="$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map" and r["source"] == "discover")')"
	echo "discovered=$found"
	[ "$found" -ge 10 ]
}

@test "race: a mapped file replaced by rename, old and new mappings both checked" {
	local dir="$BATS_TEST_TMPDIR/rename" rounds=$((1000 * S))
	mkdir -p "$dir"
	run --separate-stderr watched 300 "$PROGS/torture_race" rename "$dir" "$rounds"
	show
	ran_clean
	[ "$(field rounds)" -eq "$rounds" ]
	[ "$(field bad)" -eq 0 ]
	[ "$(field signals)" -eq 0 ]
}

@test "memory: 256 live tracked mappings replaced one a round, prefault's memory does not grow" {
	local f rounds=$((20000 * S)) plain_end
	f="$(big_file f64 64M)"
	run --separate-stderr "$PROGS/torture_race" churn "$f" "$rounds"
	show
	[ "$status" -eq 0 ]
	plain_end="$(field rss_end_kb)"
	PREFAULT_STATS="$BATS_TEST_TMPDIR/stats.jsonl" \
		run --separate-stderr watched 300 "$PROGS/torture_race" churn "$f" "$rounds"
	show
	ran_clean
	[ "$(field rounds)" -eq "$rounds" ]
	[ "$(field bad)" -eq 0 ]
	echo "growth_kb=$(($(field rss_end_kb) - $(field rss_warm_kb)))" \
		"library_kb=$(($(field rss_end_kb) - plain_end))"
	# Anonymous memory: flat after warm-up, and a few MiB at most in all.
	[ $(($(field rss_end_kb) - $(field rss_warm_kb))) -le 256 ]
	[ $(($(field rss_end_kb) - plain_end)) -le 8192 ]
}

# ---- process life ----

@test "fork storm: 1000 forks, most while a helper is mid-populate" {
	local big small n=$((1000 * S))
	big="$(big_file f256 256M)"
	small="$(big_file f64 64M)"
	# BIG is mapped cold again whenever it is all in, and each time the
	# forks wait until a helper has begun on it: however fast or slow the
	# disk, most forks find a helper at work.
	run --separate-stderr watched 300 "$PROGS/torture_proc" forks "$big" "$small" "$n"
	show
	ran_clean
	[ "$(field forks)" -eq "$n" ]
	[ "$(field ok)" -eq "$n" ]
	[ "$(field begun_timeouts)" -eq 0 ]
	[ "$(field mid_populate)" -ge $((n / 10)) ]
}

@test "fork while a helper holds a lock (each held 2 ms longer): children with statistics exit" {
	local big small n=$((200 * S)) stats="$BATS_TEST_TMPDIR/fk"
	big="$(big_file f256 256M)"
	small="$(big_file f64 64M)"
	mkdir -p "$stats"
	# slowlock.so keeps every mutex a helper takes 2 ms longer, so most forks
	# find one held; a child that inherits it locked and needs it (its
	# destructor's proc record takes pace_lock) hangs. Every odd child exits
	# through exit(), and so writes a proc record of its own.
	run --separate-stderr timeout $((300 * S)) env LD_PRELOAD="$PROGS/slowlock.so $LIB" \
		PREFAULT_STATS="$stats/%p.jsonl" "$PROGS/torture_proc" forks "$big" "$small" "$n"
	show
	ran_clean
	[ "$(field forks)" -eq "$n" ]
	[ "$(field ok)" -eq "$n" ]
	[ "$(grep -l '"ev":"proc"' "$stats"/*.jsonl | wc -l)" -ge $((n / 2)) ]
}

# locks_of LIB: "NAME OFFSET" for every lock of prefault's in LIB, from its
# symbols (built with -g, not stripped): static data named *_lock (NAME.N
# when static in a function).
locks_of() {
	nm "$1" | awk '($2 == "b" || $2 == "d") && $3 ~ /_lock(\.[0-9]+)?$/ {
		sub(/\.[0-9]+$/, "", $3); print $3, $1 }' | sort
}

@test "every mutex, rwlock and spinlock of shim/ is a *_lock symbol of the library (the next test holds each)" {
	local names n missing=""
	names="$(locks_of "$LIB" | cut -d' ' -f1)"
	printf 'locks: %s\n' $names
	[ "$(wc -l <<<"$names")" -ge 9 ] || fail "nm found too few locks in $LIB"
	for n in $(grep -rhoE 'pthread_(mutex|rwlock|spinlock)_t +[A-Za-z_0-9]+' "$ROOT/shim" |
		awk '{ print $2 }' | sort -u); do
		grep -qx "$n" <<<"$names" || missing="$missing $n"
	done
	[ -z "$missing" ] || fail "not a *_lock data symbol of $LIB:$missing"
}

# forklock_ok N DIR: the torture_forklock run in $status and $output did all
# N rounds well, each started while the lock was held, and every process
# (N children and the parent) wrote a proc record into DIR.
forklock_ok() {
	[ "$status" -ne 124 ] || { echo "hung: killed by the watchdog"; return 1; }
	[ "$status" -eq 0 ] || { echo "exit status $status"; return 1; }
	[ -z "$stderr" ] || { echo "stderr: $stderr"; return 1; }
	[ "$(field first_failure)" = none ] || { echo "$(field first_failure)"; return 1; }
	[ "$(field rounds)" -eq "$1" ] && [ "$(field ok)" -eq "$1" ] ||
		{ echo "ok $(field ok) of $1"; return 1; }
	[ "$(field held)" -eq "$1" ] || { echo "held at $(field held) of $1 forks"; return 1; }
	[ "$(grep -l '"ev":"proc"' "$2"/*.jsonl | wc -l)" -ge $(($1 + 1)) ] ||
		{ echo "proc records missing"; return 1; }
}

@test "fork, vfork and posix_spawn while a helper holds each lock in turn (50 ms a time): children work and exit" {
	local stir file name off dir why failed="" n=$((4 * S))
	stir="$(big_file f8 8M)"
	file="$(big_file f2 2M)"
	# slowlock.so widens only the lock at SLOWLOCK_OFFSET, when a helper
	# takes it, and says when one sits on it: each child is started then.
	# A fork child inherits every lock; it maps FILE cold and waits for its
	# own helper to bring a page in (every helper lock), checks it and
	# leaves by exit() (its destructor's proc record: the statistics'
	# locks, attrib_lock, table_lock, pace_lock).  Spawned children are
	# this program again, preloaded.  Before the fork fix, pace_lock's
	# and step_lock's children hung.
	while read -r name off; do
		dir="$BATS_TEST_TMPDIR/$name"
		mkdir -p "$dir"
		# recall_lock and learn_lock are taken only while remembering (work/recall.c).
		local remember=0
		[[ $name != recall_lock && $name != learn_lock ]] || { mkdir -m 700 "$dir/records"; remember="$dir/records"; }
		run --separate-stderr timeout $((200 * S)) env SLOWLOCK_OFFSET="$off" SLOWLOCK_US=50000 \
			LD_PRELOAD="$PROGS/slowlock.so $LIB" PREFAULT_STATS="$dir/%p.jsonl" PREFAULT_REMEMBER="$remember" \
			"$PROGS/torture_forklock" rounds "$stir" "$file" "$n"
		echo "=== $name"
		show
		why="$(forklock_ok "$n" "$dir")" || failed="$failed $name($why)"
	done < <(locks_of "$LIB")
	[ -z "$failed" ] || fail "failed:$failed"
}

@test "fork in a signal handler that interrupts mmap and munmap: no deadlock" {
	local small n=$((1000 * S))
	small="$(big_file f64 64M)"
	run --separate-stderr watched 120 "$PROGS/torture_proc" sigfork "$small" "$n"
	show
	ran_clean
	[ "$(field sigforks)" -eq "$n" ]
	[ "$(field ok)" -eq "$n" ]
	[ "$(field loop_maps)" -ge $((n / 8)) ]
}

@test "vfork and posix_spawn loops while helpers are busy" {
	local big n=$((500 * S))
	big="$(big_file f256 256M)"
	run --separate-stderr watched 300 "$PROGS/torture_proc" vfork "$big" "$n"
	show
	ran_clean
	[ "$(field vforks)" -eq $((2 * n)) ]
	[ "$(field ok)" -eq $((2 * n)) ]
	big="$(big_file f256 256M)"
	run --separate-stderr watched 300 "$PROGS/torture_proc" spawn "$big" "$n"
	show
	ran_clean
	[ "$(field spawns)" -eq "$n" ]
	[ "$(field ok)" -eq "$n" ]
}

@test "exec chain: the preload is inherited, or with PREFAULT_INHERIT=0 gone from env and maps" {
	local small depth=$((5 * S)) lines
	small="$(big_file f64 64M)"
	run --separate-stderr watched 120 "$PROGS/torture_proc" exec "$small" "$depth"
	show
	ran_clean
	lines="$(grep -c '^level=.* bad=0 lib_mapped=1 ld_preload_lib=1$' <<<"$output")"
	echo "inherited_levels=$lines"
	[ "$lines" -eq $((depth + 1)) ]

	PREFAULT_INHERIT=0 run --separate-stderr watched 120 "$PROGS/torture_proc" exec "$small" "$depth"
	show
	ran_clean
	# The first program has the library but no longer names it in
	# LD_PRELOAD; nothing it execs maps it.
	grep -qx "level=$depth bad=0 lib_mapped=1 ld_preload_lib=0" <<<"$output"
	lines="$(grep -c '^level=.* bad=0 lib_mapped=0 ld_preload_lib=0$' <<<"$output")"
	echo "uninherited_levels=$lines"
	[ "$lines" -eq "$depth" ]
}

@test "unshare(CLONE_NEWUSER) after the library loaded and mapped a file: helpers leave, it works" {
	local f
	f="$(big_file f64 64M)"
	run --separate-stderr watched 300 "$PROGS/torture_proc" userns "$f"
	show
	ran_clean
	[ "$(field helpers_seen)" -ge 1 ]
	[ "$(field helpers_left)" -eq 0 ]
	[ "$(field unshare)" = "0 errno=0" ]
	[ "$(field bad)" -eq 0 ]
}

@test "setuid() in a threaded program with helpers running: no hang (glibc's setxid signal)" {
	local big small shared
	[ "$(id -u)" -eq 0 ] || fail "this test needs root (setuid to nobody)"
	big="$(big_file f256 256M)"
	# After setuid the workers open the small file as nobody: it must sit
	# where nobody may read it (bats' own temporary directories are 0700).
	shared="$(mktemp -d /tmp/prefault-setuid.XXXXXX)"
	chmod 755 "$shared"
	small="$shared/small"
	head -c $((1 << 20)) "$(big_file f64 64M)" >"$small"
	chmod 644 "$small"
	run --separate-stderr watched 300 "$PROGS/torture_proc" setuid "$big" "$small"
	rm -rf "$shared"
	show
	ran_clean
	[ "$(field setuid)" = "0 errno=0" ]
	[ "$(field uid)" = "65534 euid=65534" ]
	[ "$(field helpers)" -ge 1 ]
	[ "$(field loop_maps)" -ge 1 ]
	[ "$(field bad)" -eq 0 ]
}

# ---- signals ----

# flood MODE: COUNT queued real-time signals whose handler maps and unmaps.
flood() {
	local f n=$((20000 * S))
	f="$(big_file f64 64M)"
	run --separate-stderr watched 300 "$PROGS/torture_sig" "$1" "$f" "$n"
	show
	ran_clean
	[ "$(field sent)" -eq "$n" ]
	[ "$(field received)" -eq "$n" ]
	[ "$(field out_of_order)" -eq 0 ]
	[ "$(field wrong_thread)" -eq 0 ]
	[ "$(field handler_maps)" -eq "$n" ]
	[ "$(field bad)" -eq 0 ]
	# Bursts of 64, each sent once the main loop has run since the last
	# and is inside mmap or munmap (torture_sig waits for both, however
	# fast either side runs): the loop ran between bursts, and signals
	# landed inside the hooked calls.
	[ "$(field bursts)" -eq $(((n + 63) / 64)) ]
	[ "$(field loop_maps)" -ge $(($(field bursts) - 1)) ]
	[ "$(field during_call)" -ge 100 ]
}

@test "signal flood from a thread: every signal reaches the handler, which maps and unmaps" {
	flood thread
}

@test "signal flood from another process: delivered to the program's thread, never a helper" {
	flood proc
}

# ---- resources ----

@test "EMFILE: every descriptor used, the program maps through one it had" {
	local f plain
	f="$(big_file f64 64M)"
	run --separate-stderr "$PROGS/torture_res" emfile "$f" $((500 * S))
	show
	[ "$status" -eq 0 ]
	plain="$(without_lines '^present=')"

	f="$(big_file f64 64M)"
	# (Preloaded, the pause lasts until 90% of the pages are present.)
	run --separate-stderr watched 300 "$PROGS/torture_res" emfile "$f" $((500 * S)) 90
	show
	ran_clean
	# Every call returned what it returns without prefault ...
	[ "$(without_lines '^present=')" = "$plain" ]
	[ "$(field maps_ok)" = "$((500 * S))/$((500 * S))" ]
	[ "$(field open_errno)" = EMFILE ]
	[ "$(field fds_after)" -eq "$(field fds_before)" ]
	# ... and prefault needed no descriptor to bring the file in.
	local present
	present="$(field present)"
	[ "$(num "$present")" -ge $(($(den "$present") * 90 / 100)) ]
}

@test "a program that closes every descriptor, 0 1 2 included, then maps a file as fd 0" {
	local f report="$BATS_TEST_TMPDIR/report" stats="$BATS_TEST_TMPDIR/stats.jsonl"
	f="$(big_file f64 64M)"
	PREFAULT_STATS="$stats" run --separate-stderr watched 300 "$PROGS/torture_res" closeall "$f" "$report"
	show
	ran_clean
	output="$(cat "$report")"
	show
	[ "$(field fd)" -eq 0 ]
	[ "$(field bad)" -eq 0 ]
	[ "$(field done)" -eq 1 ] || fail "no done record within the deadline"
	local present
	present="$(field present)"
	[ "$(num "$present")" -ge $(($(den "$present") * 90 / 100)) ]
	stats_check "$stats"
}

@test "a 64 MiB memory cgroup, a 256 MiB file, default budget: no OOM kill" {
	local cg=/sys/fs/cgroup/memory/prefault-torture-$$ f stats="$BATS_TEST_TMPDIR/stats.jsonl"
	[ -d /sys/fs/cgroup/memory ] || fail "no cgroup v1 memory controller"
	f="$(big_file f256 256M)"
	rmdir "$cg" 2>/dev/null || true
	mkdir "$cg"
	echo $((64 << 20)) >"$cg/memory.limit_in_bytes"
	# shellcheck disable=SC2016 # the inner shell expands them
	# The pause lasts until the helper is done (stopped by the budget).
	PREFAULT_STATS="$stats" run --separate-stderr sh -c \
		'echo $$ > "$1/cgroup.procs" && exec timeout 300 env LD_PRELOAD="$2" "$3" -s 1000 -u done -c "$4"' \
		sh "$cg" "$LIB" "$PROGS/mapwatch" "$f"
	show
	local oom failcnt
	oom="$(sed -n 's/^oom_kill //p' "$cg/memory.oom_control")"
	failcnt="$(cat "$cg/memory.failcnt")"
	echo "oom_kill=$oom failcnt=$failcnt"
	rmdir "$cg" || true
	ran_clean
	[ "$oom" -eq 0 ]
	[ "$(field wait_met)" -eq 1 ] || fail "no done record within the deadline"
	[ "$(field bad_words)" -eq 0 ]
	# The budget was held to the group's headroom, not the machine's.
	stats_check "$stats"
	[ "$(stats_eval "$stats" '[r["budget"] for r in R if r["ev"] == "start"][0] <= 64 << 20')" = True ]
}

@test "an I/O error from the file system (FUSE, every read EIO): helper CPU bounded, program unharmed" {
	local mnt="$BATS_TEST_TMPDIR/eiofs" stats="$BATS_TEST_TMPDIR/stats.jsonl" reads
	[ -c /dev/fuse ] || fail "no /dev/fuse"
	mkdir -p "$mnt"
	"$PROGS/torture_eiofs" "$mnt" -f 2>"$BATS_TEST_TMPDIR/eiofs.err" &
	local fs=$! _
	for _ in $(seq 1200); do
		[ -f "$mnt/ok" ] && break
		sleep 0.05
	done
	[ -f "$mnt/ok" ] || fail "the FUSE file system did not come up: $(cat "$BATS_TEST_TMPDIR/eiofs.err")"
	PREFAULT_STATS="$stats" run --separate-stderr watched 300 \
		"$PROGS/torture_res" eio "$mnt/data" "$mnt/ok" $((3000 * S))
	show
	reads="$(cat "$mnt/reads")"
	fusermount3 -u "$mnt" || umount "$mnt" || true
	wait "$fs" || true
	echo "eio_reads=$reads helper_cpu_ms=$(field helper_cpu_ms) wall_ms=$(field wall_ms)"
	ran_clean
	[ "$(field ok_bad)" -eq 0 ]
	[ "$(field helpers)" -ge 1 ]
	# A helper that retried the failing range would burn its core: it
	# would never go idle and leave, and the reads would go on after the
	# error was recorded.  (Its CPU time, printed above, is the
	# benchmark's to judge.)
	[ "$(field done)" -eq 1 ] || fail "no done record for the failing file within the deadline"
	[ "$(field helpers_left)" -eq 1 ] || fail "the helpers did not go idle and leave within the deadline"
	[ "$(field reads_after)" -eq "$(field reads_at_done)" ]
	[ "$reads" -eq "$(field reads_after)" ]
	[ "$reads" -ge 1 ]
	[ "$reads" -le 10000 ]
	# The failing mapping ended with an error record; the good one was
	# brought in.
	stats_check "$stats"
	[ "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done" and r["path"].endswith("/data")]')" = "['error']" ]
	[ "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done" and r["path"].endswith("/ok")]')" = "['complete']" ]
}

# ---- neighbours ----

# allocator_pair SO: torture_neigh with SO before, then after, prefault.
allocator_pair() {
	local so f order
	so="$LIBDIR/$1"
	[ -f "$so" ] || fail "$1 is missing: run tools/install-deps"
	f="$(big_file f64 64M)"
	for order in "$so $LIB" "$LIB $so"; do
		run --separate-stderr timeout $((300 * S)) env LD_PRELOAD="$order" \
			"$PROGS/torture_neigh" malloc "$f" $((1000 * S)) 4
		show
		ran_clean
		[ "$(field rounds)" -eq $((4000 * S)) ]
		[ "$(field allocs)" -eq $((4000 * S)) ]
		[ "$(field maps)" -eq $((4000 * S)) ]
		[ "$(field bad)" -eq 0 ]
	done
}

@test "jemalloc preloaded before and after prefault: threads malloc and map files" {
	allocator_pair 'libjemalloc.so.2'
}

@test "tcmalloc preloaded before and after prefault: threads malloc and map files" {
	allocator_pair 'libtcmalloc_minimal.so.4'
}

@test "a library whose constructor maps a file before prefault's constructor runs" {
	local f stats="$BATS_TEST_TMPDIR/stats.jsonl" ctorlib="$PROGS/torture_ctorlib.so"
	f="$(big_file f64 64M)"
	# Constructors run last-preloaded first: this order runs the other
	# library's before ours, while the hooks still pass everything through.
	TORTURE_CTOR_FILE="$f" PREFAULT_STATS="$stats" run --separate-stderr \
		timeout 60 env LD_PRELOAD="$LIB $ctorlib" "$PROGS/torture_neigh" ctor
	show
	ran_clean
	[ "$(field ctor_bad)" -eq 0 ]
	[ "$(field ctor_ret)" -eq 0 ]
	[ "$(field later_bad)" -eq 0 ]
	stats_check "$stats"
	# Only the mapping made after our constructor was tracked.
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map")')" -eq 1 ]

	rm -f "$stats"
	TORTURE_CTOR_FILE="$f" PREFAULT_STATS="$stats" run --separate-stderr \
		timeout 60 env LD_PRELOAD="$ctorlib $LIB" "$PROGS/torture_neigh" ctor
	show
	ran_clean
	[ "$(field ctor_bad)" -eq 0 ]
	[ "$(field ctor_ret)" -eq 0 ]
	[ "$(field later_bad)" -eq 0 ]
	[ "$(stats_eval "$stats" 'sum(1 for r in R if r["ev"] == "map")')" -eq 2 ]
}
