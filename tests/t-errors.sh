#!/bin/bash
# The helper's one error convention (helper/errors.h, issue 11), checked
# on the source:
#  - every module code (a *_E_* define in helper/ and common/) is a
#    literal in the range errors.h's table gives its prefix; the ranges
#    do not overlap, lie below errno's, and no number is defined twice
#    (DIAG_E_NOTJWT once shared -2001 with STORE_E_NAME);
#  - no sysexits number (64..78) as an exit status, no EX_* name and no
#    <sysexits.h> outside the command layer (helper/cmd/),
#    which alone maps codes to exit statuses;
#  - no exported (not static) function in helper/ or common/ returns a
#    bare -1 or -2 (issue 18): a code from errors.h, -errno or a
#    module's *_E_*;
#  - no exported prototype in helper/ or common/ carries a message in a
#    char buffer (char *err, sized by convention, or a char *why, size_t
#    whysize pair): messages cross module boundaries as struct xo_err
#    (common/xo_err.h) or struct oauth_error, which begins with one.
# Each check is first tried on a sample this script writes.
set -eu
. "$(dirname "$0")/lib.sh"

# check_codes TABLE HEADER...: the ranges in TABLE (errors.h: comment
# lines "*<TAB>-LOW -HIGH<TAB>PREFIX<TAB>...") against the *_E_* defines
# in HEADERs.  Prints one line per problem.
check_codes() {
    awk '
        FNR == 1 { first = (++nfile == 1) }
        first && /^ \*\t-[0-9]+ -[0-9]+\t+[A-Z0-9_]+_E_\t/ {
            split($0, f, /[ \t]+/)
            hi = f[3] + 0; lo = f[4] + 0; p = f[5]
            if (p in rhi) { print "prefix " p " has two ranges"; next }
            if (lo > hi || hi > -200) {
                print "range of " p " (" hi " " lo ") is not below errno'"'"'s"
                next
            }
            for (q in rhi)
                if (!(lo > rhi[q] || hi < rlo[q]))
                    print "ranges of " p " and " q " overlap"
            rhi[p] = hi; rlo[p] = lo; rows++
            next
        }
        first { next }
        /^#define[ \t]+[A-Z0-9]+_E_[A-Z0-9_]*[ \t]/ {
            name = $2; p = name; sub(/_E_.*/, "_E_", p)
            v = $0; sub(/^#define[ \t]+[A-Z0-9_]+[ \t]+/, "", v)
            where = FILENAME ":" FNR ": " name
            if (v !~ /^\(-[0-9]+\)/) {
                print where ": not a literal (-N): the check cannot place it"
                next
            }
            v = substr(v, 2) + 0
            if (!(p in rhi))
                print where " (" v "): no range for " p " in errors.h"
            else if (v > rhi[p] || v < rlo[p])
                print where " (" v "): outside " p "'"'"'s range " rhi[p] " " rlo[p]
            if (v in seen)
                print where " (" v "): the same number as " seen[v]
            else
                seen[v] = name
            codes++
        }
        END {
            if (rows == 0) print "no ranges found in " ARGV[1]
            if (codes == 0) print "no codes found"
        }
    ' "$@"
}

# check_sysexits FILE...: exit numbers, EX_ names and <sysexits.h> in
# FILEs (all outside the command layer).  Prints "FILE:LINE: text".
check_sysexits() {
    grep -HnE '(\b(return|_?exit|status|rc|code)\b[[:space:](=]*|[?:][[:space:]]*)(6[4-9]|7[0-8])\b[[:space:]]*[;:)]|\bEX_[A-Z]+\b|<sysexits\.h>' "$@" |
        grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/?\*|//)' || true
}

