#!/usr/bin/env bats
# tests/supervise.bats - `prefault --stats PATH -- COMMAND` (tools/prefault, which
# execs build/prefault-supervise, tools/supervise/supervise.c): COMMAND runs with
# the wrapper's pid, and a watcher left beside it prints the summary on stderr
# once it has ended. Asserted by effects: pids compared with $!, the summary
# parsed against the statistics file, exit statuses as a parent's waitpid sees
# them, /proc/PID/fd of the program and of the watcher, a fake NOTIFY_SOCKET
# that reads the sender's credentials, and systemd-analyze verify of README's
# unit examples.
#
# The summary comes after the program's parent has seen it end: every test
# reads stderr through a pipe to its end (the watcher holds stderr until it has
# written the summary), never from a file right after the wrapper returns.

# shellcheck disable=SC2016,SC2154,SC2030,SC2031
load test_helper

WRAPPER="$ROOT/tools/prefault"

setup_file() {
	prefault_setup_file
	make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/prefault-supervise" >&2
	# Says READY=1 on $NOTIFY_SOCKET as a service does (sd_notify), then
	# prints its pid and the socket it was given.
	cat >"$BATS_FILE_TMPDIR/notify.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (!path || strlen(path) >= sizeof a.sun_path)
        return 2;
    strcpy(a.sun_path, path);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || sendto(s, "READY=1", 7, 0, (struct sockaddr *)&a, sizeof a) != 7)
        return 3;
    printf("pid=%d\nsocket=%s\n", (int)getpid(), path);
    return 0;
}
EOF
	gcc -O2 -Wall -Werror -o "$BATS_FILE_TMPDIR/notify" "$BATS_FILE_TMPDIR/notify.c"
}

setup() {
	prefault_setup
	export PREFAULT_LIBRARY="$LIB"
	[ -x "$BUILD_DIR/prefault-supervise" ]
}

# watched CMD...: runs CMD in the background, stdout to a file, stderr through a
# pipe read to its end (at most 60 s); sets pid (CMD's, $!), status, output,
# stderr. While CMD runs, calls $while_running PID when that is set.
watched() {
	local fifo="$BATS_TEST_TMPDIR/stderr.fifo" reader st=0
	rm -f "$fifo"
	mkfifo "$fifo"
	timeout 60 cat <"$fifo" >"$BATS_TEST_TMPDIR/stderr" &
	reader=$!
	"$@" >"$BATS_TEST_TMPDIR/stdout" 2>"$fifo" &
	pid=$!
	[ -z "${while_running-}" ] || "$while_running" "$pid"
	status=0
	wait "$pid" || status=$?
	wait "$reader" || st=$?
	output="$(<"$BATS_TEST_TMPDIR/stdout")"
	stderr="$(<"$BATS_TEST_TMPDIR/stderr")"
	[ "$st" -eq 0 ] || fail "stderr was still open 60 s after the program ended"
}

# in_own_group CMD...: execs CMD (same pid) as the leader of a new process group
# with SIGINT, SIGQUIT and SIGPIPE at their defaults, as an interactive shell
# starts a job (a non-interactive one starts background jobs with SIGINT and
# SIGQUIT ignored).
in_own_group() {
	exec python3 -c 'import os, signal, sys
os.setpgid(0, 0)
for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGPIPE):
    signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

# became PID NAME: waits until process PID runs NAME (at most 60 s).
became() {
	local i
	for ((i = 0; i < 6000; i++)); do
		[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.01
	done
	fail "process $1 did not become $2 within 60 s"
}

# summary_of PID: $stderr holds the summary of PID's statistics.
summary_of() {
	[[ $stderr == *"prefault report: $BATS_TEST_TMPDIR/s.$1.jsonl, pid $1,"* ]] ||
		fail "no summary for pid $1 in: $stderr"
}

# watcher_of PID: the pid of the watcher summing PID up, once it runs
# prefault-report (at most 60 s).
watcher_of() {
	local i p
	for ((i = 0; i < 6000; i++)); do
		p="$(pgrep -f -- "--at-exit $1 " | head -n 1)"
		[ -n "$p" ] && { echo "$p"; return 0; }
		sleep 0.01
	done
	fail "no watcher for pid $1 within 60 s"
}

# fds PID: PID's descriptors, one "N -> TARGET" a line, with pipe and socket
# numbers left out.
fds() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		printf '%s -> %s\n' "${fd##*/}" "$(readlink "$fd" | sed 's/:\[[0-9]*\]$//')"
	done | sort -n
}

