#!/usr/bin/env bats
# tests/install.bats - `make install` as a packager runs it: CPPFLAGS and
# LDFLAGS reach every compile and link, every file goes where its variable
# says (the library under its SONAME, only the wrapper in BINDIR, the helpers
# in LIBEXECDIR, man pages, completion), nothing is stripped, `make uninstall`
# takes it all away; and the installed wrapper, run on a real program, finds
# the installed library and helpers and the library is active in it (its
# statistics and its helper thread, not an exit status).
#
# Installs into $BATS_TEST_TMPDIR only: with DESTDIR and PREFIX=/usr, run
# from there with the staged /usr laid over the real one in a mount namespace
# of the test's own (root: unshare, overlayfs); and with a scratch PREFIX, no
# DESTDIR.

# shellcheck disable=SC2154
load test_helper

setup_file() {
	prefault_setup_file
}

setup() {
	prefault_setup
	unset PREFAULT_LIBRARY PREFAULT_COMPANION
	MULTIARCH="$(gcc -print-multiarch)"
	[ -n "$MULTIARCH" ] || fail "gcc -print-multiarch printed nothing"
}

# install_to DESTDIR VAR=VALUE...: make install with these variables.
install_to() {
	local dest=$1
	shift
	make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$dest" "$@" >&2
}

@test "CPPFLAGS reaches every C compile and LDFLAGS every link" {
	# A dry run of every C program the Makefiles build, from scratch, with
	# flags that mark each command.
	run make -n -B -C "$ROOT" BUILD="$BATS_TEST_TMPDIR/b" \
		CPPFLAGS=-DPF_CPPFLAGS_MARK LDFLAGS=-LPF_LDFLAGS_MARK \
		all test-progs bench-tools "$BATS_TEST_TMPDIR/b/tools/ahead-sample" \
		"$BATS_TEST_TMPDIR/b/tests/torture_ctorlib.so" "$BATS_TEST_TMPDIR/b/tests/torture_eiofs" \
		"$BATS_TEST_TMPDIR/b/tests/slowlock.so"
	[ "$status" -eq 0 ] || { show; false; }
	local line compiles=0 links=0 bad=0
	while read -r line; do
		case $line in
		cc\ * | gcc\ *) ;;
		*) continue ;;
		esac
		if [[ $line == *\.c\ * || $line == *\.c ]]; then
			((++compiles))
			[[ $line == *-DPF_CPPFLAGS_MARK* ]] || { echo "no CPPFLAGS: $line"; bad=1; }
		fi
		if [[ $line != *" -c "* ]]; then
			((++links))
			[[ $line == *-LPF_LDFLAGS_MARK* ]] || { echo "no LDFLAGS: $line"; bad=1; }
		fi
	done < <(sed -e :a -e '/\\$/N; s/\\\n//; ta' <<<"$output") # continued lines joined
	echo "compiles=$compiles links=$links"
	((bad == 0))
	# the library's 27 objects and the helpers' and tests' programs at least
	((compiles >= 50 && links >= 30))
}

