#!/usr/bin/env bats
# tests/check.bats - `prefault --check COMMAND` (tools/check/check.c through
# tools/prefault): what it says about a binary against what is true of it,
# what the kernel answers on its own (PROCMAP_QUERY and MADV_POPULATE_READ
# asked from Python, perf refused by a seccomp filter), and what the library
# itself decides when it is preloaded into the same program (the start
# record's discover_why and budget, the proc record's discovery).  COMMAND
# must never run: every program built here creates the file named by its
# first argument when it runs, and no check may leave one.
#
# The programs are built once, in setup_file: C programs dynamic, static,
# static-pie and one that defines x_cgo_init; Go programs internally linked
# with cgo through net, static (CGO_ENABLED=0), and a Go c-shared library a
# C program needs (GOPATH mode, as tests/go.mk).  Nothing here times
# anything.

load test_helper

# bats sets lines, stderr_lines; $1 in single quotes is for the program.
# shellcheck disable=SC2016,SC2154

GOENV=(GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS=)

setup_file() {
	prefault_setup_file
	local d="$BATS_FILE_TMPDIR"
	# Creates argv[1]: proof that it ran.
	cat >"$d/marker.c" <<'EOF'
#include <fcntl.h>
int main(int argc, char **argv)
{
    if (argc > 1)
        open(argv[1], O_WRONLY | O_CREAT, 0600);
    return 0;
}
EOF
	cc -o "$d/dyn" "$d/marker.c"
	cc -static -o "$d/static" "$d/marker.c"
	cc -static-pie -o "$d/spie" "$d/marker.c"
	printf 'void x_cgo_init(void) {}\n' >"$d/cgo.c"
	cc -rdynamic -o "$d/cgosym" "$d/marker.c" "$d/cgo.c"
	# Names x_cgo_init (weak, undefined) without defining it: not Go.
	printf 'extern void x_cgo_init(void) __attribute__((weak));\nvoid *cgo_ref(void) { return (void *)x_cgo_init; }\n' >"$d/weak.c"
	cc -o "$d/weakcgo" "$d/marker.c" "$d/weak.c"

	mkdir -p "$d/gonet" "$d/golib"
	cat >"$d/gonet/main.go" <<'EOF'
package main

import (
	"net"
	"os"
)

func main() {
	_ = net.IPv4len
	if len(os.Args) > 1 {
		f, _ := os.Create(os.Args[1])
		f.Close()
	}
}
EOF
	cat >"$d/golib/lib.go" <<'EOF'
package main

import "C"

//export Add
func Add(a, b C.int) C.int { return a + b }

func main() {}
EOF
	cat >"$d/usego.c" <<'EOF'
#include <fcntl.h>
int Add(int, int);
int main(int argc, char **argv)
{
    if (argc > 1)
        open(argv[1], O_WRONLY | O_CREAT, 0600);
    return Add(1, 2) == 3 ? 0 : 1;
}
EOF
	(
		cd "$d/gonet"
		env "${GOENV[@]}" GOCACHE="$BUILD_DIR/gocache" CGO_ENABLED=1 go build -o "$d/gointernal" main.go
		env "${GOENV[@]}" GOCACHE="$BUILD_DIR/gocache" CGO_ENABLED=0 go build -o "$d/gostatic" main.go
		cd "$d/golib"
		env "${GOENV[@]}" GOCACHE="$BUILD_DIR/gocache" CGO_ENABLED=1 go build -buildmode=c-shared -o "$d/libgoadd.so" lib.go
	) >&2
	cc -o "$d/usego" "$d/usego.c" -L"$d" -lgoadd -Wl,-rpath,"$d"
}

setup() {
	prefault_setup
	PREFAULT="$ROOT/tools/prefault"
	P="$BATS_FILE_TMPDIR"
	MARKER="$BATS_TEST_TMPDIR/ran"
	export PREFAULT_LIBRARY="$LIB" PREFAULT_COMPANION="$BUILD_DIR/prefault-companion"
	[ -x "$BUILD_DIR/prefault-check" ] || fail "$BUILD_DIR/prefault-check is missing: run make"
}

