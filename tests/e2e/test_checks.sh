#!/usr/bin/env bash
# End-to-end: verification checks (issue 17, docs/checks.md). A repository
# that is its own authority: a failing check blocks `envflow sync`, its
# result is recorded as refs/envflow/checks/<env>/<commit>/<check> (read
# with plain git), a fix passes and goes through, a result of an older
# commit does not count for a newer one, a result for another bundle is
# stale, a timeout fails, `sync --auto` runs the checks itself, a failed
# check sends a signed check-failed event, and a dead receiver fails
# nothing. Then a team server (lighttpd, envflow's hooks): a raw `git push`
# promotion without a passing result is refused, forged results pushed with
# plain git are refused, results pushed with `envflow check --push` let the
# same raw push through.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

RECEIVER="$ENVFLOW_SOURCE_DIR/tests/e2e/event_receiver.py"
RECEIVER_PID=""
stop_all() {
  [ -z "$RECEIVER_PID" ] || { kill "$RECEIVER_PID" 2>/dev/null || true; wait "$RECEIVER_PID" 2>/dev/null || true; }
  cleanup_test_root
}
trap stop_all EXIT

# The check every test here uses: no bundle may mention FORBIDDEN.
CHECK_YAML='    checks:
      - name: no-forbidden
        run: [sh, -c, "! grep -n FORBIDDEN \"$ENVFLOW_BUNDLE\""]
        timeout: 20
'
with_check() { # python for edit_config: add the check to environment $1
  echo "t = env_block(t, '$1', lambda b: b.rstrip('\n') + '\n' + r'''$CHECK_YAML''' + ('\n' if b.endswith('\n\n') else ''))"
}
result_of() { git -C "$1" show "refs/envflow/checks/$2/$3/$4:result.yaml"; }
describe_as() {
  sed -i "s/^description: .*/description: $1/" agents/support.yaml
  git commit -q -am "Support: $1"
}

R=$(new_repo pipeline --envs dev,test,production)
cd "$R"

# ---------------------------------------------------------------------------
test_case "checks in the policy"
edit_config "$(with_check test)"
run envflow config show
expect_out "name: no-forbidden"
envflow config show >"$TEST_ROOT/cfg.yaml"
python3 - "$TEST_ROOT/cfg.yaml" <<'PY'
import sys
t = open(sys.argv[1]).read()
t = t.replace("    write: [\"developers\"]", "    write: [\"developers\"]\n    checks: [{name: x, run: \"true\"}]", 1)
open(sys.argv[1], "w").write(t)
PY
run envflow config edit --file "$TEST_ROOT/cfg.yaml"
expect_rc 1
expect_err "environment 'dev' is the first: nothing is promoted into it, so it has no checks"

test_case "a failing check blocks the sync, naming the check"
describe_as "Answers FORBIDDEN questions"
C1=$(git rev-parse HEAD)
run envflow sync dev
expect_rc 1
expect_err "check no-forbidden has no result for ${C1:0:7}"
expect_err "envflow check test"
run envflow check test
expect_rc 1
expect_out "check no-forbidden on test for ${C1:0:7}: failed (exit 1)"
expect_out "FORBIDDEN"
expect_err "1 of 1 checks failed"
# The result, with plain git: its own ref, a commit whose tree holds result.yaml.
expect_eq "$(git for-each-ref --format='%(refname)' refs/envflow/checks/)" \
  "refs/envflow/checks/test/$C1/no-forbidden" "the result ref"
expect_eq "$(git ls-tree --name-only "refs/envflow/checks/test/$C1/no-forbidden")" "result.yaml" "its tree"
RESULT=$(result_of . test "$C1" no-forbidden)
grep -q '^exit_status: 1$' <<<"$RESULT" && pass || fail "exit status: $RESULT"
grep -q '^bundle_digest: "sha256:[0-9a-f]\{64\}"$' <<<"$RESULT" && pass || fail "digest: $RESULT"
grep -q '^actor: "' <<<"$RESULT" && pass || fail "actor: $RESULT"
grep -q '^output: ".*FORBIDDEN' <<<"$RESULT" && pass || fail "output: $RESULT"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^op:')" "op: check" "the audit record"
run envflow sync dev
expect_rc 1
expect_err "check no-forbidden failed on ${C1:0:7}: failed (exit 1)"
run envflow --format json status
expect_eq "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["environments"][0]["checks"])' <<<"$OUT")" \
  "[{'name': 'no-forbidden', 'state': 'failed'}]" "status JSON"
