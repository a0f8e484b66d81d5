#!/usr/bin/env bats
# tests/remember.bats - working-set memory's record store (shim/core/remember.c
# over shim/sys/cachedir.c), driven by build/tests/remember_store: records
# round-trip; runs are learned and old parts fade; a changed file gets no
# replay; each bad record is refused with its own reason and then replaced;
# the directory's rules (owner, mode, symlinks, FIFOs, setuid); the
# directory's bound; concurrent writers of one record.  Not yet the engine's
# replay (issue 17).  Needs root (chown, setuid).

load test_helper

# shellcheck disable=SC2154

setup_file() {
	make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/tests/remember_store" >&2
}

setup() {
	STORE="$PROGS/remember_store"
	[ -x "$STORE" ] || fail "$STORE is missing"
	[ "$(id -u)" -eq 0 ] || fail "tests/remember.bats needs root"
	DIR="$BATS_TEST_TMPDIR/cache"
	mkdir -m 0700 "$DIR"
	FILE="$BATS_TEST_TMPDIR/data"
	head -c $((4 * MiB)) /dev/zero >"$FILE"
}

# rec FILE: the path of FILE's record.
rec() {
	printf '%s/%s\n' "$DIR" "$("$STORE" name "${1:-$FILE}")"
}

# exts: the extent lines of the last `run "$STORE" load`.
exts() {
	grep '^ext ' <<<"$output" || true
}

