#!/bin/bash
# No function in helper/, helper/cmd/, plugin/ or common/ is longer than
# 80 lines (from the line with its name to its closing brace) unless the
# comment block right above it says why, with "long:" and a reason
# (issue 11; plugin/ and common/ since issue 18).  Function extents come
# from universal-ctags and are checked against a scan of this codebase's
# style (the name at column 0 followed by '(', the body ending at the
# next line that is exactly '}'): if the two disagree, the test fails
# rather than trusting either.
set -eu
. "$(dirname "$0")/lib.sh"

MAX=80

xo_require_cmd ctags
ctags --version 2>/dev/null | grep -q 'Universal Ctags' ||
    xo_skip "ctags is not universal-ctags (Debian package universal-ctags)"

# extents_ctags FILE...: "FILE NAME FIRST LAST" for each function defined.
extents_ctags() {
    ctags -o - --sort=no --fields=+ne --c-kinds=f --language-force=C "$@" |
        awk -F'\t' '{
            first = last = 0
            for (i = 4; i <= NF; i++)
                if ($i ~ /^line:/) first = substr($i, 6)
                else if ($i ~ /^end:/) last = substr($i, 5)
            print $2, $1, first, last
        }'
}

# extents_scan FILE...: the same from the brace structure: a name at
# column 0 followed by '(' is a definition if a line "{" comes before a
# line ending in ';' (a prototype); it ends at the next line "}".
extents_scan() {
    awk '
        FNR == 1 { state = 0 }
        state == 0 && /^[A-Za-z_][A-Za-z0-9_]*\(/ {
            name = $0; sub(/\(.*/, "", name); first = FNR; state = 1
        }
        state == 1 && /^\{$/ { state = 2; next }
        state == 1 && /;[ \t]*$/ { state = 0; next }
        state == 2 && /^\}$/ { print FILENAME, name, first, FNR; state = 0 }
    ' "$@"
}

# long_functions FILE...: "FILE NAME LINES" for each function longer
# than MAX lines without a "long:" reason in the comment block above it.
long_functions() {
    extents_ctags "$@" | sort >"$XO_TMP/ctags"
    extents_scan "$@" | sort >"$XO_TMP/scan"
    [ -s "$XO_TMP/ctags" ] || xo_fail "ctags found no functions in $*" >&2
    if ! cmp -s "$XO_TMP/ctags" "$XO_TMP/scan"; then
        diff "$XO_TMP/ctags" "$XO_TMP/scan" >"$XO_TMP/extents.diff" || true
        xo_fail "ctags and the brace scan disagree on where functions begin or end (< ctags, > scan)" \
            "$XO_TMP/extents.diff" >&2
    fi
    while read -r file name first last; do
        [ $((last - first + 1)) -gt "$MAX" ] || continue
        # The comment block right above: past the return type (up to
        # three lines, none blank), a block ending in "*/".
        awk -v first="$first" -v name="$name" -v file="$file" -v n=$((last - first + 1)) '
            { line[FNR] = $0 }
            END {
                k = first - 1
                while (k > 0 && k >= first - 3 && line[k] != "" &&
                    line[k] !~ /\*\/[ \t]*$/ && line[k] != "}")
                    k--
                if (k > 0 && line[k] ~ /\*\/[ \t]*$/)
                    for (; k > 0; k--) {
                        if (line[k] ~ /long: *[A-Za-z0-9]/)
                            exit
                        if (line[k] ~ /\/\*/)
                            break
                    }
                print file, name, n
            }' "$file"
    done <"$XO_TMP/ctags"
}

xo_step "the check itself: an 81-line function is found, unless a 'long:' reason is above it"
sample=$XO_TMP/sample.c
{
    printf '/* A prototype first. */\nstatic int\nplain(int);\n\n'
    # body FUNCTION LINES COMMENT: a function of LINES lines in all.
    body() {
        [ -z "$3" ] || printf '/*\n * %s\n */\n' "$3"
        printf 'static int\n%s(int a)\n{\n' "$1"
        for ((i = 0; i < $2 - 3; i++)); do printf '\ta++;\n'; done
        printf '}\n\n'
    }
    body plain 81 "Says what it does."
    body reasoned 81 "Does it all.  long: one table, row by row"
    body no_reason_text 81 "long:"
    body at_limit 80 ""
    body brief 5 "Brief."
} >"$sample"
long_functions "$sample" >"$XO_TMP/sample.unsorted"
sort "$XO_TMP/sample.unsorted" >"$XO_TMP/sample.out"
printf '%s no_reason_text 81\n%s plain 81\n' "$sample" "$sample" >"$XO_TMP/sample.want"
cmp -s "$XO_TMP/sample.out" "$XO_TMP/sample.want" ||
    xo_fail "the check misjudges a sample file (made by this script)" \
        "$XO_TMP/sample.out" "$XO_TMP/sample.want"
echo "   ok: the sample's long function without a reason is found, and only it"

xo_step "helper/, helper/cmd/, plugin/, common/: no function over $MAX lines without a 'long:' reason"
cd "$XO_TOP_SRCDIR"
long_functions helper/*.c helper/cmd/*.c plugin/*.c common/*.c >"$XO_TMP/long.unsorted"
sort "$XO_TMP/long.unsorted" >"$XO_TMP/long"
fails=0
while read -r file name lines; do
    echo "   FAIL: $file: $name() is $lines lines long (at most $MAX): split it into functions that each do one thing, or say why not in the comment right above it: 'long: REASON'"
    fails=$((fails + 1))
done <"$XO_TMP/long"
[ "$fails" = 0 ] || xo_fail "$fails function(s) over $MAX lines without a reason"
echo "   ok: $(wc -l <"$XO_TMP/ctags") functions checked"
xo_pass