@test "--stats: the program runs with the wrapper's pid; its statistics and summary name that pid" {
	watched "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- sh -c 'echo $$'
	show
	[ "$status" -eq 0 ]
	[ "$output" = "$pid" ]
	[ "$(stats_eval "$BATS_TEST_TMPDIR/s.$pid.jsonl" 'set(r["pid"] for r in R)')" = "{$pid}" ]
	summary_of "$pid"
	# No process of prefault's between the program and the shell that
	# started the wrapper.
	watched "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- sh -c 'echo $PPID'
	[ "$output" = "$$" ]
}

@test "the summary comes after the program ends, with the numbers of its last records" {
	local f stats line want
	local -a row
	f="$(big_file sup-16 16M)"
	watched "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- "$PROGS/diag_faults" "$f"
	show
	[ "$status" -eq 0 ]
	summary_of "$pid"
	stats="$BATS_TEST_TMPDIR/s.$pid.jsonl"
	# The last proc record is the destructor's, written as the program left.
	line="$(grep -E '^  program: ' <<<"$stderr")"
	want="$(stats_eval "$stats" '"%d thread(s): %d major and %d minor faults" % (R[-1]["program"]["threads"], R[-1]["program"]["majflt"], R[-1]["program"]["minflt"])')"
	[[ $line == "  program: $want, "* ]] || fail "summary: '$line', last record: '$want'"
	# The mapping's row: path, result, residency and the program's major
	# faults on it, as the last records have them.
	# Cells are two or more spaces apart.
	IFS=$'\t' read -r -a row < <(grep -F -- "$f " <<<"$stderr" | sed -E 's/^ +//; s/  +/\t/g')
	[ "${row[0]}" = "$f" ]
	[ "${row[5]}" = "$(stats_eval "$stats" '[r["result"] for r in R if r["ev"] == "done"][-1]')" ]
	[ "${row[6]}" = "$(stats_eval "$stats" '"%d%%" % round(100 * R[-1]["mappings"][0]["resident"] / R[-1]["mappings"][0]["pages"])')" ]
	[ "${row[7]}" = "$(stats_eval "$stats" 'R[-1]["mappings"][0]["majflt"]')" ]
	[[ $output != *"prefault report"* ]]
}

@test "exit status and death by a signal are the program's own, as a parent's waitpid sees them" {
	watched "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	summary_of "$pid"
	# Killed by SIGTERM: the parent sees the signal (Python's -15), not an
	# exit(143) made up by a parent of the program's.
	run --separate-stderr python3 -c 'import subprocess, sys; print(subprocess.run(sys.argv[1:]).returncode)' \
		"$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- sh -c 'kill -TERM $$'
	show
	[ "$output" = -15 ]
	# A command that cannot be executed (its interpreter is missing): 127,
	# one line, and no summary.
	printf '#!/nonexistent/interpreter\n' >"$BATS_TEST_TMPDIR/script"
	chmod +x "$BATS_TEST_TMPDIR/script"
	watched "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- "$BATS_TEST_TMPDIR/script"
	show
	[ "$status" -eq 127 ]
	[ "$stderr" = "prefault: $BATS_TEST_TMPDIR/script: No such file or directory" ]
}

# For while_running: sends $sig to the process group of PID once PID is sleep
# and its library has written the start record.
signal_group() {
	became "$1" sleep
	became_file "$BATS_TEST_TMPDIR/s.$1.jsonl" -s
	kill -"$sig" -- -"$1"
}

@test "a signal to the whole group (the terminal's ^C, systemd's stop) ends the program; the summary still comes" {
	local sig num while_running=signal_group
	for sig in INT TERM HUP; do
		watched in_own_group "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- sleep 600
		show
		num="$(kill -l "$sig")"
		[ "$status" -eq $((128 + num)) ]
		summary_of "$pid"
	done
}