# poke FILE OFFSET BYTES...: overwrites bytes (hex pairs) of a file.
poke() {
	local f="$1" off="$2"
	shift 2
	printf "$(printf '\\x%s' "$@")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

@test "a record round-trips: extents sorted, overlapping and adjacent ones merged, mode 0600" {
	run "$STORE" learn "$DIR" "$FILE" 1048576+4096@40 0+8192@9 4096+8192@3 12288+4096@7 3000000+100
	show
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "load: absent" ]
	[ "${lines[1]}" = "store: ok" ]
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "load: loaded" ]
	[ "${lines[1]}" = "runs 1 extents 3" ]
	[ "$(exts)" = "ext 0 16384 3 256
ext 1048576 4096 40 256
ext 3000000 100 4294967295 256" ]
	# Neediest first: the earliest first touch, an unknown time last.
	[ "$(grep '^needy ' <<<"$output" | tr '\n' ' ')" = "needy 0 needy 1048576 needy 3000000 " ]
	[ "$(stat -c %a "$(rec)")" = 600 ]
	# The header carries the file's identity; no temporary file is left.
	[ "$(head -c 4 "$(rec)")" = PFWS ]
	grep -q "$FILE" "$(rec)"
	[ -z "$(find "$DIR" -name '.*tmp')" ]
	# 64 header + path padded to 8 + 3 extents of 24 + 4 checksum.
	[ "$(stat -c %s "$(rec)")" -eq $((64 + (${#FILE} + 7) / 8 * 8 + 3 * 24 + 4)) ]
}

@test "every descriptor is O_CLOEXEC; a record is read O_NOFOLLOW|O_NONBLOCK, written O_EXCL 0600 and renamed into place" {
	"$STORE" learn "$DIR" "$FILE" 0+4096
	# (LeakSanitizer cannot run under ptrace; a sanitizer opens files of its own.)
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=openat,open,rename,renameat,renameat2 \
		-o "$BATS_TEST_TMPDIR/trace" "$STORE" learn "$DIR" "$FILE" 0+4096
	trace="$(grep -e "\"$DIR\"" -e 'at([0-9]' "$BATS_TEST_TMPDIR/trace")"
	echo "$trace"
	n="$(grep -c 'open' <<<"$trace")"
	[ "$n" -eq 5 ]
	[ "$(grep 'open' <<<"$trace" | grep -c 'O_CLOEXEC')" -eq "$n" ]
	grep -q 'openat([0-9]*, "pf-[0-9a-f]*\.rec", O_RDONLY|.*O_NONBLOCK|O_NOFOLLOW' <<<"$trace"
	grep -q 'openat([0-9]*, "\.pf-[0-9a-f]*\.rec\.[0-9.a-f]*\.tmp", O_WRONLY|O_CREAT|O_EXCL|.*O_NOFOLLOW|O_CLOEXEC, 0600)' <<<"$trace"
	grep -q 'renameat2\?([0-9]*, "\.pf-[0-9a-f]*\.rec\.[0-9.a-f]*\.tmp", [0-9]*, "pf-[0-9a-f]*\.rec"' <<<"$trace"
}

@test "runs are learned: parts seen again gain weight and keep the earliest touch, a moved working set replaces the old one" {
	A=0+1048576 B=2097152+1048576
	"$STORE" learn "$DIR" "$FILE" "$A@50"
	"$STORE" learn "$DIR" "$FILE" "$A@20"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$(exts)" = "ext 0 1048576 20 512" ]
	# The working set moves to B: A fades by half each run it is not seen...
	"$STORE" learn "$DIR" "$FILE" "$B@5"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$(exts)" = "ext 0 1048576 20 256
ext 2097152 1048576 5 256" ]
	"$STORE" learn "$DIR" "$FILE" "$B@5"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$(exts)" = "ext 0 1048576 20 128
ext 2097152 1048576 5 512" ]
	# ...and a fading part comes after a strong one, though touched earlier.
	"$STORE" learn "$DIR" "$FILE" "$B@30" 4000000+4096@1
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$(grep '^needy ' <<<"$output" | tr '\n' ' ')" = "needy 4000000 needy 2097152 needy 0 " ]
	[ "$(exts | head -1)" = "ext 0 1048576 20 64" ]
	# ...until it is dropped; B is capped at the highest weight.
	"$STORE" learn "$DIR" "$FILE" "$B@30"
	"$STORE" learn "$DIR" "$FILE" "$B@30"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "${lines[1]}" = "runs 7 extents 2" ]
	[ "$(exts)" = "ext 2097152 1048576 5 1024
ext 4000000 4096 1 64" ]
}

@test "a part of an extent seen again keeps its weight apart from the rest, which fades; a replay reads across both" {
	"$STORE" learn "$DIR" "$FILE" 0+16384@4
	"$STORE" learn "$DIR" "$FILE" 4096+4096@8 16384+4096@2
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$(exts)" = "ext 0 4096 4 128
ext 4096 4096 4 512
ext 8192 8192 4 128
ext 16384 4096 2 256" ]
	# A replay reads them in one go.
	[ "$(grep '^read ' <<<"$output")" = "read 0 20480" ]
	"$STORE" learn "$DIR" "$FILE" 0+4096@4 1048576+4096@1 1081344+4096@2
	run "$STORE" load "$DIR" "$FILE"
	[ "$(grep '^read ' <<<"$output" | tr '\n' ' ')" = "read 0 20480 read 1048576 4096 read 1081344 4096 " ]
	run "$STORE" -g 32768 load "$DIR" "$FILE"
	[ "$(grep '^read ' <<<"$output" | tr '\n' ' ')" = "read 0 20480 read 1048576 36864 " ]
}

@test "a record holds at most 4096 extents: the nearest neighbours are joined" {
	run "$STORE" spread "$DIR" "$FILE" 4096
	show
	[ "${lines[1]}" = "store: ok" ]
	run "$STORE" load "$DIR" "$FILE"
	[ "${lines[1]}" = "runs 1 extents 4096" ]
	# Another 4096 between them: 8192 pieces, joined back to 4096.
	run "$STORE" spread "$DIR" "$FILE" 4096 2048
	[ "${lines[1]}" = "store: ok" ]
	run "$STORE" load "$DIR" "$FILE"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "runs 2 extents 4096" ]
	[ "$(exts | head -1)" = "ext 0 6144 0 512" ]
}

@test "a changed file (size, mtime, inode) gets no replay and a fresh record" {
	"$STORE" learn "$DIR" "$FILE" 0+4096@1
	"$STORE" learn "$DIR" "$FILE" 0+4096@1
	run "$STORE" load "$DIR" "$FILE"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "runs 2 extents 1" ]

	printf x >>"$FILE"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "load: changed" ]
	[ "${lines[1]}" = "runs 0 extents 0" ]
	run "$STORE" learn "$DIR" "$FILE" 8192+4096@1
	[ "${lines[0]}" = "load: changed" ]
	run "$STORE" load "$DIR" "$FILE"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "runs 1 extents 1" ]
	[ "$(exts)" = "ext 8192 4096 1 256" ]

	touch -d '2020-01-01 00:00:00.5' "$FILE"
	run "$STORE" load "$DIR" "$FILE"
	[ "$status" -eq 2 ]
	"$STORE" learn "$DIR" "$FILE" 0+4096@1

	# The same path, size and mtime, another inode: cp -p then rename.
	cp -p "$FILE" "$FILE.new"
	mv "$FILE.new" "$FILE"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 2 ]
	[ "${lines[0]}" = "load: changed" ]
}