run envflow status
expect_out "checks into test: no-forbidden failed"
# The web page shows the same (envflow serve reads `envflow status`).
start_serve "$R" --read-only
http GET /
expect_code 200
if grep -q 'badge-danger">no-forbidden: failed</span>' <<<"$BODY"; then pass; else
  fail "the page does not show the failed check"
fi
stop_serve
expect_eq "$(ref_of . refs/heads/test)" "$(ref_of . refs/heads/production)" "test did not move"

test_case "the fix passes, is recorded, and goes through"
describe_as "Answers product questions"
C2=$(git rev-parse HEAD)
run envflow --format json check test
expect_rc 0
expect_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], d["checks"][0]["passed"], d["checks"][0]["ran"])' <<<"$OUT")" \
  "True True True" "JSON"
grep -q '^exit_status: 0$' <<<"$(result_of . test "$C2" no-forbidden)" && pass || fail "passing result"
run envflow check test  # a passing result is kept, not run again
expect_rc 0
expect_out "recorded earlier, kept"
run envflow sync dev
expect_rc 0
expect_eq "$(ref_of . refs/heads/test)" "$C2" "test promoted"

test_case "a result of an older commit is not accepted for a newer one"
describe_as "Answers product questions kindly"
C3=$(git rev-parse HEAD)
run envflow check test --rev "$C2"
expect_rc 0
run envflow sync dev
expect_rc 1
expect_err "check no-forbidden has no result for ${C3:0:7}"
expect_eq "$(ref_of . refs/heads/test)" "$C2" "test did not move"

test_case "a result for another bundle of the same commit is stale"
run envflow check test
expect_rc 0
run envflow var set --env test max_turns 7
expect_rc 0
run envflow sync dev
expect_rc 1
expect_err "ran on another bundle of ${C3:0:7}"
run envflow check test   # runs again: the old result is removed, a new one recorded
expect_rc 0
expect_out "passed"
run envflow log --op check-clear
expect_out "check-clear"
run envflow sync dev
expect_rc 0
expect_eq "$(ref_of . refs/heads/test)" "$C3" "test promoted"

test_case "a check that runs too long fails at its timeout"
envflow config show >"$TEST_ROOT/saved.yaml"
edit_config "import re
t = re.sub(r'        run: .*\n', '        run: [sleep, \"30\"]\n', t, count=1).replace('timeout: 20', 'timeout: 1')"
describe_as "Slow"
start=$(date +%s)
run envflow check test
expect_rc 1
expect_out "timed out"
[ $(( $(date +%s) - start )) -lt 15 ] && pass || fail "the timeout did not stop it"
grep -q '^timed_out: true$' <<<"$(result_of . test "$(git rev-parse HEAD)" no-forbidden)" && pass || fail "timed_out"
run envflow config edit --file "$TEST_ROOT/saved.yaml"
expect_rc 0

test_case "check-failed: a signed event; a dead receiver fails nothing"
export HOOK_SECRET="checks-secret"
python3 "$RECEIVER" --log "$TEST_ROOT/rx.log" --port-file "$TEST_ROOT/rx.port" \
  --secret-env HOOK_SECRET --mode ok &
RECEIVER_PID=$!
for i in $(seq 1 100); do [ -s "$TEST_ROOT/rx.port" ] && break; sleep 0.1; done
touch "$TEST_ROOT/rx.log"
DEAD=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
edit_config "t += '''
events:
  - url: http://127.0.0.1:$(cat "$TEST_ROOT/rx.port")/hook
    secret_env: HOOK_SECRET
    on: [check-failed, sync]
  - url: http://127.0.0.1:$DEAD/hook
    secret_env: HOOK_SECRET
    on: [check-failed, sync]
