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
# (tests/go/gotest's Settle), reads 20k random bytes and reports the
# major faults of its own threads (those not named prefault*).  Discovery
# must find the mapping and the helpers bring it in, whatever the mode.

# shellcheck disable=SC2154
load test_helper
load go_helper

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