# bad_record CASE REASON: a record mutilated by CASE is refused with REASON,
# then replaced by a store.
bad_record() {
	"$STORE" learn "$DIR" "$FILE" 0+4096@1 65536+4096@2
	local r
	r="$(rec)"
	case "$1" in
	truncated) truncate -s -10 "$r" ;;
	header) truncate -s 20 "$r" ;;
	corrupt) poke "$r" $((64 + (${#FILE} + 7) / 8 * 8 + 3)) ff ;;
	magic) poke "$r" 0 58 58 58 58 ;;
	version) poke "$r" 4 02 00 ;;
	huge) truncate -s 300000 "$r" ;;
	extents) poke "$r" 44 88 13 00 00 ;;
	esac
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "load: refused: $2" ]
	[ "${lines[1]}" = "runs 0 extents 0" ]
	run "$STORE" learn "$DIR" "$FILE" 8192+4096@3
	show
	[ "${lines[0]}" = "load: refused: $2" ]
	[ "${lines[1]}" = "store: ok" ]
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "runs 1 extents 1" ]
}

@test "a truncated record is refused, then replaced" {
	bad_record truncated "truncated record"
}

@test "a record cut inside its header is refused, then replaced" {
	bad_record header "truncated record"
}

@test "a record with a corrupt byte is refused (checksum), then replaced" {
	bad_record corrupt "record with a bad checksum"
}

@test "a foreign file (another magic) is refused, then replaced" {
	bad_record magic "not a prefault record"
}

@test "a record of a future version is refused, then replaced" {
	bad_record version "record of a future version"
}

@test "an oversized record file is refused unread, then replaced" {
	bad_record huge "record too large"
}

@test "a record claiming more than 4096 extents is refused, then replaced" {
	bad_record extents "oversized record"
}

@test "a group-writable directory is refused, for reading and writing" {
	"$STORE" learn "$DIR" "$FILE" 0+4096
	chmod 0770 "$DIR"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "load: refused: cache directory is writable by group or others" ]
	run "$STORE" learn "$DIR" "$FILE" 0+4096
	[ "${lines[1]}" = "store: cache directory is writable by group or others" ]
	chmod 0702 "$DIR"
	run "$STORE" check "$DIR"
	[ "$status" -eq 1 ]
	[ "$output" = "cache directory is writable by group or others" ]
	chmod 0755 "$DIR"
	run "$STORE" check "$DIR"
	[ "$output" = ok ]
}

@test "a directory owned by another user is refused; so is a record owned by another" {
	"$STORE" learn "$DIR" "$FILE" 0+4096
	chown nobody "$DIR"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "load: refused: cache directory is not owned by the user" ]
	run "$STORE" learn "$DIR" "$FILE" 0+4096
	[ "${lines[1]}" = "store: cache directory is not owned by the user" ]
	chown root "$DIR"
	chown nobody "$(rec)"
	run "$STORE" load "$DIR" "$FILE"
	[ "${lines[0]}" = "load: refused: record is not owned by the user" ]
	run "$STORE" check "$BATS_TEST_TMPDIR/none"
	[ "$output" = "cache directory does not exist" ]
}

@test "a symlinked record is not followed, and a store replaces the link, not its target" {
	"$STORE" learn "$DIR" "$FILE" 0+4096@1
	mv "$(rec)" "$BATS_TEST_TMPDIR/target"
	cp "$BATS_TEST_TMPDIR/target" "$BATS_TEST_TMPDIR/target.orig"
	ln -s "$BATS_TEST_TMPDIR/target" "$(rec)"
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "load: refused: record is a symbolic link" ]
	run "$STORE" learn "$DIR" "$FILE" 8192+4096@1
	[ "${lines[1]}" = "store: ok" ]
	[ ! -L "$(rec)" ]
	[ -f "$(rec)" ]
	cmp "$BATS_TEST_TMPDIR/target" "$BATS_TEST_TMPDIR/target.orig"
}

@test "a FIFO in a record's place does not block a load, and a store replaces it" {
	mkfifo "$(rec)"
	run timeout 10 "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "load: refused: record is not a regular file" ]
	run timeout 10 "$STORE" learn "$DIR" "$FILE" 0+4096
	[ "${lines[1]}" = "store: ok" ]
	[ -f "$(rec)" ]
}

@test "a setuid program never reads or writes a record" {
	"$STORE" learn "$DIR" "$FILE" 0+4096
	run "$STORE" -s load "$DIR" "$FILE"
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "load: refused: secure-execution (setuid) program: no cache" ]
	before="$(md5sum <"$(rec)")"
	run "$STORE" -s learn "$DIR" "$FILE" 8192+4096
	[ "${lines[1]}" = "store: secure-execution (setuid) program: no cache" ]
	[ "$(md5sum <"$(rec)")" = "$before" ]
	# The flag's check: AT_SECURE of a real setuid program.
	bin="$(mktemp -d /tmp/remember.XXXXXX)"
	cp "$STORE" "$bin/store"
	chmod 0755 "$bin"
	chmod 4755 "$bin/store"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$bin/store" secure
	plain="$("$STORE" secure)"
	rm -rf "$bin"
	[ "$output" = 1 ]
	[ "$plain" = 0 ]
}

