#!/usr/bin/env bats
# gomodes.bats - prefault in a Go program built each way Go makes a dynamic
# program (tests/gomodes.mk, tests/go-modes/):
#
#   internal   cgo only through the standard library ("net", no import "C"):
#              Go's own linker, NEEDED libc.so.6, no x_cgo_init exported
#   external   the same program, -ldflags=-linkmode=external: x_cgo_init exported
#   pie        the same program, -buildmode=pie: an ELF of type DYN
#   cshared    a C program calling a Go library (-buildmode=c-shared): the
#              Go note is in the library, not in the program
#
# Each test first proves with readelf that the binary is what its mode says,
# then runs it on a cold 256 MiB file plain and preloaded: the program maps
# the file with syscall.Mmap (no hook sees it), hints MADV_RANDOM, pauses
# 500 ms (tests/go/gotest's Pause), reads 20k random bytes and reports the
# major faults of its own threads (those not named prefault*).  Discovery
# must find the mapping and the helpers bring it in, whatever the mode.

# shellcheck disable=SC2154
load test_helper

MODES="$BUILD_DIR/tests/go-modes"

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" test-gomodes >&2
}

setup() {
	prefault_setup
	local p
	for p in internal external pie cshared libgocold.so; do
		[ -e "$MODES/$p" ] || fail "$MODES/$p is missing: run make test-gomodes"
	done
}

# cold_pair FILE PROG ARGS...: runs PROG ARGS plain, then preloaded with the
# statistics in $BATS_TEST_TMPDIR/stats.jsonl, FILE evicted before each run.
# Sets plain_majflt, pre_majflt, pre_helper_majflt and pre_addr.
# (As tests/go.bats's.)
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
	run --separate-stderr env LD_PRELOAD="$LIB" PREFAULT_STATS="$STATS" "$@"
	show
	[ "$status" -eq 0 ] || return 1
	pre_majflt="$(field majflt)"
	pre_helper_majflt="$(field helper_majflt)"
	pre_addr="$(field addr)"
	cat "$STATS"
}

# check_cold FILE WHY: what every test asserts after cold_pair (tests/go.bats's
# check_cold, plus the start record: discovery on, for reason WHY).
check_cold() {
	local file=$1 why=$2 size pages
	size="$(stat -c %s "$file")"
	pages=$((size / 4096))
	echo "plain_majflt=$plain_majflt pre_majflt=$pre_majflt pre_helper_majflt=$pre_helper_majflt pages=$pages"
	# The plain run faulted page by page: otherwise this proves nothing.
	[ "$plain_majflt" -ge 10000 ]
	# Preloaded, the program's own threads take <= 5% of those faults.
	[ $((pre_majflt * 20)) -le "$plain_majflt" ]
	# Discovery found the file's mapping, at the address the program used.
	stats_check "$STATS"
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'map' and r['source'] == 'discover' and r['path'] == '$file' and A(r['addr']) == A('$pre_addr'))")" -eq 1 ]
	# Discovery was turned on, and for the reason this mode must give.
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'start' and r['active'] and r.get('discover') is True and r.get('discover_why') == '$why')")" -eq 1 ]
	# The helpers read ahead whatever the hint (one major fault per page
	# would be a page-sized read per fault), and brought the file in.
	[ "$pre_helper_majflt" -le $((pages / 64)) ]
	[ "$(stats_eval "$STATS" "sum(r['bytes_in'] for r in R if r['ev'] == 'done' and r['path'] == '$file')")" -ge $((size * 9 / 10)) ]
	# How discovery ran (perf records or polling) depends on the kernel and,
	# for c-shared, on the threads the Go runtime started before prefault's
	# constructor: said, not asserted, but it ran.
	stats_eval "$STATS" "sorted(set(r['discovery'] for r in R if r['ev'] == 'proc'))"
	[ "$(stats_eval "$STATS" "sum(1 for r in R if r['ev'] == 'proc' and r['discovery'] in ('off', 'pending'))")" -eq 0 ]
}