# check ARGS...: prefault --check ARGS, stderr apart.
check() {
	run --separate-stderr "$PREFAULT" --check "$@"
	show
}

# check_json ARGS...: the same with --json; the object is left in $JSON.
check_json() {
	JSON="$BATS_TEST_TMPDIR/check.json"
	run --separate-stderr "$PREFAULT" --check --json "$@"
	show
	printf '%s\n' "$output" >"$JSON"
}

# j EXPR: EXPR evaluated in Python with d, the object in $JSON.
j() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$JSON" "$1"
}

# val KEY: the value of the "KEY: " line of $output.
val() {
	local v
	v="$(sed -n "s/^$1: //p" <<<"$output" | head -n 1)"
	[ -n "$v" ] || fail "no '$1: ' line in the output"
	printf '%s\n' "$v"
}

# never_ran: the command did not run (and printed nothing of its own).
never_ran() {
	[ ! -e "$MARKER" ] || fail "the command ran: $MARKER exists"
}

# library_says PROG KEY: KEY of the start record when the library itself is
# preloaded into PROG (which runs, with a marker of its own).
library_says() {
	local stats="$BATS_TEST_TMPDIR/lib.$RANDOM.jsonl"
	PREFAULT_STATS="$stats" LD_PRELOAD="$LIB" "$1" "$BATS_TEST_TMPDIR/lib-ran" >&2 ||
		fail "$1 failed when preloaded"
	stats_eval "$stats" "[r for r in R if r['ev'] == 'start'][0]['$2']"
}

@test "a dynamic C program: dynamic, not Go, preload applies, exit 0, and it never runs" {
	check "$P/dyn" "$MARKER"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	never_ran
	[ "$(val command)" = "$P/dyn" ]
	[[ $(val linking) == "dynamic (PT_INTERP /lib"*": preload applies" ]]
	[ "$(val setuid)" = no ]
	[[ $(val libraries) == *" libc.so.6 "* ]]
	[ "$(val go)" = "no (not-go)" ]
	[ "$(val discovery)" = "off (auto: no Go code found)" ]
	[[ $(val verdict) == "prefault can take effect: LD_PRELOAD applies" ]]
	# The library, preloaded into the same program, decides the same.
	[ "$(library_says "$P/dyn" discover_why)" = not-go ]
	[ "$(library_says "$P/dyn" discover)" = False ]

	# /bin/true, found through PATH like the wrapper finds commands.
	check true
	[ "$status" -eq 0 ]
	[ "$(val command)" = "$(type -P true)" ]
	[[ $(val linking) == dynamic* ]]
}

