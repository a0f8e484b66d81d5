#!/usr/bin/env bats
# tests/wrapper.bats - the prefault command (tools/prefault), by its effects: what
# the command it runs finds in its environment, what reaches stderr, whether the
# command ran at all (marker files), the exit status it hands back, and where the
# installed copy looks for the library.
#
# Preloads the library make builds (in $BUILD, as `make test` passes it; setup_file
# runs `make all` so that the file can also be run on its own with bats), named
# through PREFAULT_LIBRARY; how the wrapper finds the library by itself is tested
# in a scratch checkout. Static and setuid commands run under prefault-companion
# (named through PREFAULT_COMPANION; what it does is tests/companion.bats's).
# Self-contained: does not use tests/test_helper.bash.

# Single quotes keep $VAR for the command under test; bats sets stderr_lines.
# shellcheck disable=SC2016,SC2154
bats_require_minimum_version 1.5.0

setup_file() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd -P)"
    BUILD="${BUILD:-build}"
    export ROOT BUILD
    make -s -C "$ROOT" BUILD="$BUILD" all >&2
    # A harmless library to stand for "whatever the user already preloads".
    cp "$(gcc -print-file-name=libm.so.6)" "$BATS_FILE_TMPDIR/libother.so"
    printf 'int main(void) { return 3; }\n' >"$BATS_FILE_TMPDIR/three.c"
    # Prints its parent's name (is it the companion?) and returns 3.
    cat >"$BATS_FILE_TMPDIR/parent.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int main(void)
{
    char path[64], name[64] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)getppid());
    FILE *f = fopen(path, "r");
    if (f && fgets(name, sizeof name, f))
        fputs(name, stdout);
    return 3;
}
EOF
}

