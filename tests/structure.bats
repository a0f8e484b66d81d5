#!/usr/bin/env bats
# tests/structure.bats - shim/'s layering (shim/README.md) holds: no include
# that goes a layer up, no include cycle (tools/structure-check over the
# files' #include lines); and the check itself fails on each kind of break,
# planted in a copy of the tree.
#
# Self-contained: builds nothing.

# shellcheck disable=SC2154
bats_require_minimum_version 1.5.0

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd -P)"
	COPY="$BATS_TEST_TMPDIR/tree"
	mkdir -p "$COPY/tools"
	cp -r "$ROOT/shim" "$COPY/shim"
	cp -r "$ROOT/tools/companion" "$COPY/tools/companion"
}

# plant FILE LINE: adds an include line at the top of a file of the copy.
plant() {
	sed -i "1i $2" "$COPY/$1"
}

@test "shim/ has no upward include and no include cycle" {
	run "$ROOT/tools/structure-check" "$ROOT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"no upward include, no cycle"* ]]
}

@test "the check fails on an include a layer up" {
	run "$ROOT/tools/structure-check" "$COPY"
	[ "$status" -eq 0 ]
	plant shim/sys/pagemap.c '#include "work/engine.h"'
	run "$ROOT/tools/structure-check" "$COPY"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *'shim/sys/pagemap.c: includes "work/engine.h", a layer up (work above sys)'* ]]
}

@test "the check fails on a cycle inside a layer" {
	# core/log is below core/options (options.c includes log.h); the
	# reverse closes a cycle without going up a layer.
	grep -q '#include "core/log.h"' "$ROOT/shim/core/options.c"
	plant shim/core/log.c '#include "core/options.h"'
	run "$ROOT/tools/structure-check" "$COPY"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"include cycle among: "*"core/log"*"core/options"* ]]
}

@test "the check fails on a header named without its layer, and on the companion including lib" {
	plant shim/core/table.c '#include "alloc.h"'
	plant tools/companion/main.c '#include "lib/hooks.h"'
	run "$ROOT/tools/structure-check" "$COPY"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *'shim/core/table.c: includes "alloc.h", not a shim header by its layer'* ]]
	[[ "$output" == *'tools/companion/main.c: includes "lib/hooks.h": the companion links sys, core and work only'* ]]
}