@test "prefault check COMMAND is the same as --check" {
	run --separate-stderr "$PREFAULT" check "$P/dyn" "$MARKER"
	[ "$status" -eq 0 ]
	never_ran
	[[ $(val verdict) == "prefault can take effect"* ]]
	run --separate-stderr "$PREFAULT" check --json -b 1G "$P/static"
	[ "$status" -eq 2 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/c.json"
	JSON="$BATS_TEST_TMPDIR/c.json"
	[ "$(j 'd["linking"], d["budget"]')" = "('static', 1073741824)" ]
}

@test "a static binary: static, the companion, exit 2; static-pie too" {
	check "$P/static" "$MARKER"
	[ "$status" -eq 2 ]
	[ -z "$stderr" ]
	never_ran
	[ "$(val linking)" = "static (no PT_INTERP, no PT_DYNAMIC): LD_PRELOAD has no effect; prefault would use the companion (prefault --companion)" ]
	[ "$(val libraries)" = "not listed (statically linked: none)" ]
	[[ $(val discovery) == "not used: the companion"* ]]
	[[ $(val verdict) == "only through the companion: static programs ignore LD_PRELOAD"* ]]

	check "$P/spie" "$MARKER"
	[ "$status" -eq 2 ]
	never_ran
	[[ $(val linking) == "static-pie (no PT_INTERP, a PT_DYNAMIC)"* ]]
	[[ $(val file) == *"(PIE)" ]]
}

@test "a setuid or setgid copy: the companion, exit 2, and nothing is run, not even ldd" {
	local bin="$BATS_TEST_TMPDIR/bin"
	mkdir "$bin"
	# An ldd in PATH that leaves a trace, then does ldd's work.
	printf '#!/bin/sh\ntouch "%s"\nexec /usr/bin/ldd "$@"\n' "$BATS_TEST_TMPDIR/ldd-ran" >"$bin/ldd"
	chmod +x "$bin/ldd"
	cp "$P/dyn" "$BATS_TEST_TMPDIR/suid"
	chmod u+s "$BATS_TEST_TMPDIR/suid"
	PATH="$bin:$PATH" check "$BATS_TEST_TMPDIR/suid" "$MARKER"
	[ "$status" -eq 2 ]
	[ -z "$stderr" ]
	never_ran
	[ ! -e "$BATS_TEST_TMPDIR/ldd-ran" ]
	[[ $(val linking) == dynamic* ]]
	[[ $(val setuid) == "setuid: the loader ignores preloads with a path; prefault would use the companion" ]]
	[[ $(val libraries) == "not listed (setuid/setgid: nothing is run, not even ldd)" ]]
	[[ $(val verdict) == "only through the companion: the loader ignores preloads with a path in setuid programs"* ]]

	cp "$P/dyn" "$BATS_TEST_TMPDIR/sgid"
	chmod g+s "$BATS_TEST_TMPDIR/sgid"
	PATH="$bin:$PATH" check "$BATS_TEST_TMPDIR/sgid" "$MARKER"
	[ "$status" -eq 2 ]
	[[ $(val setuid) == setgid:* ]]
	[ ! -e "$BATS_TEST_TMPDIR/ldd-ran" ]

	# The same ldd is used for a plain copy: the trace would have shown.
	PATH="$bin:$PATH" check "$P/dyn" "$MARKER"
	[ "$status" -eq 0 ]
	[ -e "$BATS_TEST_TMPDIR/ldd-ran" ]
	never_ran
}

@test "a Go program linked internally (cgo through net): Go by its note, discovery on, exit 0" {
	# What makes this case: dynamic, yet no x_cgo_init among its symbols.
	run readelf --dyn-syms -W "$P/gointernal"
	[[ $output != *x_cgo_init* ]]
	check "$P/gointernal" "$MARKER"
	[ "$status" -eq 0 ]
	never_ran
	[[ $(val linking) == dynamic* ]]
	[ "$(val go)" = "yes, Go's build-id note in the program (go-note)" ]
	[ "$(val discovery)" = "on (auto: Go code found)" ]
	[ "$(val verdict)" = "prefault can take effect: LD_PRELOAD applies, with discovery for Go's raw mmap calls" ]
	[ "$(library_says "$P/gointernal" discover_why)" = go-note ]

	# PREFAULT_DISCOVER (and --discover) decide over auto.
	check --discover off "$P/gointernal"
	[ "$(val discovery)" = "off (PREFAULT_DISCOVER=0)" ]
	PREFAULT_DISCOVER=1 check "$P/dyn"
	[ "$(val discovery)" = "on (PREFAULT_DISCOVER=1)" ]
}

@test "a static Go program (CGO_ENABLED=0): Go, static, the companion" {
	check "$P/gostatic" "$MARKER"
	[ "$status" -eq 2 ]
	never_ran
	[ "$(val go)" = "yes, Go's build-id note in the program (go-note)" ]
	[[ $(val linking) == "static (no PT_INTERP"* ]]
	[[ $(val discovery) == "not used: the companion"* ]]
	[[ $(val verdict) == "only through the companion"* ]]
}

@test "Go code in a library it needs (c-shared), or the cgo symbols in .dynsym: found as the library finds it" {
	check "$P/usego" "$MARKER"
	[ "$status" -eq 0 ]
	never_ran
	[ "$(val go)" = "yes, a Go library it loads carries Go's build-id note: $P/libgoadd.so (go-library)" ]
	[[ $(val libraries) == *" libgoadd.so "* ]]
	[ "$(val discovery)" = "on (auto: Go code found)" ]
	[ "$(library_says "$P/usego" discover_why)" = go-library ]

	check "$P/cgosym" "$MARKER"
	[ "$status" -eq 0 ]
	never_ran
	[ "$(val go)" = "yes, the cgo symbol x_cgo_init is defined in the .dynsym of $P/cgosym (cgo-symbol)" ]
	[ "$(library_says "$P/cgosym" discover_why)" = cgo-symbol ]

	# Only a defined symbol counts, as only a defined one is what dlsym finds.
	run readelf --dyn-syms -W "$P/weakcgo"
	[[ $output == *" UND x_cgo_init"* ]]
	check "$P/weakcgo" "$MARKER"
	[ "$status" -eq 0 ]
	[ "$(val go)" = "no (not-go)" ]
	[ "$(library_says "$P/weakcgo" discover_why)" = not-go ]
}

@test "a script: its interpreter is checked, through env too; a static interpreter needs --companion" {
	printf '#!/bin/sh\ntouch "$1"\n' >"$BATS_TEST_TMPDIR/s.sh"
	chmod +x "$BATS_TEST_TMPDIR/s.sh"
	check "$BATS_TEST_TMPDIR/s.sh" "$MARKER"
	[ "$status" -eq 0 ]
	never_ran
	[ "$(val script)" = "$BATS_TEST_TMPDIR/s.sh: #!/bin/sh -> /bin/sh" ]
	[[ $(val file) == "/bin/sh: ELF "* ]]
	[[ $(val linking) == dynamic* ]]

	# #!/usr/bin/env NAME: NAME as env finds it in PATH, here a static program.
	local bin="$BATS_TEST_TMPDIR/bin"
	mkdir "$bin"
	cp "$P/static" "$bin/staticsh"
	printf '#!/usr/bin/env staticsh\n' >"$BATS_TEST_TMPDIR/s2"
	chmod +x "$BATS_TEST_TMPDIR/s2"
	PATH="$bin:$PATH" check "$BATS_TEST_TMPDIR/s2" "$MARKER"
	[ "$status" -eq 2 ]
	never_ran
	[ "$(val script)" = "$BATS_TEST_TMPDIR/s2: #!/usr/bin/env staticsh -> $bin/staticsh (found by env in PATH)" ]
	[[ $(val linking) == static* ]]
	[ "$(val verdict)" = "only through the companion: the interpreter $bin/staticsh is statically linked, and \`prefault --\` checks the script only; run prefault --companion -- $BATS_TEST_TMPDIR/s2" ]
}

@test "perf mmap records: what the library finds when it runs, refused under a seccomp filter with its errno" {
	local f="$BATS_TEST_TMPDIR/f" stats="$BATS_TEST_TMPDIR/s.jsonl" paranoid
	paranoid="$(cat /proc/sys/kernel/perf_event_paranoid)"
	"$PROGS/mkfile" "$f" 1M

	# The library's own discovery in a C program (forced on): perf or poll.
	PREFAULT_DISCOVER=1 PREFAULT_STATS="$stats" LD_PRELOAD="$LIB" "$PROGS/mapwatch" -s 0 "$f" >/dev/null
	local how
	how="$(stats_eval "$stats" "[r for r in R if r['ev'] == 'proc'][-1]['discovery']")"
	check_json true
	[ "$status" -eq 0 ]
	if [ "$how" = perf ]; then
		[ "$(j 'd["perf"]')" = "{'available': True, 'errno': None, 'paranoid': $paranoid}" ]
	else
		[ "$(j 'd["perf"]["available"]')" = False ]
	fi

	# Where perf_event_open fails with EACCES, both say so.
	rm -f "$stats"
	PREFAULT_DISCOVER=1 PREFAULT_STATS="$stats" "$PROGS/diag_noperf" env LD_PRELOAD="$LIB" "$PROGS/mapwatch" -s 0 "$f" >/dev/null
	[ "$(stats_eval "$stats" "[r for r in R if r['ev'] == 'proc'][-1]['discovery']")" = poll ]
	run --separate-stderr "$PROGS/diag_noperf" "$PREFAULT" --check true
	show
	[ "$status" -eq 0 ]
	[[ $(val "perf mmap records") == "no: perf_event_open: EACCES (kernel.perf_event_paranoid=$paranoid):"*"; discovery would poll /proc/self/maps" ]]
	run --separate-stderr "$PROGS/diag_noperf" "$PREFAULT" --check --json true
	printf '%s\n' "$output" >"$JSON"
	[ "$(j 'd["perf"]')" = "{'available': False, 'errno': 'EACCES', 'paranoid': $paranoid}" ]
}

@test "PROCMAP_QUERY and MADV_POPULATE_READ: what the kernel answers when asked directly" {
	local procmap populate
	# PROCMAP_QUERY (_IOWR('f', 17, 104 bytes)) on /proc/self/maps, from Python.
	procmap="$(python3 - <<'EOF'
import errno, fcntl, struct
with open("/proc/self/maps", "rb") as f:
    addr = int(f.readline().split(b"-")[0], 16)
    q = bytearray(struct.pack("=QQQ", 104, 0, addr) + bytes(104 - 24))
    try:
        fcntl.ioctl(f.fileno(), 0xC0686611, q)
        print("yes")
    except OSError as e:
        print(errno.errorcode[e.errno])
EOF
)"
	populate="$(python3 -c '
import errno, mmap
m = mmap.mmap(-1, mmap.PAGESIZE)
try:
    m.madvise(22)  # MADV_POPULATE_READ
    print("yes")
except OSError as e:
    print(errno.errorcode[e.errno])')"
	check true
	[ "$status" -eq 0 ]
	if [ "$procmap" = yes ]; then
		[[ $(val PROCMAP_QUERY) == "yes "* ]]
	else
		[ "$(val PROCMAP_QUERY)" = "no: $procmap (Linux 6.11+ has it)" ]
	fi
	if [ "$populate" = yes ]; then
		[[ $(val MADV_POPULATE_READ) == "yes "* ]]
	else
		[[ $(val MADV_POPULATE_READ) == "no: "* ]]
	fi
	check_json true
	[ "$(j 'd["procmap_query"]["available"], d["populate_read"]')" = \
		"($([ "$procmap" = yes ] && echo True || echo False), $([ "$populate" = yes ] && echo True || echo False))" ]
}