@test "the program gets exactly the descriptors it would get without --stats" {
	local list='for fd in /proc/$$/fd/*; do printf "%s -> %s\n" "${fd##*/}" "$(readlink "$fd" | sed "s/:\[[0-9]*\]\$//")"; done'
	local plain stats
	plain="$("$WRAPPER" -- sh -c "$list" 2>"$BATS_TEST_TMPDIR/err")"
	stats="$("$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- sh -c "$list" 2>"$BATS_TEST_TMPDIR/err")"
	printf 'plain:\n%s\n--stats:\n%s\n' "$plain" "$stats"
	[ -n "$plain" ]
	[ "$stats" = "$plain" ]
}

@test "a reader of the program's stdout sees EOF when it ends; the watcher holds no pipe of the program's" {
	local fifo="$BATS_TEST_TMPDIR/err.fifo" rw ro watcher st pipe fd
	mkfifo "$fifo"
	# stderr: a pipe nobody reads yet, which the program fills up, so that
	# the watcher blocks on its summary until the test drains it.
	exec {rw}<>"$fifo"
	exec {ro}<"$fifo"
	exec {rw}>&-
	"$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- python3 -c 'import fcntl, os
print(os.getpid(), os.readlink("/proc/self/fd/1"), flush=True)
os.write(2, b"x" * fcntl.fcntl(2, fcntl.F_GETPIPE_SZ))' 2>"$fifo" | timeout 60 cat >"$BATS_TEST_TMPDIR/out"
	st="${PIPESTATUS[1]}"
	[ "$st" -eq 0 ] || fail "no EOF on the program's stdout within 60 s of its end (status $st)"
	read -r pid pipe <"$BATS_TEST_TMPDIR/out"
	[[ $pipe == pipe:* ]]
	# The watcher, waiting for the test to read its summary: stderr is
	# the program's, no descriptor is the program's stdout.
	watcher="$(watcher_of "$pid")"
	ls -l "/proc/$watcher/fd"
	[ "$(readlink "/proc/$watcher/fd/2")" = "$fifo" ]
	for fd in "/proc/$watcher/fd/"*; do
		[ "$(readlink "$fd")" != "$pipe" ] || fail "the watcher holds the program's stdout as $fd"
	done
	stderr="$(timeout 60 cat <&"$ro")"
	exec {ro}<&-
	summary_of "$pid"
}

@test "the watcher is no child of the program: a program that waits for all its children ends" {
	watched timeout 60 "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- python3 -c 'import os
try:
    while True:
        os.wait()
except ChildProcessError:
    print("no children left", os.getpid())'
	show
	[ "$status" -eq 0 ]
	[[ $output == "no children left "* ]]
	summary_of "${output##* }"
}

@test "a program that starts a child and exits is summed up when it exits, not its child" {
	watched "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- sh -c 'sleep 600 >/dev/null 2>&1 & echo $!'
	show
	[ "$status" -eq 0 ]
	summary_of "$pid"
	kill -0 "$output"
	kill "$output"
}

# notify_listener SOCKET OUT: in the background, a notify socket as systemd's
# (datagrams, the sender's credentials attached: SO_PASSCRED) that writes
# "pid=P MESSAGE" to OUT for the first message (at most 60 s); sets listener
# (its pid) once it is bound.
notify_listener() {
	rm -f "$1" "$1.bound"
	python3 -c 'import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
open(sys.argv[1] + ".bound", "w").close()
s.settimeout(60)
msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
pid = [struct.unpack("3i", d[:12])[0] for l, t, d in anc if t == socket.SCM_CREDENTIALS][0]
print("pid=%d %s" % (pid, msg.decode()))' "$1" >"$2" &
	listener=$!
	became_file "$1.bound"
}