setup() {
    PREFAULT="$ROOT/tools/prefault"
    case $BUILD in
        /*) LIB="$BUILD/libprefault.so" ;;
        *) LIB="$ROOT/$BUILD/libprefault.so" ;;
    esac
    OTHER="$BATS_FILE_TMPDIR/libother.so"
    MARKER="$BATS_TEST_TMPDIR/command-ran"
    local name
    for name in $(compgen -e -X '!PREFAULT*') LD_PRELOAD; do
        unset "$name"
    done
    [ -f "$LIB" ]
    export PREFAULT_LIBRARY="$LIB"
    case $BUILD in
        /*) COMPANION="$BUILD/prefault-companion" ;;
        *) COMPANION="$ROOT/$BUILD/prefault-companion" ;;
    esac
    [ -x "$COMPANION" ]
    export PREFAULT_COMPANION="$COMPANION"
}

# scratch_checkout: a copy of the script in a checkout's layout, with a stand-in
# library at build/libprefault.so; prints that library's path.
scratch_checkout() {
    mkdir -p "$BATS_TEST_TMPDIR/checkout/tools" "$BATS_TEST_TMPDIR/checkout/build"
    cp "$PREFAULT" "$BATS_TEST_TMPDIR/checkout/tools/prefault"
    cp "$OTHER" "$BATS_TEST_TMPDIR/checkout/build/libprefault.so"
    echo "$BATS_TEST_TMPDIR/checkout/build/libprefault.so"
}

# has_line LINE: $output has LINE as one of its lines.
has_line() {
    local line
    for line in "${lines[@]}"; do
        [[ $line == "$1" ]] && return 0
    done
    echo "no line '$1' in:" "${lines[@]}"
    return 1
}

# refused OPTION... : the wrapper refuses these options with exit 2, one line on
# stderr that starts with "prefault: ", nothing on stdout, and runs nothing.
refused() {
    echo "case: $*"
    run --separate-stderr "$PREFAULT" "$@" -- touch "$MARKER"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ ${stderr_lines[0]} == "prefault: "* ]]
    [ ! -e "$MARKER" ]
}

@test "--help lists every option and variable on stdout, exits 0 and runs nothing" {
    run --separate-stderr "$PREFAULT" --help -- touch "$MARKER"
    [ "$status" -eq 0 ]
    [ -z "$stderr" ]
    [ ! -e "$MARKER" ]
    local word
    for word in --off --diagnose '-b,' --budget '-s,' --stats --log '-v,' --verbose --min-size --include \
        --exclude '-j,' --threads '-w,' --window --no-inherit --discover --no-pace --locked-stdio \
        --pid '-h,' --help --version \
        '[PREFAULT=0]' PREFAULT_BUDGET PREFAULT_STATS PREFAULT_LOG PREFAULT_MIN_SIZE \
        PREFAULT_INCLUDE PREFAULT_EXCLUDE PREFAULT_THREADS PREFAULT_WINDOW \
        PREFAULT_INHERIT PREFAULT_DISCOVER PREFAULT_PACE PREFAULT_FAST_STDIO \
        PREFAULT_PREFETCH PREFAULT_LIBRARY PREFAULT_COMPANION Examples:; do
        [[ $output == *"$word"* ]] || { echo "--help lacks $word"; false; }
    done
    run --separate-stderr "$PREFAULT" -h
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == usage:* ]]
}

@test "--version prints the version only" {
    run --separate-stderr "$PREFAULT" --version
    [ "$status" -eq 0 ]
    [ "$output" = "prefault 0.1.0" ]
    [ -z "$stderr" ]
}

@test "the library is preloaded" {
    run --separate-stderr "$PREFAULT" -- sh -c 'echo "$LD_PRELOAD"'
    [ "$status" -eq 0 ]
    [ "$output" = "$LIB" ]
    [ -z "$stderr" ]
}

@test "from a checkout, the library is build/libprefault.so beside tools/" {
    local lib
    lib="$(scratch_checkout)"
    unset PREFAULT_LIBRARY
    cd "$BATS_TEST_TMPDIR"
    run --separate-stderr checkout/tools/prefault -- sh -c 'echo "$LD_PRELOAD"'
    [ "$status" -eq 0 ]
    [ "$output" = "$lib" ]
    [ -z "$stderr" ]

    rm "$lib"
    run -127 --separate-stderr checkout/tools/prefault -- touch "$MARKER"
    [ "$stderr" = "prefault: library not found at $lib; run make" ]
    [ ! -e "$MARKER" ]
}

@test "from a checkout, the library is found through a symlink to the script" {
    local lib
    lib="$(scratch_checkout)"
    unset PREFAULT_LIBRARY
    mkdir "$BATS_TEST_TMPDIR/bin"
    ln -s "$BATS_TEST_TMPDIR/checkout/tools/prefault" "$BATS_TEST_TMPDIR/bin/prefault"
    cd "$BATS_TEST_TMPDIR/bin"
    run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin:$PATH" prefault sh -c 'echo "$LD_PRELOAD"'
    [ "$status" -eq 0 ]
    [ "$output" = "$lib" ]
}

@test "an existing LD_PRELOAD is kept after the library, separators and all" {
    LD_PRELOAD="$OTHER" run --separate-stderr "$PREFAULT" -- sh -c 'echo "$LD_PRELOAD"'
    [ "$status" -eq 0 ]
    [ "$output" = "$LIB $OTHER" ]

    LD_PRELOAD="$OTHER:$OTHER" run --separate-stderr "$PREFAULT" -- sh -c 'echo "$LD_PRELOAD"'
    [ "$output" = "$LIB $OTHER:$OTHER" ]
}

@test "an ASan runtime first in LD_PRELOAD stays first" {
    local asan="$BATS_TEST_TMPDIR/libasan.so.8"
    cp "$OTHER" "$asan"
    LD_PRELOAD="$asan:$OTHER" run --separate-stderr "$PREFAULT" -- sh -c 'echo "$LD_PRELOAD"'
    [ "$status" -eq 0 ]
    [ "$output" = "$asan $LIB:$OTHER" ]

    LD_PRELOAD="$asan" run --separate-stderr "$PREFAULT" -- sh -c 'echo "$LD_PRELOAD"'
    [ "$output" = "$asan $LIB" ]
}

@test "the library is not added twice" {
    LD_PRELOAD="$OTHER $LIB" run --separate-stderr "$PREFAULT" -- sh -c 'echo "$LD_PRELOAD"'
    [ "$status" -eq 0 ]
    [ "$output" = "$OTHER $LIB" ]
}

@test "PREFAULT_LIBRARY chooses the library, a relative path made absolute" {
    cd "$BATS_FILE_TMPDIR"
    PREFAULT_LIBRARY=libother.so run --separate-stderr "$PREFAULT" -- sh -c 'echo "$LD_PRELOAD"'
    [ "$status" -eq 0 ]
    [ "$output" = "$OTHER" ]
}

@test "a missing library is one error line, exit 127, and nothing runs" {
    PREFAULT_LIBRARY="$BATS_TEST_TMPDIR/nope.so" run -127 --separate-stderr "$PREFAULT" -- touch "$MARKER"
    [ "$status" -eq 127 ]
    [ -z "$output" ]
    [ "$stderr" = "prefault: library not found at $BATS_TEST_TMPDIR/nope.so; run make" ]
    [ ! -e "$MARKER" ]
}

@test "options become the PREFAULT_* variables" {
    run --separate-stderr "$PREFAULT" --budget 128M --threads 2 --stats "$BATS_TEST_TMPDIR/stats.%p" \
        --log "$BATS_TEST_TMPDIR/log" --min-size 64K --include '/data/*:*.db' --exclude '*.log' \
        --window 8M --no-inherit --discover on --no-pace --locked-stdio --off -- env
    [ "$status" -eq 0 ]
    has_line PREFAULT=0
    has_line PREFAULT_BUDGET=128M
    has_line PREFAULT_THREADS=2
    has_line "PREFAULT_STATS=$BATS_TEST_TMPDIR/stats.%p"
    has_line "PREFAULT_LOG=$BATS_TEST_TMPDIR/log"
    has_line PREFAULT_MIN_SIZE=64K
    has_line 'PREFAULT_INCLUDE=/data/*:*.db'
    has_line 'PREFAULT_EXCLUDE=*.log'
    has_line PREFAULT_WINDOW=8M
    has_line PREFAULT_INHERIT=0
    has_line PREFAULT_DISCOVER=1
    has_line PREFAULT_PACE=0
    has_line PREFAULT_FAST_STDIO=0
}

@test "short options, --opt=value and attached values" {
    run --separate-stderr "$PREFAULT" -b 25% -j4 -w 1M -s stderr -v --discover=off -- env
    [ "$status" -eq 0 ]
    has_line PREFAULT_BUDGET=25%
    has_line PREFAULT_THREADS=4
    has_line PREFAULT_WINDOW=1M
    has_line PREFAULT_STATS=stderr
    has_line PREFAULT_LOG=stderr
    has_line PREFAULT_DISCOVER=0

    run --separate-stderr "$PREFAULT" --budget=2G --discover auto --threads=016 -- env
    has_line PREFAULT_BUDGET=2G
    has_line PREFAULT_DISCOVER=auto
    has_line PREFAULT_THREADS=16 # leading zeros dropped: never read as octal
}

@test "an option overrides its variable; other variables pass through; no option sets nothing" {
    PREFAULT_BUDGET=2G PREFAULT_WINDOW=1M run --separate-stderr "$PREFAULT" --budget 128M -- env
    [ "$status" -eq 0 ]
    has_line PREFAULT_BUDGET=128M
    has_line PREFAULT_WINDOW=1M

    run --separate-stderr "$PREFAULT" -- sh -c 'env | grep "^PREFAULT" | grep -v "^PREFAULT_\(LIBRARY\|COMPANION\)=" || true'
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

# to_eof CMD...: bats' run of CMD with stderr read to its end, where --stats's
# watcher writes the summary once the program has ended.
to_eof() {
    run --separate-stderr bash -o pipefail -c '{ "$@" 2>&1 >&3 3>&- | cat >&2; } 3>&1' bash "$@"
}

@test "--diagnose: PREFAULT_PREFETCH=0, statistics in \$TMPDIR said once, summed up at the end" {
    export TMPDIR="$BATS_TEST_TMPDIR/tmp"
    mkdir "$TMPDIR"
    to_eof "$PREFAULT" --diagnose -- sh -c 'echo $$; env | grep -E "^PREFAULT_(PREFETCH|STATS)=" | sort'
    printf '%s\n' "$output" "--- stderr" "$stderr"
    [ "$status" -eq 0 ]
    local pid=${lines[0]}
    [ "${lines[1]}" = PREFAULT_PREFETCH=0 ]
    [ "${lines[2]}" = "PREFAULT_STATS=$TMPDIR/prefault-diagnose.%p.jsonl" ]
    [ "${stderr_lines[0]}" = "prefault: --diagnose: statistics in $TMPDIR/prefault-diagnose.%p.jsonl (%p: the pid)" ]
    [ "$(grep -c -- --diagnose <<<"$stderr")" -eq 1 ]
    [[ $stderr == *"prefault report: $TMPDIR/prefault-diagnose.$pid.jsonl, pid $pid,"* ]]
    [ -s "$TMPDIR/prefault-diagnose.$pid.jsonl" ]

    # A TMPDIR that cannot be written: /tmp.
    TMPDIR="$BATS_TEST_TMPDIR/no/such/dir" to_eof "$PREFAULT" --diagnose -- sh -c 'echo $$'
    [ "$status" -eq 0 ]
    [ "${stderr_lines[0]}" = "prefault: --diagnose: statistics in /tmp/prefault-diagnose.%p.jsonl (%p: the pid)" ]
    [[ $stderr == *"prefault report: /tmp/prefault-diagnose.$output.jsonl, pid $output,"* ]]
    rm -f "/tmp/prefault-diagnose.$output.jsonl"
}

@test "--diagnose keeps the statistics asked for (--stats, PREFAULT_STATS) and says nothing of its own; with --off it is refused" {
    to_eof "$PREFAULT" --diagnose --stats "$BATS_TEST_TMPDIR/d.%p.jsonl" -- sh -c 'echo $$; echo "$PREFAULT_STATS $PREFAULT_PREFETCH"'
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "$BATS_TEST_TMPDIR/d.%p.jsonl 0" ]
    [[ $stderr != *--diagnose* ]]
    [[ $stderr == "prefault report: $BATS_TEST_TMPDIR/d.${lines[0]}.jsonl, pid ${lines[0]},"* ]]

    PREFAULT_STATS="$BATS_TEST_TMPDIR/e.%p.jsonl" to_eof "$PREFAULT" --diagnose -- sh -c 'echo $$; echo "$PREFAULT_STATS"'
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = "$BATS_TEST_TMPDIR/e.%p.jsonl" ]
    [[ $stderr == "prefault report: $BATS_TEST_TMPDIR/e.${lines[0]}.jsonl, pid ${lines[0]},"* ]]

    # Records on stderr: no summary.
    to_eof "$PREFAULT" --diagnose --stats stderr -- true
    [ "$status" -eq 0 ]
    [[ $stderr == '{"v":2,"ev":"start"'* ]]
    [[ $stderr != *"prefault report"* ]]

    refused --diagnose --off
    refused --off --diagnose
    refused --diagnose=1
}

@test "sizes and shares in README's grammar and bounds are accepted" {
    local value
    for value in 1M 1T 128MiB 128mb 2gb 1g 1048576 1% 25% 100%; do
        run --separate-stderr "$PREFAULT" --budget "$value" -- env
        [ "$status" -eq 0 ] || { echo "refused --budget $value: $stderr"; false; }
        has_line "PREFAULT_BUDGET=$value"
    done
    for value in 4K 4KiB 1T; do
        run --separate-stderr "$PREFAULT" --min-size "$value" -- env
        has_line "PREFAULT_MIN_SIZE=$value"
    done
    for value in 256K 1G 1gib; do
        run --separate-stderr "$PREFAULT" --window "$value" -- env
        has_line "PREFAULT_WINDOW=$value"
    done
    for value in 1 16; do
        run --separate-stderr "$PREFAULT" --threads "$value" -- env
        has_line "PREFAULT_THREADS=$value"
    done
}

@test "malformed or out-of-bounds values are refused before anything runs" {
    refused --budget xyz
    refused --budget 0
    refused --budget 1K
    refused --budget 2T
    refused --budget 0%
    refused --budget 101%
    refused --budget 12.5M
    refused --budget 1MiBB
    refused --budget -1M
    refused --budget ''
    refused --min-size 1K
    refused --min-size 2T
    refused --window 128K
    refused --window 2G
    refused --window 50%
    refused --threads 0
    refused --threads 17
    refused --threads two
    refused -j ''
    refused --discover maybe
    refused --stats ''
    refused --log fd:x
    refused --include ''
    refused --exclude ''
    refused --pid 0
    refused --pid x
    refused --pid ''
    refused --pid 1 # no command with --pid
}

@test "the message for a bad budget says what was expected" {
    run --separate-stderr "$PREFAULT" --budget xyz -- true
    [ "$status" -eq 2 ]
    [[ $stderr == "prefault: invalid --budget 'xyz': expected a size like 128M or a share like 25%"* ]]
}

@test "unknown options, missing values and values given to flags are refused" {
    refused --frobnicate
    refused -x
    refused --off=1
    refused --no-inherit=yes
    run --separate-stderr "$PREFAULT" --budget
    [ "$status" -eq 2 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "no command prints the usage on stderr and exits 2" {
    run --separate-stderr "$PREFAULT"
    [ "$status" -eq 2 ]
    [ -z "$output" ]
    [[ $stderr == usage:* ]]

    run --separate-stderr "$PREFAULT" --budget 1G --
    [ "$status" -eq 2 ]
    [[ $stderr == usage:* ]]
}

@test "without --, the first word that is not an option is the command, and the rest are its own" {
    run --separate-stderr "$PREFAULT" -b 1G sh -c 'echo "$PREFAULT_BUDGET $*"' sh --budget -x
    [ "$status" -eq 0 ]
    [ "$output" = "1G --budget -x" ]
}

@test "the command's exit status is returned, also death by a signal" {
    run --separate-stderr "$PREFAULT" -- sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run --separate-stderr "$PREFAULT" sh -c 'kill -TERM $$'
    [ "$status" -eq 143 ]
}

@test "the command replaces the wrapper (same pid) and the wrapper prints nothing" {
    run --separate-stderr bash -c 'echo $$; exec "$1" -- sh -c "echo \$\$"' bash "$PREFAULT"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "${lines[0]}" = "${lines[1]}" ]

    run --separate-stderr "$PREFAULT" -- true
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -z "$stderr" ]
}

@test "a command that is not found is exit 127 with one line" {
    run -127 --separate-stderr "$PREFAULT" -- prefault-no-such-command-xyz arg
    [ "$status" -eq 127 ]
    [ -z "$output" ]
    [ "$stderr" = "prefault: prefault-no-such-command-xyz: command not found" ]
}

@test "a static binary runs under prefault-companion, silently, with its exit status" {
    gcc -static -o "$BATS_TEST_TMPDIR/parent" "$BATS_FILE_TMPDIR/parent.c"
    run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/parent"
    [ "$status" -eq 3 ]
    [ -z "$stderr" ]
    [ "$output" = prefault-compan ] # comm is 15 characters

    # found through PATH too
    PATH="$BATS_TEST_TMPDIR:$PATH" run --separate-stderr "$PREFAULT" parent
    [ "$status" -eq 3 ]
    [ "$output" = prefault-compan ]
}

@test "a static-pie binary (no PT_INTERP, but a dynamic section) runs under the companion" {
    gcc -static-pie -o "$BATS_TEST_TMPDIR/parent" "$BATS_FILE_TMPDIR/parent.c"
    run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/parent"
    [ "$status" -eq 3 ]
    [ -z "$stderr" ]
    [ "$output" = prefault-compan ]
}

@test "dynamic binaries and scripts get no warning" {
    gcc -o "$BATS_TEST_TMPDIR/three" "$BATS_FILE_TMPDIR/three.c"
    run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/three"
    [ "$status" -eq 3 ]
    [ -z "$stderr" ]

    printf '#!/bin/sh\necho "$LD_PRELOAD"\nexit 5\n' >"$BATS_TEST_TMPDIR/script"
    chmod +x "$BATS_TEST_TMPDIR/script"
    run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/script"
    [ "$status" -eq 5 ]
    [ "$output" = "$LIB" ]
    [ -z "$stderr" ]
}

@test "setuid and setgid binaries run under the companion, environment unchanged" {
    gcc -o "$BATS_TEST_TMPDIR/suid" "$BATS_FILE_TMPDIR/parent.c"
    chmod u+s "$BATS_TEST_TMPDIR/suid"
    run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/suid"
    [ "$status" -eq 3 ]
    [ "$output" = prefault-compan ]
    [ -z "$stderr" ]

    cp "$(type -P false)" "$BATS_TEST_TMPDIR/sgid"
    chmod g+s "$BATS_TEST_TMPDIR/sgid"
    run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/sgid"
    [ "$status" -eq 1 ]
    [ -z "$stderr" ]

    # No LD_PRELOAD added: the companion works from outside.
    cp "$(type -P env)" "$BATS_TEST_TMPDIR/senv"
    chmod u+s "$BATS_TEST_TMPDIR/senv"
    run --separate-stderr "$PREFAULT" -b 1G -- "$BATS_TEST_TMPDIR/senv"
    [ "$status" -eq 0 ]
    [[ $output != *LD_PRELOAD=* ]]
    [[ $output == *PREFAULT_BUDGET=1G* ]]
}

@test "without the companion (or with --off), static and setuid binaries get a warning and still run" {
    gcc -static -o "$BATS_TEST_TMPDIR/three" "$BATS_FILE_TMPDIR/three.c"
    PREFAULT_COMPANION="$BATS_TEST_TMPDIR/no-companion" run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/three"
    [ "$status" -eq 3 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "prefault: warning: $BATS_TEST_TMPDIR/three is statically linked"* ]]

    run --separate-stderr "$PREFAULT" --off -- "$BATS_TEST_TMPDIR/three"
    [ "$status" -eq 3 ]
    [[ $stderr == "prefault: warning: $BATS_TEST_TMPDIR/three is statically linked"* ]]

    cp "$(type -P true)" "$BATS_TEST_TMPDIR/suid"
    chmod u+s "$BATS_TEST_TMPDIR/suid"
    PREFAULT_COMPANION="$BATS_TEST_TMPDIR/no-companion" run --separate-stderr "$PREFAULT" -- "$BATS_TEST_TMPDIR/suid"
    [ "$status" -eq 0 ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "prefault: warning: $BATS_TEST_TMPDIR/suid is setuid:"* ]]
}

@test "--pid runs the companion on the process; without a companion it is one line, exit 127" {
    sleep 300 &
    local sp=$! w i st=0
    # Interrupted once the companion runs and takes SIGINT (the wrapper has
    # become it, and it blocks the signal to read it from a signalfd: at
    # most 60 s), however long starting it takes.
    "$PREFAULT" --pid "$sp" 2>"$BATS_TEST_TMPDIR/err" &
    w=$!
    for ((i = 0; i < 6000; i++)); do
        [ "$(cat "/proc/$w/comm" 2>/dev/null)" = prefault-compan ] &&
            (($(sed -n 's/^SigBlk:[[:space:]]*/0x/p' "/proc/$w/status") & 2)) && break
        sleep 0.01
    done
    [ "$(cat "/proc/$w/comm")" = prefault-compan ]
    kill -INT "$w"
    wait "$w" || st=$?
    [ "$st" -eq 130 ] # interrupted: 128+SIGINT
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
    PREFAULT_COMPANION="$BATS_TEST_TMPDIR/no-companion" run -127 --separate-stderr "$PREFAULT" --pid "$sp"
    [ "$status" -eq 127 ]
    [ "$stderr" = "prefault: prefault-companion not found at $BATS_TEST_TMPDIR/no-companion; run make" ]
    kill "$sp"
}