@test "cgroup read limits: the ones the group sets, as the pacer reads them" {
	local dir disk
	dir="$(data_dir)"
	disk="$("$ROOT/tools/throttle" --which --dir "$dir" | cut -d' ' -f2)"
	run --separate-stderr "$ROOT/tools/throttle" --quiet --bps 50M --iops 500 --dir "$dir" -- "$PREFAULT" --check true
	show
	[ "$status" -eq 0 ]
	[ "$(val "cgroup read limits")" = "disk $disk rbps 52428800 riops 500 (0: none); prefault keeps its reads at 95% of them" ]
	JSON="$BATS_TEST_TMPDIR/check.json"
	"$ROOT/tools/throttle" --quiet --bps 100M --iops 700 --dir "$dir" -- "$PREFAULT" --check --json true >"$JSON"
	[ "$(j 'd["io_limits"]')" = "[{'disk': '$disk', 'rbps': 104857600, 'riops': 700}]" ]
	PREFAULT_PACE=0 run --separate-stderr "$ROOT/tools/throttle" --quiet --bps 50M --iops 500 --dir "$dir" -- "$PREFAULT" --check true
	[[ $(val "cgroup read limits") == *"; not paced (PREFAULT_PACE=0)" ]]
	# --no-pace says the same.
	run --separate-stderr "$ROOT/tools/throttle" --quiet --bps 50M --iops 500 --dir "$dir" -- "$PREFAULT" --no-pace --check true
	[[ $(val "cgroup read limits") == *"; not paced (PREFAULT_PACE=0)" ]]
}

