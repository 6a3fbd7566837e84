#!/bin/bash
# The layers of the tree and the arrows between them (doc/HACKING.md,
# issue 18): the command layer (helper/cmd/) uses the modules (the rest
# of helper/), which use common/; the plugin uses common/; nothing runs
# back up.  Checked on the source and on the built objects:
#  (a) no module (helper/*.[ch], common/, plugin/) includes a file of
#      helper/cmd/, however spelled ("cmd/cmd.h", "../helper/cmd/x.h",
#      or a bare "cmd.h" that only helper/cmd/ holds);
#  (b) common/ includes nothing from helper/ or plugin/, and plugin/
#      nothing from helper/;
#  (c) no undefined symbol of a module's object (helper/*.o, common/,
#      plugin/) is defined by a command-layer object (helper/cmd/*.o):
#      nm, whatever automake's per-program prefix;
#  (d) no circle among the modules' includes (a module is a .c/.h pair:
#      login.c including provider.h is an arrow login -> provider); the
#      circle is printed.
# Each check is first tried on a sample tree this script writes.
set -eu
. "$(dirname "$0")/lib.sh"
xo_require_cmd nm "${CC:-cc}"

# includes ROOT: "FROM TO" for every #include in ROOT's helper/, common/
# and plugin/ sources, TO resolved as the compiler would (the file's own
# directory, then helper/ for helper's sources, then common/), relative
# to ROOT.  A name found nowhere else but in helper/cmd/ resolves there
# (as it would with -Ihelper/cmd); other names (system headers,
# config.h) are left out.
includes() {
    (
        cd "$1"
        for f in helper/*.[ch] helper/cmd/*.[ch] common/*.[ch] plugin/*.[ch]; do
            [ -f "$f" ] || continue
            dir=${f%/*}
            dirs=("$dir")
            case $f in helper/*) dirs+=(helper) ;; esac
            dirs+=(common)
            sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1/p' "$f" |
                while read -r name; do
                    to=
                    for d in "${dirs[@]}" helper/cmd; do
                        if [ -f "$d/$name" ]; then
                            to=$(realpath -m --relative-to=. "$d/$name")
                            break
                        fi
                    done
                    [ -z "$to" ] || echo "$f $to"
                done
        done
    )
}

# upward EDGES: the includes that run against the arrows (a) and (b).
upward() {
    awk '
        function room(p) {
            if (p ~ /^helper\/cmd\//) return "cmd"
            if (p ~ /^helper\//) return "module"
            if (p ~ /^common\//) return "common"
            if (p ~ /^plugin\//) return "plugin"
            return "?"
        }
        {
            a = room($1); b = room($2)
            if ((a != "cmd" && b == "cmd") ||
                (a == "common" && (b == "module" || b == "plugin")) ||
                (a == "plugin" && b == "module"))
                print $1 " includes " $2 " (" a " -> " b ")"
        }' "$1"
}

# circles EDGES: the module graph (FROM and TO named by their module,
# helper/cmd/ left out), searched depth first; prints each circle found
# as "a -> b -> a".
circles() {
    awk '
        function mod(p) { sub(/\.[ch]$/, "", p); return p }
        function visit(n,    i, m, k, path) {
            state[n] = 1; stack[++depth] = n
            for (i = 1; i <= nout[n]; i++) {
                m = out[n, i]
                if (state[m] == 1) {
                    path = m
                    for (k = depth; k >= 1 && stack[k] != m; k--)
                        ;
                    for (k++; k <= depth; k++)
                        path = path " -> " stack[k]
                    print path " -> " m
                } else if (state[m] == 0)
                    visit(m)
            }
            depth--; state[n] = 2
        }
        $1 ~ /^helper\/cmd\// || $2 ~ /^helper\/cmd\// { next }
        {
            a = mod($1); b = mod($2)
            if (a == b || ((a, b) in seen)) next
            seen[a, b] = 1; out[a, ++nout[a]] = b
            node[a] = node[b] = 1
        }
        END {
            n = 0
            for (x in node) names[++n] = x
            # A stable order, so that the same circle is printed alike.
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && names[j - 1] > names[j]; j--) {
                    t = names[j]; names[j] = names[j - 1]; names[j - 1] = t
                }
            for (i = 1; i <= n; i++)
                if (state[names[i]] == 0) visit(names[i])
        }' "$1"
}

# calls_up BUILD: module objects' undefined symbols that a command-layer
# object defines, as "OBJECT needs SYMBOL (defined in CMD-OBJECT)".
calls_up() {
    (
        cd "$1"
        shopt -s nullglob
        cmd=(helper/cmd/*.o)
        mods=(helper/*.o common/*.o plugin/*.o plugin/.libs/*.o common/.libs/*.o)
        [ ${#cmd[@]} -gt 0 ] && [ ${#mods[@]} -gt 0 ] || {
            echo "no objects under $1 (helper/cmd/*.o, helper/*.o): build first"
            return
        }
        nm -A -g --defined-only "${cmd[@]}" | awk '{ sub(/:.*/, "", $1); print $NF, $1 }' |
            sort -u -k1,1 >"$XO_TMP/cmd.syms"
        nm -A -u "${mods[@]}" | awk '{ sub(/:.*/, "", $1); print $NF, $1 }' |
            sort -k1,1 >"$XO_TMP/mod.undef"
        join "$XO_TMP/mod.undef" "$XO_TMP/cmd.syms" |
            awk '{ print $2 " needs " $1 " (defined in " $3 ")" }'
    )
}

