#!/bin/bash
# refresh --all renews many due accounts at once (issue 20): a child per
# account, at most --jobs of them, each under its own lock; before, one
# after another, a thousand accounts at 200 ms a request took minutes.
# Against the mock OAuth server answering each /token request 300 ms late
# (its counters, not our clock, are the evidence):
#   1. 24 due accounts, --jobs 4: at most 4 requests (and connections) at
#      once, and more than 1; every file renewed exactly once; one
#      account refused (revoked grant) and one whose endpoint is down
#      fail without holding up the rest; the messages and the exit status
#      are those of --jobs 1, in the same order;
#   2. a request that hangs holds up no other account; SIGTERM to the
#      parent stops the children, their output still comes in order;
#   3. root over the files of two users, with the default --jobs: a child
#      that is the owner for each (the files and locks stay theirs), more
#      than one request at once.
. "$(dirname "$0")/lib.sh"

xo_helper_built --private-store
N=24
JOBS=4

xo_start_oauth
xo_oauth -q latency 300 || xo_fail "the mock server has no latency control"
DOWN=$(xo_free_ports 1)         # nobody listens there (once it is printed)

# mk_store TAG: N due token files acct00..acct23 in the store
# $XO_TMP/TAG/xoauth2, one grant (and one user, acctNN.TAG@example.com)
# each; acct07's grant is revoked, acct19's endpoint is down.  Their
# refresh tokens go to DIR.rt (one per line).
mk_store() {
    local tag=$1 dir=$XO_TMP/$1/xoauth2 i name
    mkdir -p -m 700 "$XO_TMP/$tag" "$dir"
    for ((i = 0; i < N; i++)); do
        name=$(printf 'acct%02d' "$i")
        if [ "$i" = 19 ]; then
            xo_tokfile "$dir/$name.json" "$name.$tag@example.com" -10 \
                token_endpoint="http://127.0.0.1:$DOWN/token"
        else
            xo_tokfile "$dir/$name.json" "$name.$tag@example.com" -10
        fi
    done
    xo_revoke "$(xo_token_field "$dir/acct07.json" refresh_token)"
    for ((i = 0; i < N; i++)); do
        xo_token_field "$dir/$(printf 'acct%02d' "$i").json" refresh_token
    done >"$dir.rt"
}

# srv FIELD: a counter of the server's; by_user TAG: how many accounts
# of DIR's the server renewed once, and how many more than once.
srv() { xo_oauth_stat "$1"; }
by_user() {
    xo_oauth stats | "$XO_PYTHON" -c '
import json, sys
by = {u: n for u, n in json.load(sys.stdin)["refreshes_by_user"].items()
      if u.endswith("." + sys.argv[1] + "@example.com")}
print(sum(1 for n in by.values() if n == 1), sum(1 for n in by.values() if n > 1))' "$1"
}

# renewed DIR: how many of DIR's files hold a new refresh token.
renewed() {
    local i n=0
    for ((i = 0; i < N; i++)); do
        [ "$(xo_token_field "$1/$(printf 'acct%02d' "$i").json" refresh_token)" = \
            "$(sed -n "$((i + 1))p" "$1.rt")" ] || n=$((n + 1))
    done
    echo "$n"
}

# accounts FILE: the accounts FILE's messages name, in order, each once.
accounts() {
    sed -n 's/^xoauth2-token: \(acct[0-9][0-9]\): .*/\1/p' "$1" | uniq
}

# normal FILE: FILE without the clock (valid until ..., in N min) and
# without what tells store a from b.
normal() {
    sed -e 's/ valid until .*/ valid until T/' -e "s|$XO_TMP/[ab]/|STORE/|g" \
        -e 's/\.[ab]@example\.com/@example.com/g' "$1"
}

xo_step "refresh --all --jobs $JOBS over $N due accounts (300 ms a request)"
XDG_DATA_HOME=$XO_TMP/a
mk_store a
xo_run_timeout 60 "$XO_HELPER" refresh --all --jobs $JOBS -v \
    >"$XO_TMP/a.out" 2>"$XO_TMP/a.err"
rc_par=$XO_RC
max=$(srv token_in_flight_max)
conns=$(srv connections_max)
[ "$max" -le $JOBS ] || xo_fail "$max requests in flight at once, more than --jobs $JOBS" "$XO_TMP/a.err"
[ "$max" -gt 1 ] || xo_fail "one request at a time: the accounts were not renewed concurrently" "$XO_TMP/a.err"
[ "$conns" -le $JOBS ] || xo_fail "$conns connections open at once, more than --jobs $JOBS"
echo "   ok: at most $max requests in flight and $conns connections open at once (--jobs $JOBS)"
read -r once more <<<"$(by_user a)"
[ "$once" = $((N - 2)) ] && [ "$more" = 0 ] ||
    xo_fail "the server renewed $once accounts once and $more more than once, want $((N - 2)) and 0"
[ "$(renewed "$XO_TMP/a/xoauth2")" = $((N - 2)) ] ||
    xo_fail "$(renewed "$XO_TMP/a/xoauth2") files hold a new refresh token, want $((N - 2))"
echo "   ok: $((N - 2)) accounts renewed exactly once, at the server and in their files"
accounts "$XO_TMP/a.err" >"$XO_TMP/a.order"
for ((i = 0; i < N; i++)); do printf 'acct%02d\n' "$i"; done >"$XO_TMP/want.order"
cmp -s "$XO_TMP/a.order" "$XO_TMP/want.order" ||
    xo_fail "the accounts' messages are not in the store's order, one block each" "$XO_TMP/a.err"
xo_assert_contains "$XO_TMP/a.err" '^xoauth2-token: acct07: .*(invalid_grant|login)'
xo_assert_contains "$XO_TMP/a.err" '^xoauth2-token: acct19: '
echo "   ok: each account's messages in the store's order, acct07 and acct19 say why they failed"

