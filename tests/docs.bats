#!/usr/bin/env bats
# tests/docs.bats - the option table lives in three places a user reads:
# `prefault --help`, README.md's Configuration table and man/prefault.1 (its
# OPTIONS and ENVIRONMENT sections).  These tests read each of them and fail
# when they list different options, different variables, or an option that
# sets a different variable; the bash completion must offer every option of
# --help.  The man pages must render without a warning.
#
# Self-contained: does not use tests/test_helper.bash, and builds nothing (the
# wrapper's --help needs no library).

# shellcheck disable=SC2154
bats_require_minimum_version 1.5.0

setup() {
    ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd -P)"
    HELP="$BATS_TEST_TMPDIR/help.txt"
    "$ROOT/tools/prefault" --help >"$HELP"
}

# tables: prints a JSON object {"help": T, "man": T, "readme": T}, each T
# {"options": {OPTION: [VARIABLES it sets]}, "variables": [every variable
# named]}; README's table gives long options only.
tables() {
    python3 - "$HELP" "$ROOT/man/prefault.1" "$ROOT/README.md" <<'EOF'
import json, re, sys

OPT = re.compile(r"--?[a-z][a-z-]*")
# The options an entry starts with: "-b, --budget SIZE|N%" gives -b, --budget.
HEAD = re.compile(r"^((?:--?[a-z][a-z-]*, )*--?[a-z][a-z-]*)")

def head_options(s):
    m = HEAD.match(s.strip())
    return OPT.findall(m.group(1)) if m else []
VAR = re.compile(r"\bPREFAULT(?:_[A-Z][A-Z0-9_]*)?\b")

def from_help(text):
    section = text.split("\nOptions", 1)[1].split("\n\n", 1)[0].split("\n")[1:]
    entries = []
    for line in section:
        if re.match(r"^ {2}-[a-z-]|^ {6}--", line):
            entries.append([line])
        elif entries:
            entries[-1].append(line)
    options = {}
    for entry in entries:
        sets = sorted(set(v for b in re.findall(r"\[([^\]]*)\]", " ".join(entry))
                          for v in VAR.findall(b)))
        for o in head_options(entry[0]):
            options[o] = sets
    return {"options": options, "variables": sorted(set(VAR.findall(text)))}

def roff_plain(s):
    return re.sub(r"\\f[BIRP]", "", s).replace("\\-", "-")

def man_section(text, name):
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH )" % name, text, re.S | re.M)
    if not m:
        sys.exit("man/prefault.1 has no .SH %s" % name)
    return m.group(1)

def man_entries(body):
    """(tag, body) of each .TP entry."""
    out = []
    for chunk in body.split("\n.TP\n")[1:]:
        tag, _, rest = chunk.partition("\n")
        out.append((roff_plain(tag), roff_plain(rest)))
    return out

def from_man(text):
    options = {}
    for tag, body in man_entries(man_section(text, "OPTIONS")):
        for o in head_options(tag):
            options[o] = sorted(set(VAR.findall(body)))
    variables = sorted(set(v for tag, _ in man_entries(man_section(text, "ENVIRONMENT"))
                           for v in VAR.findall(tag)))
    return {"options": options, "variables": variables}

def from_readme(text):
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [l for l in section.split("\n") if l.startswith("| `")]
    options, variables = {}, []
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        var = cells[0].strip("`")
        variables.append(var)
        for o in re.findall(r"`(--[a-z-]+)`", cells[1]):
            options.setdefault(o, []).append(var)
    return {"options": {o: sorted(v) for o, v in options.items()}, "variables": sorted(variables)}

print(json.dumps({
    "help": from_help(open(sys.argv[1]).read()),
    "man": from_man(open(sys.argv[2]).read()),
    "readme": from_readme(open(sys.argv[3]).read()),
}))
EOF
}

fail() {
    printf '%s\n' "$@" >&2
    return 1
}

# compare OTHERS EXPR: prints where EXPR(T), a dict or a list, differs between
# --help and each of OTHERS (man, readme: comma-separated), and fails then.
compare() {
    tables >"$BATS_TEST_TMPDIR/tables.json"
    python3 - "$BATS_TEST_TMPDIR/tables.json" "$1" "$2" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
pick = eval("lambda t: " + sys.argv[3])
bad = 0
for other in sys.argv[2].split(","):
    a, b = pick(t["help"]), pick(t[other])
    if a != b:
        bad = 1
        for k in sorted(set(a) | set(b)):
            x, y = (a.get(k) if isinstance(a, dict) else k in a), (b.get(k) if isinstance(b, dict) else k in b)
            if x != y:
                print("%s: --help says %r, %s says %r" % (k, x, other, y))
sys.exit(bad)
EOF
}

@test "--help and man/prefault.1 list the same options, short and long" {
    run compare man 'sorted(t["options"])'
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
}

@test "--help, README's table and man/prefault.1 agree on the variables each option sets" {
    # README lists the options that set each variable, long ones only.
    run compare man,readme '{o: v for o, v in t["options"].items() if o.startswith("--") and v}'
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
    # The man page also gives the short options, and the options that set none.
    run compare man 't["options"]'
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
}

