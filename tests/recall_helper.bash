# recall_helper.bash - what tests/recall.bats (the library) and
# tests/companion-recall.bats (the companion) check alike of working-set
# memory's runs on recall.dat, a 64 MiB file whose extents are 24:1, 36:2
# and 52:2 MiB and whose far part 44:2 is not remembered.  Loaded after
# test_helper; $STATS is the run's statistics file.

# done_field NAME: NAME of the file's done record in $STATS (empty when absent).
done_field() {
	python3 - "$STATS" "$1" <<'EOF2'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("ev") == "done" and r.get("path", "").endswith("/recall.dat"):
        print(r.get(sys.argv[2], ""))
        break
EOF2
}

# replayed_first: in the program's output (field), every remembered extent
# was in the page cache before it touched anything and the far part not.
# All of each, but for a few pages now and then (3 or 4 of 512 were seen
# missing in about one run of eight, cause not known yet).
replayed_first() {
	local i r
	for i in 0 1 2; do
		r=$(field "ext$i")
		(($(num "$r") * 100 >= $(den "$r") * 98)) || fail "extent $i: $r resident"
	done
	r=$(field far)
	[ "$(num "$r")" -eq 0 ] || fail "the far part: $r resident"
}

# replay_counted: the done record of a replaying run with an 8M budget says
# what came in: the 5 MiB replayed and used, nothing missed, and the budget
# held (replay and the rest within it).
replay_counted() {
	local r
	r=$(done_field replayed)
	((r >= 4 * MiB)) || fail "replayed $r"
	r=$(done_field replay_used)
	((r >= 5 * MiB)) || fail "replay_used $r"
	r=$(done_field unremembered)
	((r < MiB)) || fail "unremembered $r"
	r=$(done_field bytes_in)
	((r <= 8 * MiB)) || fail "bytes_in $r over the budget"
}