@test "NOTIFY_SOCKET reaches the program unchanged, and READY=1 comes from the wrapper's pid" {
	local sock="$BATS_TEST_TMPDIR/notify.sock" listener
	notify_listener "$sock" "$BATS_TEST_TMPDIR/heard"
	NOTIFY_SOCKET="$sock" watched "$WRAPPER" --stats "$BATS_TEST_TMPDIR/s.%p.jsonl" -- "$BATS_FILE_TMPDIR/notify"
	show
	[ "$status" -eq 0 ]
	wait "$listener"
	cat "$BATS_TEST_TMPDIR/heard"
	[ "$output" = "pid=$pid
socket=$sock" ]
	[ "$(<"$BATS_TEST_TMPDIR/heard")" = "pid=$pid READY=1" ]
	summary_of "$pid"
}

# readme_units: README's unit drop-ins (the ```ini blocks of "Services and
# containers") with this checkout's paths, as $BATS_TEST_TMPDIR/dropin.N.
readme_units() {
	awk -v out="$BATS_TEST_TMPDIR/dropin." '
		/^## / { in_section = ($0 == "## Services and containers") }
		in_section && /^```ini$/ { n++; body = 1; next }
		body && /^```$/ { body = 0; next }
		body { print > (out n) }' "$ROOT/README.md"
	sed -i -e "s|/usr/local/bin/prefault|$WRAPPER|g" \
		-e "s|/usr/local/bin/my-server|$BATS_FILE_TMPDIR/notify|g" \
		-e "s|/usr/local/lib/libprefault.so.0|$LIB|g" \
		-e "s|/var/tmp/|$BATS_TEST_TMPDIR/|g" "$BATS_TEST_TMPDIR"/dropin.*
}

@test "README's unit drop-ins pass systemd-analyze verify and start the service as systemd would" {
	local n units="$BATS_TEST_TMPDIR/units" sock="$BATS_TEST_TMPDIR/notify.sock" listener line
	local -a cmd env
	readme_units
	[ -f "$BATS_TEST_TMPDIR/dropin.2" ] && [ ! -e "$BATS_TEST_TMPDIR/dropin.3" ]
	mkdir -p "$units/my-server.service.d"
	printf '[Unit]\nDescription=my-server\n\n[Service]\nExecStart=%s\n' "$BATS_FILE_TMPDIR/notify" \
		>"$units/my-server.service"
	for n in 1 2; do
		cp "$BATS_TEST_TMPDIR/dropin.$n" "$units/my-server.service.d/prefault.conf"
		cat "$units/my-server.service.d/prefault.conf"
		run systemd-analyze verify "$units/my-server.service"
		show
		[ "$status" -eq 0 ]
		[ -z "$output" ] # no warning either
	done

	# The library alone: its variables (%% is systemd's %) make the
	# program write statistics under its pid.
	grep -q '^Environment=LD_PRELOAD=' "$BATS_TEST_TMPDIR/dropin.1"
	read -r -a env <<<"$(sed -n 's/^Environment=//p' "$BATS_TEST_TMPDIR/dropin.1" | tr '\n' ' ' | sed 's/%%/%/g')"
	notify_listener "$sock" "$BATS_TEST_TMPDIR/heard"
	NOTIFY_SOCKET="$sock" watched env "${env[@]}" "$BATS_FILE_TMPDIR/notify"
	wait "$listener"
	[ "$(<"$BATS_TEST_TMPDIR/heard")" = "pid=$pid READY=1" ]
	[ -s "$BATS_TEST_TMPDIR/prefault-my-server.$pid.jsonl" ]

	# The wrapper: Type=notify, and the main pid (the one systemd starts)
	# is the one that says READY=1; the summary follows on stderr.
	grep -qx 'Type=notify' "$BATS_TEST_TMPDIR/dropin.2"
	line="$(grep '^ExecStart=.' "$BATS_TEST_TMPDIR/dropin.2")"
	read -r -a cmd <<<"$(sed 's/%%/%/g' <<<"${line#ExecStart=}")"
	[[ " ${cmd[*]} " == *" --stats "* ]]
	notify_listener "$sock" "$BATS_TEST_TMPDIR/heard"
	NOTIFY_SOCKET="$sock" watched "${cmd[@]}"
	show
	[ "$status" -eq 0 ]
	wait "$listener"
	[ "$(<"$BATS_TEST_TMPDIR/heard")" = "pid=$pid READY=1" ]
	[[ $stderr == *"prefault report: $BATS_TEST_TMPDIR/prefault-my-server.$pid.jsonl, pid $pid,"* ]]
}

# became_file PATH [TEST]: waits until PATH exists (at most 60 s), or passes
# test(1)'s TEST (-s: is not empty).
became_file() {
	local i
	for ((i = 0; i < 6000; i++)); do
		[ "${2:--e}" "$1" ] && return 0
		sleep 0.01
	done
	fail "$1 did not appear within 60 s"
}