@test "--help, README's table and man/prefault.1 name the same PREFAULT variables" {
    run compare man,readme 't["variables"]'
    printf '%s\n' "$output"
    [ "$status" -eq 0 ]
}

@test "the tables are read: each source gives the options and variables it holds" {
    # A parser that read nothing would agree with itself: count what it found.
    tables >"$BATS_TEST_TMPDIR/tables.json"
    run python3 - "$BATS_TEST_TMPDIR/tables.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
print(len(t["help"]["options"]), len(t["man"]["options"]), len(t["readme"]["options"]),
      len(t["help"]["variables"]), t["help"]["options"].get("--budget"), t["help"]["options"].get("-v"))
EOF
    printf '%s\n' "$output"
    read -r nhelp nman nreadme nvars budget v <<<"$output"
    ((nhelp >= 25 && nman == nhelp && nreadme >= 15 && nvars >= 17))
    [ "$budget" = "['PREFAULT_BUDGET']" ]
    [ "$v" = "['PREFAULT_LOG', 'PREFAULT_VERBOSE']" ]
}

@test "the bash completion offers every option of --help" {
    [ -f /usr/share/bash-completion/bash_completion ] ||
        fail "bash-completion is missing: run tools/install-deps"
    tables >"$BATS_TEST_TMPDIR/tables.json"
    run bash -c '
        source /usr/share/bash-completion/bash_completion
        source "$1"
        COMP_WORDS=(prefault -); COMP_CWORD=1; COMP_LINE="prefault -"; COMP_POINT=10
        _prefault prefault - prefault
        printf "%s\n" "${COMPREPLY[@]}" | sort -u' _ "$ROOT/tools/prefault.bash-completion"
    [ "$status" -eq 0 ]
    offered="$output"
    want="$(python3 -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1]))["help"]["options"])))' "$BATS_TEST_TMPDIR/tables.json" | sort -u)"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$offered")
    # and the values of --discover
    run bash -c '
        source /usr/share/bash-completion/bash_completion
        source "$1"
        COMP_WORDS=(prefault --discover ""); COMP_CWORD=2; COMP_LINE="prefault --discover "; COMP_POINT=20
        _prefault prefault "" --discover
        echo "${COMPREPLY[*]}"' _ "$ROOT/tools/prefault.bash-completion"
    [ "$output" = "auto on off" ]
}

@test "every man page renders without a warning" {
    local page
    for page in "$ROOT"/man/*.[1-8]; do
        run --separate-stderr groff -ww -z -man "$page"
        [ "$status" -eq 0 ] && [ -z "$stderr" ] || { echo "$page: $stderr"; false; }
        run --separate-stderr env LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page"
        [ "$status" -eq 0 ] && [ -z "$stderr" ] || { echo "$page: $stderr"; false; }
        [[ $output == *NAME* && $output == *"SEE ALSO"* ]]
    done
}

@test "one version: prefault --version, the man pages, debian/changelog and the library's start record" {
    make -s -C "$ROOT" BUILD="${BUILD:-build}" all >&2
    local lib want page
    case ${BUILD:-build} in
        /*) lib="$BUILD/libprefault.so" ;;
        *) lib="$ROOT/${BUILD:-build}/libprefault.so" ;;
    esac
    want="$("$ROOT/tools/prefault" --version)"
    want="${want#prefault }"
    [[ $want =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "prefault --version: '$want'"
    for page in "$ROOT"/man/*.[1-8]; do
        grep -q "^\.TH .* \"prefault $want\" " "$page" || fail "$page: .TH does not say prefault $want"
    done
    [ "$(sed -n '1s/^prefault (\([^)]*\)).*/\1/p' "$ROOT/debian/changelog")" = "$want" ] ||
        fail "debian/changelog's first entry is not $want"
    run --separate-stderr env PREFAULT_STATS=stderr LD_PRELOAD="$lib" /bin/true
    [[ $stderr == *'"ev":"start"'*"\"version\":\"$want\""* ]] || fail "start record: $stderr"
}

@test "prefault(1)'s unit drop-ins pass systemd-analyze verify" {
    local units="$BATS_TEST_TMPDIR/units" n=0 block
    mkdir -p "$units/my-server.service.d"
    printf '[Unit]\nDescription=my-server\n\n[Service]\nExecStart=/bin/true\n' >"$units/my-server.service"
    # Each example that starts with [Service], roff undone, with this
    # checkout's wrapper for the installed one.
    while IFS= read -r -d '' block; do
        n=$((n + 1))
        printf '%s\n' "$block" | sed -e 's/\\-/-/g' -e "s|/usr/bin/prefault|$ROOT/tools/prefault|" \
            -e 's|/usr/bin/server|/bin/true|' >"$units/my-server.service.d/prefault.conf"
        cat "$units/my-server.service.d/prefault.conf"
        run systemd-analyze verify "$units/my-server.service"
        printf '%s\n' "$output"
        [ "$status" -eq 0 ]
        [ -z "$output" ] # no warning either
    done < <(awk '/^\.EX$/ { ex = 1; b = ""; next } /^\.EE$/ { if (b ~ /^\[Service\]/) printf "%s%c", b, 0; ex = 0; next } ex { b = b $0 "\n" }' "$ROOT/man/prefault.1")
    [ "$n" -eq 2 ]
}