@test "make install substitutes the library directory; make uninstall removes the files" {
    local dest="$BATS_TEST_TMPDIR/root"
    unset PREFAULT_LIBRARY
    run make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$dest" PREFIX=/usr
    [ "$status" -eq 0 ]
    [ -x "$dest/usr/bin/prefault" ]
    [ -f "$dest/usr/lib/libprefault.so.0" ]
    [ -x "$dest/usr/libexec/prefault/prefault-companion" ]
    cmp "$LIB" "$dest/usr/lib/libprefault.so.0"
    grep -qx 'readonly libdir="/usr/lib" libexecdir="/usr/libexec/prefault" soname="libprefault.so.0"' "$dest/usr/bin/prefault"
    [ "$(grep -c '@LIBDIR@' "$dest/usr/bin/prefault")" -eq 0 ]
    # Staged under DESTDIR, it looks where it will be installed, not in a checkout.
    run -127 --separate-stderr "$dest/usr/bin/prefault" -- touch "$MARKER"
    [ "$status" -eq 127 ]
    [ "$stderr" = "prefault: library not found at /usr/lib/libprefault.so.0; run make" ]
    [ ! -e "$MARKER" ]

    run make -s -C "$ROOT" BUILD="$BUILD" uninstall DESTDIR="$dest" PREFIX=/usr
    [ "$status" -eq 0 ]
    [ ! -e "$dest/usr/bin/prefault" ]
    [ ! -e "$dest/usr/libexec/prefault/prefault-companion" ]
    [ ! -e "$dest/usr/lib/libprefault.so.0" ]
}

@test "an installed prefault preloads the installed library" {
    local prefix="$BATS_TEST_TMPDIR/usr"
    unset PREFAULT_LIBRARY PREFAULT_COMPANION
    run make -s -C "$ROOT" BUILD="$BUILD" install PREFIX="$prefix"
    [ "$status" -eq 0 ]
    cd "$BATS_TEST_TMPDIR"
    run --separate-stderr "$prefix/bin/prefault" -- sh -c 'echo $LD_PRELOAD'
    [ "$status" -eq 0 ]
    [ "$output" = "$prefix/lib/libprefault.so.0" ]
    [ -z "$stderr" ]
    # and runs a static command under the installed companion
    gcc -static -o "$BATS_TEST_TMPDIR/parent" "$BATS_FILE_TMPDIR/parent.c"
    run --separate-stderr "$prefix/bin/prefault" -- "$BATS_TEST_TMPDIR/parent"
    [ "$status" -eq 3 ]
    [ "$output" = prefault-compan ]

    run make -s -C "$ROOT" BUILD="$BUILD" uninstall PREFIX="$prefix"
    [ "$status" -eq 0 ]
    [ ! -e "$prefix/bin/prefault" ]
    [ ! -e "$prefix/lib/libprefault.so.0" ]
}