xo_step "the same store with --jobs 1 (one after another): the same messages and exit status"
xo_oauth -q latency 0
XDG_DATA_HOME=$XO_TMP/b
mk_store b
xo_run_timeout 60 "$XO_HELPER" refresh --all --jobs 1 -v \
    >"$XO_TMP/b.out" 2>"$XO_TMP/b.err"
normal "$XO_TMP/a.err" >"$XO_TMP/a.norm"
normal "$XO_TMP/b.err" >"$XO_TMP/b.norm"
diff "$XO_TMP/b.norm" "$XO_TMP/a.norm" >"$XO_TMP/ab.diff" ||
    xo_fail "--jobs $JOBS printed other messages than --jobs 1" "$XO_TMP/ab.diff"
[ "$rc_par" = "$XO_RC" ] && [ "$rc_par" != 0 ] ||
    xo_fail "exit status $rc_par with --jobs $JOBS, $XO_RC with --jobs 1" "$XO_TMP/a.err"
cmp -s "$XO_TMP/a.out" "$XO_TMP/b.out" || xo_fail "stdout differs"
echo "   ok: same messages, exit status $rc_par (the first failure's, acct07's) either way"

xo_step "a request that hangs holds up no other account; SIGTERM stops the children"
xo_oauth -q latency 300
for ((i = 0; i < N; i++)); do
    xo_token_expire_file "$XO_TMP/a/xoauth2/$(printf 'acct%02d' "$i").json" -10
done
base=$(srv refreshes)
xo_oauth -q fault hang --count 1
XDG_DATA_HOME=$XO_TMP/a "$XO_HELPER" refresh --all --jobs $JOBS -v --timeout 120 \
    >"$XO_TMP/c.out" 2>"$XO_TMP/c.err" &
pid=$!
xo_on_exit "kill $pid 2>/dev/null || true"
# 21 renewals: all but the hung one, acct07 and acct19.  One after
# another, they would wait the hung request's 120 s.
done_but_hung() {
    [ "$(srv refreshes)" = $((base + N - 3)) ] && [ "$(srv token_in_flight)" = 1 ]
}
xo_poll 30 done_but_hung ||
    xo_fail "$(($(srv refreshes) - base)) accounts renewed while one request hangs, want $((N - 3))" "$XO_TMP/c.err"
kill -0 "$pid" 2>/dev/null || xo_fail "refresh ended before the hung request did" "$XO_TMP/c.err"
echo "   ok: $((N - 3)) accounts renewed while one request hangs"
kids=$(pgrep -P "$pid" | tr '\n' ' ')
[ -n "$kids" ] || xo_fail "no child is at work on the hung account"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" = 143 ] || xo_fail "refresh ended with $rc after SIGTERM, want 143 (killed by it)" "$XO_TMP/c.err"
for k in $kids; do
    ! kill -0 "$k" 2>/dev/null || xo_fail "child $k still runs after its parent stopped"
done
accounts "$XO_TMP/c.err" >"$XO_TMP/c.order"
cmp -s "$XO_TMP/c.order" "$XO_TMP/want.order" ||
    xo_fail "after SIGTERM, not every account's messages in order" "$XO_TMP/c.err"
echo "   ok: SIGTERM stopped the hung child ($kids); every account's messages came, in order"

xo_step "root over two users' files, default --jobs: each file renewed by its owner"
if [ "$(id -u)" != 0 ]; then
    echo "   (skipped: not root)"
else
    # A fresh count; the hung request of the step before stays in flight.
    xo_oauth -q reset
    stuck=$(srv token_in_flight)
    chmod 711 "$XO_TMP"
    files=()
    for u in 54321 54322; do
        xo_user_dir $u "$XO_TMP/home$u"
        for ((i = 0; i < 4; i++)); do
            f=$XO_TMP/home$u/acct$i.json
            xo_tokfile "$f" "acct$i.u$u@example.com" -10
            chown $u:$u "$f"
            files+=("$f")
        done
    done
    base=$(srv refreshes)
    xo_run_timeout 60 "$XO_HELPER" refresh -v "${files[@]}" \
        >"$XO_TMP/d.out" 2>"$XO_TMP/d.err"
    xo_assert_rc 0 "$XO_TMP/d.err"
    [ "$(srv refreshes)" = $((base + 8)) ] || xo_fail "$(($(srv refreshes) - base)) renewals, want 8"
    max=$(($(srv token_in_flight_max) - stuck))
    [ "$max" -gt 1 ] || xo_fail "the default --jobs renewed one at a time"
    [ "$max" -le 8 ] || xo_fail "$max requests at once, more than the default --jobs 8"
    for f in "${files[@]}"; do
        u=$(stat -c %u "$(dirname "$f")")
        [ "$(stat -c %u "$f")" = "$u" ] && [ "$(stat -c %u "$f.lock")" = "$u" ] ||
            xo_fail "$f or its lock is not $u's: renewed as another user"
    done
    for u in 54321 54322; do
        [ "$(grep -c "home$u/acct" "$XO_TMP/d.err")" = 4 ] ||
            xo_fail "not 4 messages for $u's files" "$XO_TMP/d.err"
    done
    sed -n 's/^xoauth2-token: \([^:]*\): .*/\1/p' "$XO_TMP/d.err" >"$XO_TMP/d.order"
    printf '%s\n' "${files[@]}" | cmp -s - "$XO_TMP/d.order" ||
        xo_fail "the files' messages are not in the order given" "$XO_TMP/d.err"
    echo "   ok: 8 files of 2 users renewed by their owners, up to $max at once, in order"
fi

xo_pass