# elf BIN: readelf's header, dynamic section, dynamic symbols and notes of
# BIN in $elf_h, $elf_d, $elf_s, $elf_n.
elf() {
	elf_h="$(readelf -h "$1")" || fail "readelf -h $1"
	elf_d="$(readelf -d "$1")" || fail "readelf -d $1"
	elf_s="$(readelf --dyn-syms -W "$1")" || fail "readelf --dyn-syms $1"
	elf_n="$(readelf -n "$1")" || fail "readelf -n $1"
	printf '%s\n' "$1:" "$(grep -E 'Type:' <<<"$elf_h")" "$(grep -E 'NEEDED|RUNPATH|FLAGS' <<<"$elf_d")" \
		"$(grep -E ' (x_cgo_init|_cgo_init|ColdRead)$' <<<"$elf_s")" "$(grep -E 'GO BUILDID' <<<"$elf_n")"
}

has_type() { grep -qE "^ *Type: +$1 " <<<"$elf_h"; }
needs() { grep -qE "\(NEEDED\) +Shared library: \[$1\]" <<<"$elf_d"; }
# exports SYM: BIN defines SYM in its dynamic symbols; mentions SYM: they
# name it at all (defined or needed).
exports() { awk -v s="$1" '$8 == s && $7 != "UND" { f = 1 } END { exit !f }' <<<"$elf_s"; }
mentions() { awk -v s="$1" '$8 == s { f = 1 } END { exit !f }' <<<"$elf_s"; }
go_note() { grep -qE '^ *Go +0x[0-9a-f]+\s+GO BUILDID' <<<"$elf_n"; }

@test "internal linking (cgo only through \"net\", no import \"C\"): discovered by the Go note, program's major faults <= 5% of the plain run's" {
	local f
	elf "$MODES/internal"
	has_type EXEC
	needs libc.so.6 || fail "no NEEDED libc.so.6: static, LD_PRELOAD would be ignored"
	# Go's linker did the linking: the cgo runtime's symbols stay private.
	! mentions x_cgo_init || fail "x_cgo_init is a dynamic symbol: linked externally"
	! mentions _cgo_init || fail "_cgo_init is a dynamic symbol"
	go_note
	f="$(big_file gomodes-f256 256M)"
	cold_pair "$f" "$MODES/internal" "$f"
	check_cold "$f" go-note
}

@test "external linking (-linkmode=external): discovered by the Go note, program's major faults <= 5% of the plain run's" {
	local f
	elf "$MODES/external"
	has_type EXEC
	needs libc.so.6
	exports x_cgo_init || fail "x_cgo_init is not exported: not linked externally"
	go_note
	f="$(big_file gomodes-f256 256M)"
	cold_pair "$f" "$MODES/external" "$f"
	check_cold "$f" go-note
}

@test "PIE (-buildmode=pie): discovered by the Go note, program's major faults <= 5% of the plain run's" {
	local f
	elf "$MODES/pie"
	has_type DYN || fail "not of type DYN: not position-independent"
	grep -qE '\(FLAGS_1\) +Flags: .*PIE' <<<"$elf_d"
	needs libc.so.6
	readelf -lW "$MODES/pie" | grep -qE '^ *INTERP ' || fail "no INTERP: not a program"
	go_note
	f="$(big_file gomodes-f256 256M)"
	cold_pair "$f" "$MODES/pie" "$f"
	check_cold "$f" go-note
}

@test "c-shared (a C program calling a Go library): discovered by the library's Go note, program's major faults <= 5% of the plain run's" {
	local f
	# The program is C: no Go note; it finds the library by its rpath.
	elf "$MODES/cshared"
	! go_note || fail "the C program carries a Go note: this proves nothing about the library"
	! mentions x_cgo_init || fail "the C program names x_cgo_init"
	needs libgocold.so
	grep -qE '\((RUNPATH|RPATH)\) ' <<<"$elf_d"
	# The library is Go, and exports the function the program calls.
	elf "$MODES/libgocold.so"
	has_type DYN
	go_note
	exports ColdRead
	f="$(big_file gomodes-f256 256M)"
	cold_pair "$f" env -u LD_LIBRARY_PATH "$MODES/cshared" "$f"
	[ "$(field c_main)" = 1 ]
	check_cold "$f" go-library
}