@test "the budget: the library's own for the same settings, and within a memory cgroup's limit" {
	check_json -b 128M true
	[ "$(j 'd["budget"], d["budget_percent"]')" = "(134217728, None)" ]
	[ "$(PREFAULT_BUDGET=128M library_says "$P/dyn" budget)" = 134217728 ]
	check -b 2G true
	[[ $(val budget) == "2147483648 bytes (2.0 GiB), PREFAULT_BUDGET as a size; room now "* ]]
	PREFAULT_BUDGET=25% check_json true
	[ "$(j 'd["budget_percent"]')" = 25 ]
	[ "$(j 'd["budget"] <= d["mem_available"] // 4 * 1.1')" = True ]

	# In a memory cgroup of 256 MiB, 50% of its headroom: at most 128 MiB.
	local g="/sys/fs/cgroup/memory/prefault-check-$$"
	mkdir "$g" || fail "no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory"
	echo $((256 * MiB)) >"$g/memory.limit_in_bytes"
	JSON="$BATS_TEST_TMPDIR/cg.json"
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" --check --json true' sh "$g" "$PREFAULT" >"$JSON"
	rmdir "$g"
	[ "$(j 'd["cgroup_headroom"] <= 256 << 20')" = True ]
	[ "$(j '64 << 20 <= d["budget"] <= 128 << 20')" = True ]
	[ "$(j 'd["reserve"]')" = $((32 * MiB)) ] # pressure.c's reserve when the cgroup binds

	# A malformed variable is said on stderr, as the library would log it, and
	# the default is used.
	PREFAULT_BUDGET=xyz check_json true
	[ "$status" -eq 0 ]
	[[ $stderr == "prefault: PREFAULT_BUDGET='xyz' is not valid"*"using the default '50%'" ]]
	[ "$(j 'd["budget_percent"]')" = 50 ]
}