xo_step "the checks themselves, on a sample tree"
s=$XO_TMP/sample
mkdir -p "$s/helper/cmd" "$s/common" "$s/plugin"
printf '#include "login.h"\nint cmd_hello(void);\n' >"$s/helper/cmd/cmd.h"
printf '#include "cmd.h"\nint cmd_hello(void) { return 0; }\n' >"$s/helper/cmd/cmd_hello.c"
printf '/* fine: cmd -> module */\n' >"$s/helper/login.h"
# Three spellings of an arrow up, and a fine one.
printf '#include "cmd/cmd.h"\n#include "login.h"\n' >"$s/helper/health.c"
printf '#include "../helper/cmd/cmd.h"\n' >"$s/helper/refresh.c"
printf '#include <cmd.h>\n' >"$s/helper/quiet.h"
printf 'int cmd_hello(void);\nint hello(void) { return cmd_hello(); }\n' >"$s/helper/hello.c"
# common -> helper, plugin -> helper, common -> plugin.
printf '#include "../helper/login.h"\n#include "../plugin/payload.h"\n' >"$s/common/util.c"
printf '#include "../helper/login.h"\n#include "util.h"\n' >"$s/plugin/payload.h"
: >"$s/common/util.h"
# A circle of three, and a chain that is none.
printf '#include "q.h"\n' >"$s/helper/p.c"
printf '#include "r.h"\n' >"$s/helper/q.c"
printf '#include "p.h"\n' >"$s/helper/r.h"
: >"$s/helper/p.h"; : >"$s/helper/q.h"
printf '#include "y.h"\n' >"$s/helper/x.c"; : >"$s/helper/x.h"
printf '#include "z.h"\n' >"$s/helper/y.c"; : >"$s/helper/y.h"; : >"$s/helper/z.h"
includes "$s" >"$XO_TMP/sample.edges"
upward "$XO_TMP/sample.edges" | sort >"$XO_TMP/sample.up"
cat >"$XO_TMP/sample.up.want" <<'EOF'
common/util.c includes helper/login.h (common -> module)
common/util.c includes plugin/payload.h (common -> plugin)
helper/health.c includes helper/cmd/cmd.h (module -> cmd)
helper/quiet.h includes helper/cmd/cmd.h (module -> cmd)
helper/refresh.c includes helper/cmd/cmd.h (module -> cmd)
plugin/payload.h includes helper/login.h (plugin -> module)
EOF
cmp -s "$XO_TMP/sample.up" "$XO_TMP/sample.up.want" ||
    xo_fail "the include check misjudges the sample" "$XO_TMP/sample.up" "$XO_TMP/sample.up.want"
circles "$XO_TMP/sample.edges" >"$XO_TMP/sample.circles"
# (common/util.c and plugin/payload.h make one too.)
printf '%s\n' "common/util -> plugin/payload -> common/util" \
    "helper/p -> helper/q -> helper/r -> helper/p" >"$XO_TMP/sample.circles.want"
cmp -s "$XO_TMP/sample.circles" "$XO_TMP/sample.circles.want" ||
    xo_fail "the circle search misjudges the sample" "$XO_TMP/sample.circles" \
        "$XO_TMP/sample.circles.want"
"${CC:-cc}" -c -o "$s/helper/cmd/xo_s-cmd_hello.o" -x c - <<<'int cmd_hello(void) { return 0; }'
"${CC:-cc}" -c -o "$s/helper/xo_s-hello.o" -x c - <<<'int cmd_hello(void); int hello(void) { return cmd_hello(); }'
"${CC:-cc}" -c -o "$s/helper/xo_s-fine.o" -x c - <<<'int fine(void) { return 1; }'
calls_up "$s" >"$XO_TMP/sample.calls"
echo "helper/xo_s-hello.o needs cmd_hello (defined in helper/cmd/xo_s-cmd_hello.o)" \
    >"$XO_TMP/sample.calls.want"
cmp -s "$XO_TMP/sample.calls" "$XO_TMP/sample.calls.want" ||
    xo_fail "the object check misjudges the sample" "$XO_TMP/sample.calls" \
        "$XO_TMP/sample.calls.want"
echo "   ok: the sample's arrows up, its circle and its call up are found, and only those"

xo_step "(a, b) includes run one way: cmd -> modules -> common, plugin -> common"
includes "$XO_TOP_SRCDIR" >"$XO_TMP/edges"
[ -s "$XO_TMP/edges" ] || xo_fail "no includes found under $XO_TOP_SRCDIR"
upward "$XO_TMP/edges" >"$XO_TMP/up"
[ ! -s "$XO_TMP/up" ] ||
    xo_fail "includes that run back up (a module must not know the command layer; common/ and plugin/ not the helper): move what is shared down (doc/HACKING.md)" \
        "$XO_TMP/up"
echo "   ok: $(wc -l <"$XO_TMP/edges") includes, none upward"

xo_step "(c) no module object calls into the command layer (nm)"
calls_up "$XO_TOP_BUILDDIR" >"$XO_TMP/calls"
[ ! -s "$XO_TMP/calls" ] ||
    xo_fail "module objects use symbols of the command layer: move them to a module" \
        "$XO_TMP/calls"
echo "   ok: $(cd "$XO_TOP_BUILDDIR" && ls helper/cmd/*.o | wc -l) command-layer objects," \
    "$(cd "$XO_TOP_BUILDDIR" && ls helper/*.o common/*.o plugin/.libs/*.o 2>/dev/null | wc -l) module objects"

xo_step "(d) no circle among the modules' includes"
circles "$XO_TMP/edges" >"$XO_TMP/circles"
[ ! -s "$XO_TMP/circles" ] ||
    xo_fail "modules that include each other, in a circle: give what both need a header of its own" \
        "$XO_TMP/circles"
echo "   ok: $(awk '$1 !~ /cmd\// { sub(/\.[ch]$/, "", $1); print $1 }' "$XO_TMP/edges" | sort -u | wc -l) modules, no circle"
xo_pass