events_timeout: 3
'''"
describe_as "FORBIDDEN again"
C4=$(git rev-parse HEAD)
run envflow check test
expect_rc 1
expect_err "warning"
if python3 - "$TEST_ROOT/rx.log" "$C4" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
ok = [x for x in r if json.loads(x["body"])["type"] == "check-failed"]
b = json.loads(ok[0]["body"]) if ok else {}
sys.exit(0 if ok and ok[0]["valid"] and b["check"]["check"] == "no-forbidden"
         and b["check"]["commit"] == sys.argv[2] and b["environment"] == "test" else 1)
PY
then pass; else fail "no valid check-failed event: $(cat "$TEST_ROOT/rx.log")"; fi
describe_as "Fixed again"
C5=$(git rev-parse HEAD)
run envflow check test
expect_rc 0
run envflow sync dev
expect_rc 0
expect_err "warning"
expect_eq "$(ref_of . refs/heads/test)" "$C5" "the sync went through a dead receiver"

test_case "sync --auto runs the checks itself"
edit_config "t = set_auto(t, 'test')"
describe_as "Auto FORBIDDEN"
C6=$(git rev-parse HEAD)
run envflow --format json sync --auto
expect_rc 1
expect_eq "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["stopped_at"]["reason"])' <<<"$OUT")" "checks" "stop reason"
expect_eq "$(ref_of . refs/heads/test)" "$C5" "test did not move"
git rev-parse -q --verify "refs/envflow/checks/test/$C6/no-forbidden" >/dev/null && pass || fail "auto recorded no result"
describe_as "Auto fixed"
C7=$(git rev-parse HEAD)
run envflow sync --auto
expect_rc 0
expect_eq "$(ref_of . refs/heads/test)" "$C7" "auto promoted"
grep -q '^exit_status: 0$' <<<"$(result_of . test "$C7" no-forbidden)" && pass || fail "auto's result"
kill "$RECEIVER_PID" 2>/dev/null || true; wait "$RECEIVER_PID" 2>/dev/null || true; RECEIVER_PID=""

test_case "signed releases with allowed signers: results are signed by the release signer"
if command -v ssh-keygen >/dev/null; then
  ssh-keygen -q -t ed25519 -N "" -C signer@example.com -f "$TEST_ROOT/key"
  printf 'signer@example.com namespaces="git" %s\n' "$(cat "$TEST_ROOT/key.pub")" >"$TEST_ROOT/allowed"
  git config gpg.format ssh
  git config user.signingKey "$TEST_ROOT/key"
  run envflow config put allowed_signers "$TEST_ROOT/allowed"
  expect_rc 0
  edit_config "t = t.replace('release:\n', 'release:\n  allowed_signers: allowed_signers\n', 1)"
  edit_config "t = t.replace('    auto: true\n', '', 1)"
  describe_as "Signed"
  C8=$(git rev-parse HEAD)
  run envflow check test
  expect_rc 0
  expect_eq "$(git ls-tree --name-only "refs/envflow/checks/test/$C8/no-forbidden" | tr '\n' ' ')" \
    "result.yaml result.yaml.sig " "a signed result"
  git show "refs/envflow/checks/test/$C8/no-forbidden:result.yaml" >"$TEST_ROOT/r.yaml"
  git show "refs/envflow/checks/test/$C8/no-forbidden:result.yaml.sig" >"$TEST_ROOT/r.sig"
  run ssh-keygen -Y verify -f "$TEST_ROOT/allowed" -I signer@example.com -n git -s "$TEST_ROOT/r.sig" <"$TEST_ROOT/r.yaml"
  expect_rc 0
  run envflow sync dev
  expect_rc 0
  # a result by a key the policy does not allow is refused
  ssh-keygen -q -t ed25519 -N "" -C other@example.com -f "$TEST_ROOT/other"
  git config user.signingKey "$TEST_ROOT/other"
  describe_as "Signed by another"
  run envflow check test
  expect_rc 1
  expect_err "not by an allowed signer"
  expect_eq "$(git for-each-ref "refs/envflow/checks/test/$(git rev-parse HEAD)/")" "" "nothing recorded"
  git config --unset gpg.format
  git config --unset user.signingKey
else
  echo "ssh-keygen missing: signing not tested"
fi
cd "$TEST_ROOT"

# ---------------------------------------------------------------------------
# A team server: the server verifies results; it never runs a check.
WEB="$TEST_ROOT/web"
mkdir -p "$WEB/repos" "$WEB/docroot"
SRV="$WEB/repos/shop.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare --envs dev,test,production "$SRV" >/dev/null
team_policy | python3 -c '
import sys
t = sys.stdin.read()
check = sys.argv[1]
i = t.index("  - name: test\n")
j = t.index("  - name: production\n")
print(t[:j] + check + t[j:], end="")' "$CHECK_YAML" >"$TEST_ROOT/policy.yaml"
ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
"$ENVFLOW" install-hooks --server "$SRV" >/dev/null
printf 'alice:alice-pw\nbob:bob-pw\nadam:adam-pw\n' >"$WEB/users"
http_server_start "$WEB"
A="$TEST_ROOT/alice"
B="$TEST_ROOT/bob"
team_clones alice bob
# alice_pushes DESCRIPTION MESSAGE: alice commits the support agent with
# DESCRIPTION on dev and pushes it (must succeed); PUSHED is the commit.
alice_pushes() {
  sed -i "s/^description: .*/description: $1/" "$A/agents/support.yaml"
  git -C "$A" commit -q -am "$2"
  PUSHED=$(git -C "$A" rev-parse HEAD)
  run git -C "$A" push origin dev
  expect_rc 0
}

test_case "server: a raw git push promotion without a passing result is refused"
alice_pushes "Answers FORBIDDEN things" "FORBIDDEN"
S1=$PUSHED
git -C "$B" fetch -q origin
BEFORE=$(server_refs)
run git -C "$B" push origin "$S1:refs/heads/test"
expect_rc 1
expect_err "check no-forbidden has no result for ${S1:0:7}"
expect_eq "$(server_refs)" "$BEFORE" "server refs"

test_case "server: a failed result recorded with envflow check --push still blocks"
run "$ENVFLOW" -C "$B" check test --push
expect_rc 1
expect_eq "$(git -C "$SRV" cat-file -p "refs/envflow/checks/test/$S1/no-forbidden:result.yaml" | grep '^exit_status:')" \
  "exit_status: 1" "the result on the server"
run git -C "$B" push origin "$S1:refs/heads/test"
expect_rc 1
expect_err "check no-forbidden failed on ${S1:0:7}"

test_case "server: forged results pushed with plain git are refused"
BEFORE=$(server_refs)
# not a result commit at all
run git -C "$B" push origin "$S1:refs/envflow/checks/test/$S1/other"
expect_rc 1
# a hand-written result claiming a pass, pushed over the failed one
FAILED_ID=$(git -C "$SRV" rev-parse "refs/envflow/checks/test/$S1/no-forbidden")
git -C "$B" fetch -q origin "+refs/envflow/checks/*:refs/remotes/checks/*"
git -C "$B" show "$FAILED_ID:result.yaml" | sed 's/^exit_status: 1$/exit_status: 0/' >"$TEST_ROOT/forged.yaml"
BLOB=$(git -C "$B" hash-object -w "$TEST_ROOT/forged.yaml")
TREE=$(printf '100644 blob %s\tresult.yaml\n' "$BLOB" | git -C "$B" mktree)
FORGED=$(git -C "$B" commit-tree -m "envflow check" "$TREE")
run git -C "$B" push -f origin "$FORGED:refs/envflow/checks/test/$S1/no-forbidden"
expect_rc 1
expect_err "a check result never moves"
# a well-formed result for a commit without one, pushed by alice, who may not promote
BASE=$(git -C "$A" rev-parse HEAD~1)
sed "s/$S1/$BASE/" "$TEST_ROOT/forged.yaml" >"$TEST_ROOT/forged2.yaml"
BLOB=$(git -C "$A" hash-object -w "$TEST_ROOT/forged2.yaml")
TREE=$(printf '100644 blob %s\tresult.yaml\n' "$BLOB" | git -C "$A" mktree)
FORGED=$(git -C "$A" commit-tree -m "envflow check" "$TREE")
run git -C "$A" push origin "$FORGED:refs/envflow/checks/test/$BASE/no-forbidden"
expect_rc 1
expect_err "may not record check results of test"
expect_eq "$(server_refs)" "$BEFORE" "server refs"

test_case "server: a passing result recorded with --push lets the same raw push through"
alice_pushes "Answers questions" "fixed"
S2=$PUSHED
run "$ENVFLOW" -C "$B" check test --push
expect_rc 0
expect_eq "$(git -C "$SRV" cat-file -p "refs/envflow/checks/test/$S2/no-forbidden:result.yaml" | grep '^exit_status:')" \
  "exit_status: 0" "the result on the server"
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep '^op:')" "op: check" "recorded on the server"
git -C "$B" fetch -q origin
run git -C "$B" push origin "$S2:refs/heads/test"
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$S2" "server test"

finish