@test "errors: a missing command, one that is no program, a missing library or companion, PREFAULT=0: exit 1, one line" {
	check prefault-no-such-command-xyz
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "prefault: prefault-no-such-command-xyz: command not found" ]

	printf 'int x;\n' >"$BATS_TEST_TMPDIR/notexec"
	check "$BATS_TEST_TMPDIR/notexec"
	[ "$status" -eq 1 ]
	[ "$stderr" = "prefault: $BATS_TEST_TMPDIR/notexec: not an executable file" ]

	printf 'just text\n' >"$BATS_TEST_TMPDIR/text"
	chmod +x "$BATS_TEST_TMPDIR/text"
	check "$BATS_TEST_TMPDIR/text"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "prefault: $BATS_TEST_TMPDIR/text: neither an ELF program nor a #! script"* ]]

	PREFAULT_LIBRARY="$BATS_TEST_TMPDIR/nope.so" check "$P/dyn" "$MARKER"
	[ "$status" -eq 1 ]
	never_ran
	[ "$stderr" = "prefault: library not found at $BATS_TEST_TMPDIR/nope.so; run make" ]
	[ "$(val verdict)" = "no effect: the library is missing" ]

	PREFAULT_COMPANION="$BATS_TEST_TMPDIR/nope" check "$P/static" "$MARKER"
	[ "$status" -eq 1 ]
	never_ran
	[ "$stderr" = "prefault: prefault-companion not found at $BATS_TEST_TMPDIR/nope; run make ($P/static would run without prefault)" ]

	check --off "$P/dyn"
	[ "$status" -eq 1 ]
	[ "$stderr" = "prefault: PREFAULT=0: prefault would do nothing for $P/dyn" ]
	[ "$(val discovery)" = "inert (PREFAULT=0)" ]
}

@test "usage: --check needs a command, takes the wrapper's options, refuses bad ones with 1; --json needs --check" {
	check
	[ "$status" -eq 1 ]
	[ "$stderr" = "prefault: --check needs a command (see prefault --help)" ]
	check --budget xyz true
	[ "$status" -eq 1 ]
	[[ $stderr == "prefault: invalid --budget 'xyz'"* ]]
	check --pid 1
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	run --separate-stderr "$PREFAULT" --json true
	[ "$status" -eq 2 ]
	[ "$stderr" = "prefault: --json goes with --check (see prefault --help)" ]
	# --companion: a dynamic command the companion would run, exit 2.
	check --companion "$P/dyn" "$MARKER"
	[ "$status" -eq 2 ]
	never_ran
	[ "$(val verdict)" = "only through the companion: --companion asks for it" ]
	# --help says it.
	run --separate-stderr "$PREFAULT" --help
	[[ $output == *"--check"* && $output == *"--json"* && $output == *"prefault check"* ]]
}