# check_bare_returns FILE...: "FILE:LINE: NAME: TEXT" for each return
# of a bare -1 or -2 (also as one side of ?:, or set into the variable
# the house returns: r, rc, ret, status, result) in a function that is
# not static.  Functions are found as t-funclen.sh's brace scan finds them
# (the name at column 0 followed by '(', the body from a line "{" to the
# next line "}"); static is on the line before the name.
check_bare_returns() {
    awk '
        FNR == 1 { state = 0; prev = "" }
        state == 0 && /^[A-Za-z_][A-Za-z0-9_]*\(/ {
            name = $0; sub(/\(.*/, "", name); state = 1
            exported = prev !~ /^static([ \t]|$)/
        }
        state == 1 && /^\{$/ { state = 2 }
        state == 1 && /;[ \t]*$/ { state = 0 }
        state == 2 && /^\}$/ { state = 0 }
        state == 2 && exported &&
            (/(^|[^A-Za-z0-9_])return([ \t]*\(?|[ \t].*[?:][ \t]*\(?)-[12]\)?[ \t]*;/ ||
            /(^|[^A-Za-z0-9_])(r|rc|ret|status|result)[ \t]*=[ \t]*\(?-[12]\)?[ \t]*;/) {
            line = $0; sub(/^[ \t]+/, "", line)
            print FILENAME ":" FNR ": " name ": " line
        }
        { prev = $0 }
    ' "$@"
}

# check_char_messages HEADER...: "FILE:LINE: NAME" for each prototype
# (comments removed, joined up to its ';') with a parameter "char *err"
# or "char *why" (and the like: errbuf, whybuf), not const: a message in
# a buffer the caller sized.
check_char_messages() {
    awk '
        FNR == 1 { text = ""; incomment = 0 }
        {
            line = $0
            if (incomment) {
                if (sub(/.*\*\//, "", line)) incomment = 0
                else next
            }
            gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, "", line)
            if (sub(/\/\*.*/, "", line)) incomment = 1
            if (line ~ /^[ \t]*#/ || line !~ /[^ \t]/) next
            if (text == "") first = FNR
            text = text " " line
            if (line !~ /[;{}][ \t]*$/) next
            if (text ~ /\(/ && text ~ /[(,][ \t]*char[ \t]*\*[ \t]*(err|why)[a-z]*[ \t]*[,)]/) {
                name = text; sub(/[ \t]*\(.*/, "", name); sub(/.*[ \t*]/, "", name)
                print FILENAME ":" first ": " name
            }
            text = ""
        }
    ' "$@"
}

# none_found FINDINGS WHAT: FINDINGS is empty; otherwise fail with WHAT
# (what is wrong, what to do), showing the findings.
none_found() {
    [ ! -s "$1" ] || xo_fail "$2" "$1"
    echo "   ok: none found"
}

xo_step "the checks themselves, on a sample"
mkdir "$XO_TMP/sample"
cat >"$XO_TMP/sample/errors.h" <<'EOF'
/*
 *	-1001 -1199	AAA_E_		a.h
 *	-2001 -2099	BBB_E_		b.h
 */
EOF
cat >"$XO_TMP/sample/a.h" <<'EOF'
#define AAA_E_ONE	(-1001)	/* fine */
#define AAA_E_IS(r)	((r) < -1000)
#define AAA_E_TWO	(-2001)	/* outside its range */
#define BBB_E_ONE	(-1001)	/* outside, and AAA_E_ONE's number */
#define CCC_E_ONE	(-3001)	/* no range */
#define BBB_E_TWO	(BBB_E_ONE - 1)	/* not a literal */
EOF
(cd "$XO_TMP/sample" && check_codes errors.h a.h) >"$XO_TMP/codes.out"
cat >"$XO_TMP/codes.want" <<'EOF'
a.h:3: AAA_E_TWO (-2001): outside AAA_E_'s range -1001 -1199
a.h:4: BBB_E_ONE (-1001): outside BBB_E_'s range -2001 -2099
a.h:4: BBB_E_ONE (-1001): the same number as AAA_E_ONE
a.h:5: CCC_E_ONE (-3001): no range for CCC_E_ in errors.h
a.h:6: BBB_E_TWO: not a literal (-N): the check cannot place it
EOF
cmp -s "$XO_TMP/codes.out" "$XO_TMP/codes.want" ||
    xo_fail "the code check misjudges the sample" "$XO_TMP/codes.out" "$XO_TMP/codes.want"
printf '/*\n *\t-1001 -1199\tAAA_E_\t\ta.h\n *\t-1101 -1299\tBBB_E_\t\tb.h\n */\n' \
    >"$XO_TMP/sample/overlap.h"
(cd "$XO_TMP/sample" && check_codes overlap.h a.h) | grep -qx 'ranges of BBB_E_ and AAA_E_ overlap' ||
    xo_fail "the code check misses overlapping ranges"
cat >"$XO_TMP/sample/x.c" <<'EOF'
#include <sysexits.h>
	return 75;
	return EX_TEMPFAIL;
	exit(64);
	status = r == -ENOMEM ? 71 : 73;
	char when[64];
	/* return 75; in a comment */
	x = 1 << 64 >> 78;
EOF
(cd "$XO_TMP/sample" && check_sysexits x.c) | cut -d: -f2 | tr '\n' ' ' >"$XO_TMP/sx.out"
[ "$(cat "$XO_TMP/sx.out")" = "1 2 3 4 5 " ] ||
    xo_fail "the sysexits check misjudges the sample: lines $(cat "$XO_TMP/sx.out"), want 1 2 3 4 5"
cat >"$XO_TMP/sample/r.c" <<'EOF'
static int
hidden(int a)
{
	return -1;
}

int
shown(int a)
{
	if (a)
		return -1;
	if (a > 1)
		return (-1);
	x = a ? 0 : -1;
	return a == 2 ? 0 : -2;
}

int
later(int a)
{
	int r = -1;
	int fd = -1;

	return r;
}

int
fine(int a)
{
	return -ENOMEM;
	return -10;
	return XO_E_IO;
}
EOF
(cd "$XO_TMP/sample" && check_bare_returns r.c) >"$XO_TMP/bare.out"
printf '%s\n' "r.c:11: shown: return -1;" "r.c:13: shown: return (-1);" \
    "r.c:15: shown: return a == 2 ? 0 : -2;" "r.c:21: later: int r = -1;" \
    >"$XO_TMP/bare.want"
cmp -s "$XO_TMP/bare.out" "$XO_TMP/bare.want" ||
    xo_fail "the bare-return check misjudges the sample" "$XO_TMP/bare.out" "$XO_TMP/bare.want"
cat >"$XO_TMP/sample/m.h" <<'EOF'
/* int in_comment(char *err); */
int bad_err(const struct x *x,
    char *err);
int bad_why(int a, char *why, size_t whysize);
int fine_buf(char *buf, size_t size);	/* char *why in a comment */
int fine_in(const char *why);
int fine_carrier(struct xo_err *err);
EOF
(cd "$XO_TMP/sample" && check_char_messages m.h) >"$XO_TMP/msgs.out"
printf '%s\n' "m.h:2: bad_err" "m.h:4: bad_why" >"$XO_TMP/msgs.want"
cmp -s "$XO_TMP/msgs.out" "$XO_TMP/msgs.want" ||
    xo_fail "the message-buffer check misjudges the sample" "$XO_TMP/msgs.out" "$XO_TMP/msgs.want"
echo "   ok: all four checks find what the sample hides, and only that"

cd "$XO_TOP_SRCDIR"

xo_step "module codes: each in its own range (helper/errors.h), no number twice"
check_codes helper/errors.h helper/*.h common/*.h >"$XO_TMP/codes"
[ ! -s "$XO_TMP/codes" ] ||
    xo_fail "module error codes collide or stray from errors.h's ranges" "$XO_TMP/codes"
echo "   ok: $(cat helper/*.h common/*.h | grep -cE '^#define[[:space:]]+[A-Z0-9]+_E_[A-Z0-9_]*[[:space:]]') codes," \
    "$(grep -cE '^ \*'$'\t''-[0-9]+ -[0-9]+'$'\t' helper/errors.h) ranges"

xo_step "no sysexits numbers or names outside the command layer"
# The command layer is helper/cmd/; everything else is outside it.
outside=(helper/*.[ch] common/*.[ch])
check_sysexits "${outside[@]}" >"$XO_TMP/sysexits"
[ ! -s "$XO_TMP/sysexits" ] ||
    xo_fail "exit statuses outside the command layer: return an errors.h code and let cmd_exit() map it" \
        "$XO_TMP/sysexits"
echo "   ok: ${#outside[@]} files outside the command layer name no exit status"

xo_step "no exported function returns a bare -1 or -2"
check_bare_returns helper/*.c helper/cmd/*.c common/*.c >"$XO_TMP/bare.all"
none_found "$XO_TMP/bare.all" \
    "exported functions return a bare -1/-2: return an errors.h code (helper/errors.h), and fill a struct xo_err where the caller needs words"

xo_step "messages cross module boundaries as struct xo_err, not in char buffers"
check_char_messages helper/*.h helper/cmd/*.h common/*.h >"$XO_TMP/msgs.all"
none_found "$XO_TMP/msgs.all" \
    "exported prototypes carry a message in a char buffer: take a struct xo_err * (common/xo_err.h) instead"
xo_pass