@test "make install puts each file where its variable says, under DESTDIR, unstripped, and it runs from there; uninstall removes them" {
	local dest="$BATS_TEST_TMPDIR/root" lib
	install_to "$dest" PREFIX=/usr LIBDIR="/usr/lib/$MULTIARCH" LIBEXECDIR=/usr/lib/prefault \
		MANDIR=/usr/share/man BASHCOMPDIR=/usr/share/bash-completion/completions
	run bash -c 'cd "$1" && find . -not -type d | LC_ALL=C sort' _ "$dest"
	printf '%s\n' "$output"
	diff - <(printf '%s\n' "$output") <<EOF
./usr/bin/prefault
./usr/lib/prefault/prefault-check
./usr/lib/prefault/prefault-companion
./usr/lib/prefault/prefault-options
./usr/lib/prefault/prefault-report
./usr/lib/prefault/prefault-stat
./usr/lib/prefault/prefault-supervise
./usr/lib/$MULTIARCH/libprefault.so.0
./usr/share/bash-completion/completions/prefault
./usr/share/man/man1/prefault-report.1
./usr/share/man/man1/prefault-stat.1
./usr/share/man/man1/prefault.1
./usr/share/man/man7/libprefault.7
EOF
	lib="$dest/usr/lib/$MULTIARCH/libprefault.so.0"
	# Its SONAME is its file name, and it is the library make built, symbols
	# and all (strip is the packager's).
	readelf -d "$lib" | grep -q 'Library soname: \[libprefault.so.0\]'
	cmp "$LIB" "$lib"
	readelf -S "$lib" | grep -q ' \.symtab '
	readelf -S "$dest/usr/lib/prefault/prefault-companion" | grep -q ' \.symtab '
	# The wrapper knows where the rest went, without DESTDIR.
	grep -qx "readonly libdir=\"/usr/lib/$MULTIARCH\" libexecdir=\"/usr/lib/prefault\" soname=\"libprefault.so.0\"" "$dest/usr/bin/prefault"
	[ -x "$dest/usr/bin/prefault" ]
	[ "$(stat -c %a "$lib")" = 644 ]
	# Every installed page renders without a warning.
	local page
	for page in "$dest"/usr/share/man/man*/*; do
		run --separate-stderr groff -ww -z -man "$page"
		[ "$status" -eq 0 ] && [ -z "$stderr" ] || { echo "$page: $stderr"; false; }
	done

	# Staged, the wrapper looks where the files will be: in a mount namespace
	# of its own, $dest/usr over /usr puts them there, and the staged
	# prefault runs a program with the staged library active in it.
	local f
	f="$(big_file install-4m 4M)"
	run --separate-stderr unshare --mount --propagation private bash -c '
		mount -t overlay overlay -o "lowerdir=$1/usr:/usr" /usr || exit 99
		PREFAULT_STATS="$2/staged.jsonl" /usr/bin/prefault -- "$3" "$4" "$2/staged.report" 1 >/dev/null || exit
		/usr/bin/prefault --check "$3" || exit
		man -w prefault' _ "$dest" "$BATS_TEST_TMPDIR" "$PROGS/catmap" "$f"
	[ "$status" -eq 0 ] || { show; false; }
	[[ $output == *"/usr/lib/$MULTIARCH/libprefault.so.0"* ]] || { show; false; }
	[[ $output == *"/usr/lib/prefault/prefault-companion"* ]] || { show; false; }
	[[ $output == *"/usr/share/man/man1/prefault.1"* ]] || { show; false; }
	[ "$(sed -n 's/^prefault_threads=//p' "$BATS_TEST_TMPDIR/staged.report")" -ge 1 ]
	[ "$(stats_eval "$BATS_TEST_TMPDIR/staged.jsonl" "[r['active'] for r in R if r['ev'] == 'start']")" = "[True]" ]
	[ "$(stats_eval "$BATS_TEST_TMPDIR/staged.jsonl" "[r['len'] for r in R if r['ev'] == 'map' and r['path'] == '$f']")" = "[$((4 * MiB))]" ]
	[ ! -e /usr/lib/prefault ] # and nothing of it outside the namespace

	make -s -C "$ROOT" BUILD="$BUILD" uninstall DESTDIR="$dest" PREFIX=/usr LIBDIR="/usr/lib/$MULTIARCH" \
		LIBEXECDIR=/usr/lib/prefault MANDIR=/usr/share/man BASHCOMPDIR=/usr/share/bash-completion/completions
	run find "$dest" -not -type d
	[ -z "$output" ] || { echo "left behind: $output"; false; }
	[ ! -e "$dest/usr/lib/prefault" ] # its own directory goes too
}

@test "the installed wrapper runs a program with the installed library active, and finds its helpers" {
	local prefix="$BATS_TEST_TMPDIR/usr" f dir="$BATS_TEST_TMPDIR" lib stats
	f="$(big_file install-4m 4M)"
	lib="$prefix/lib/$MULTIARCH/libprefault.so.0"
	install_to "" PREFIX="$prefix" LIBDIR="$prefix/lib/$MULTIARCH" LIBEXECDIR="$prefix/lib/prefault"
	cd "$dir"

	# The library is active in the program: it tracked and brought in the
	# file, and the program saw prefault's helper thread.
	PREFAULT_STATS="$dir/env.jsonl" run --separate-stderr \
		"$prefix/bin/prefault" -- "$PROGS/catmap" "$f" "$dir/env.report" 1
	[ "$status" -eq 0 ] || { show; false; }
	[ -z "$stderr" ]
	[ "$(sed -n 's/^prefault_threads=//p' "$dir/env.report")" -ge 1 ]
	stats_check "$dir/env.jsonl"
	[ "$(stats_eval "$dir/env.jsonl" "[r['active'] for r in R if r['ev'] == 'start']")" = "[True]" ]
	[ "$(stats_eval "$dir/env.jsonl" "[r['len'] for r in R if r['ev'] == 'map' and r['path'] == '$f']")" = "[$((4 * MiB))]" ]
	[ "$(stats_eval "$dir/env.jsonl" "[r['result'] for r in R if r['ev'] == 'done' and r['path'] == '$f']")" = "['complete']" ]

	# --stats PATH: the wrapper's summary comes from a helper in LIBEXECDIR.
	f="$(big_file install-4m 4M)"
	run --separate-stderr "$prefix/bin/prefault" --stats "$dir/opt.%p.jsonl" -- "$PROGS/catmap" "$f" "$dir/opt.report" 1
	[ "$status" -eq 0 ] || { show; false; }
	stats="$(ls "$dir"/opt.*.jsonl)"
	[ "$(stats_eval "$stats" "[r['result'] for r in R if r['ev'] == 'done' and r['path'] == '$f']")" = "['complete']" ]
	[[ $stderr == *"$f"* ]] || { show; false; } # the summary names the file

	# --check finds prefault-check and answers for the installed files.
	run --separate-stderr "$prefix/bin/prefault" --check "$PROGS/catmap"
	[ "$status" -eq 0 ] || { show; false; }
	[[ $output == *"$lib"* ]]
	[[ $output == *"$prefix/lib/prefault/prefault-companion"* ]]

	# prefault stat runs prefault-stat from there: the file is all in now.
	run --separate-stderr "$prefix/bin/prefault" stat "$f"
	[ "$status" -eq 0 ] || { show; false; }
	[[ $output == "$f: "*"(100.0%)"* ]] || { show; false; }

	# The man pages are found under MANDIR.
	[ "$(MANPATH="$prefix/share/man" man -w prefault)" = "$prefix/share/man/man1/prefault.1" ]
	[ "$(MANPATH="$prefix/share/man" man -w 7 libprefault)" = "$prefix/share/man/man7/libprefault.7" ]

	make -s -C "$ROOT" BUILD="$BUILD" uninstall PREFIX="$prefix" LIBDIR="$prefix/lib/$MULTIARCH" LIBEXECDIR="$prefix/lib/prefault"
	[ ! -e "$lib" ] && [ ! -e "$prefix/bin/prefault" ]
}