@test "the per-user default comes from XDG_CACHE_HOME or HOME, and is created 0700 with its parents" {
	run env XDG_CACHE_HOME=/x/cache HOME=/home/u "$STORE" default
	[ "$output" = /x/cache/prefault ]
	run env XDG_CACHE_HOME=relative HOME=/home/u "$STORE" default
	[ "$output" = /home/u/.cache/prefault ]
	run env -u XDG_CACHE_HOME -u HOME "$STORE" default
	[ "$status" -eq 1 ]
	[ "$output" = "neither XDG_CACHE_HOME nor HOME is an absolute path" ]
	d="$BATS_TEST_TMPDIR/home/.cache/prefault"
	run "$STORE" make "$d"
	[ "$output" = ok ]
	[ "$(stat -c %a "$d")" = 700 ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/home/.cache")" = 700 ]
	run "$STORE" learn "$d" "$FILE" 0+4096
	[ "${lines[1]}" = "store: ok" ]
}

@test "the directory is bounded: the oldest records go, other files and live temporaries stay" {
	for i in 1 2 3; do
		head -c 4096 /dev/zero >"$BATS_TEST_TMPDIR/f$i"
		"$STORE" -n 3 learn "$DIR" "$BATS_TEST_TMPDIR/f$i" 0+4096
	done
	touch -d '-3 hours' "$(rec "$BATS_TEST_TMPDIR/f1")"
	touch -d '-1 hours' "$(rec "$BATS_TEST_TMPDIR/f3")"
	touch -d '-2 hours' "$(rec "$BATS_TEST_TMPDIR/f2")"
	echo mine >"$DIR/notes.txt"
	touch -d '-5 hours' "$DIR/notes.txt"
	touch -d '-2 hours' "$DIR/.pf-dead.rec.1.1.0.tmp"
	touch "$DIR/.pf-live.rec.1.1.0.tmp"
	head -c 4096 /dev/zero >"$BATS_TEST_TMPDIR/f4"
	run "$STORE" -n 3 learn "$DIR" "$BATS_TEST_TMPDIR/f4" 0+4096
	show
	[ "${lines[1]}" = "store: ok" ]
	ls -la "$DIR"
	[ ! -e "$(rec "$BATS_TEST_TMPDIR/f1")" ]
	[ -e "$(rec "$BATS_TEST_TMPDIR/f2")" ]
	[ -e "$(rec "$BATS_TEST_TMPDIR/f3")" ]
	[ -e "$(rec "$BATS_TEST_TMPDIR/f4")" ]
	[ -e "$DIR/notes.txt" ]
	[ ! -e "$DIR/.pf-dead.rec.1.1.0.tmp" ]
	[ -e "$DIR/.pf-live.rec.1.1.0.tmp" ]
	# A bound in bytes: the two oldest go.
	size="$(stat -c %s "$(rec "$BATS_TEST_TMPDIR/f4")")"
	touch -d '-30 minutes' "$(rec "$BATS_TEST_TMPDIR/f4")"
	head -c 4096 /dev/zero >"$BATS_TEST_TMPDIR/f5"
	run "$STORE" -b $((2 * size)) learn "$DIR" "$BATS_TEST_TMPDIR/f5" 0+4096
	[ "${lines[1]}" = "store: ok" ]
	[ "$(find "$DIR" -name 'pf-*.rec' | wc -l)" -eq 2 ]
	[ ! -e "$(rec "$BATS_TEST_TMPDIR/f2")" ]
	[ ! -e "$(rec "$BATS_TEST_TMPDIR/f3")" ]
	[ -e "$(rec "$BATS_TEST_TMPDIR/f5")" ]
}

@test "two processes storing one file's record 200 times each leave it whole; a reader meanwhile never sees a bad one" {
	"$STORE" learn "$DIR" "$FILE" 0+4096
	"$STORE" hammer "$DIR" "$FILE" 200 &
	a=$!
	"$STORE" hammer "$DIR" "$FILE" 200 &
	b=$!
	"$STORE" watch "$DIR" "$FILE" 2000 &
	c=$!
	wait $a
	wait $b
	wait $c
	run "$STORE" load "$DIR" "$FILE"
	show
	[ "$status" -eq 0 ]
	runs="$(sed -n 's/^runs \([0-9]*\) .*/\1/p' <<<"$output")"
	[ "$runs" -ge 2 ]
	[ "$runs" -le 401 ]
	[ -z "$(find "$DIR" -name '.*tmp')" ]
}