@test "--json is one object that says what the lines say" {
	local cmd
	cp "$P/dyn" "$BATS_TEST_TMPDIR/suid"
	chmod u+s "$BATS_TEST_TMPDIR/suid"
	for cmd in "$P/dyn" "$P/static" "$P/gointernal" "$P/usego" "$P/cgosym" "$BATS_TEST_TMPDIR/suid" /usr/bin/sqlite3; do
		check -b 64M "$cmd"
		local text="$BATS_TEST_TMPDIR/check.txt" st=$status
		printf '%s\n' "$output" >"$text"
		check_json -b 64M "$cmd"
		[ "$status" -eq "$st" ]
		python3 - "$text" "$JSON" "$st" <<'EOF'
import json, sys
lines = {}
for l in open(sys.argv[1]):
    k, _, v = l.rstrip("\n").partition(": ")
    lines.setdefault(k, v)
d = json.load(open(sys.argv[2]))
def same(what, a, b):
    if a != b:
        sys.exit("%s: text says %r, json %r" % (what, a, b))
same("command", lines["command"], d["path"])
same("file", lines["file"].split(": ")[0], d["file"])
same("linking", lines["linking"].split(" ")[0], d["linking"])
same("go", lines["go"].rsplit("(", 1)[1].rstrip(")").split(";")[0], d["go"])
same("discovery", lines["discovery"], d["discovery_why"])
same("discovery on", lines["discovery"].startswith("on"), d["discovery"])
same("setuid", lines["setuid"] != "no", d["setuid"] or d["setgid"])
same("perf", lines["perf mmap records"].startswith("yes"), d["perf"]["available"])
same("procmap", lines["PROCMAP_QUERY"].startswith("yes"), d["procmap_query"]["available"])
same("populate", lines["MADV_POPULATE_READ"].startswith("yes"), d["populate_read"])
same("budget", int(lines["budget"].split(" ")[0]), d["budget"])
same("limits", lines["cgroup read limits"].startswith("none"), d["io_limits"] == [])
same("verdict", lines["verdict"], d["verdict"])
same("status", int(sys.argv[3]), d["status"])
same("way", {0: "preload", 2: "companion", 1: "none"}[int(sys.argv[3])], d["way"])
if d["libraries"] is not None:
    same("libraries", int(lines["libraries"].split(" ")[0]), len(d["libraries"]))
EOF
	done
}

@test "make install puts prefault-check in LIBEXECDIR, and the installed prefault --check finds it" {
	local prefix="$BATS_TEST_TMPDIR/usr"
	unset PREFAULT_LIBRARY PREFAULT_COMPANION
	run make -s -C "$ROOT" BUILD="$BUILD" install PREFIX="$prefix"
	[ "$status" -eq 0 ]
	[ -x "$prefix/libexec/prefault/prefault-check" ]
	run --separate-stderr "$prefix/bin/prefault" --check "$P/dyn"
	show
	[ "$status" -eq 0 ]
	[ "$(val library)" = "$prefix/lib/libprefault.so.0" ]
	[ "$(val companion)" = "$prefix/libexec/prefault/prefault-companion" ]
	run make -s -C "$ROOT" BUILD="$BUILD" uninstall PREFIX="$prefix"
	[ "$status" -eq 0 ]
	[ ! -e "$prefix/libexec/prefault/prefault-check" ]
}

@test "--json: a command whose name is not UTF-8 still gives valid UTF-8 JSON (U+FFFD, as the records)" {
	local odd="$BATS_TEST_TMPDIR/dyn-$(printf '\xff\xfe')-\"q\""
	cp "$P/dyn" "$odd"
	check_json "$odd" "$MARKER"
	[ "$status" -eq 0 ]
	never_ran
	python3 -c 'import json, sys; d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8")); assert "\ufffd\ufffd" in d["command"] and d["command"].endswith("\"q\""), d["command"]' "$JSON"
}
