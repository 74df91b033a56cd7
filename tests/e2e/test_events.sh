#!/usr/bin/env bash
# End-to-end: events (issue 17). Real receivers on 127.0.0.1
# (tests/e2e/event_receiver.py, python's http.server) verify each POST's
# X-Envflow-Signature-256 with the key from their own environment and log
# what they got. Covered: signed sync, publish, hotfix, backport-open and
# backport-close events with the documented headers and body, filtering by
# `on`, a retry after a 503 (same delivery id), a receiver with nothing
# listening and one that never answers: the sync still succeeds (exit 0,
# refs moved, JSON on stdout intact), each costs one `envflow: warning:`
# line on stderr, and the command finishes (bounded by events_timeout); the
# healthy receiver still gets its event.
# A missing secret variable sends nothing (never unsigned); a refused
# command sends nothing; a policy with a credential in a URL is refused at
# file:line:col; with --push, only the run's own records become events, not
# the ones fetched from the remote; a hotfix pushed with plain git gets its
# backport-open event from the server's post-receive hook.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

# Receivers are on 127.0.0.1: never through a proxy of the host.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

RECEIVER="$ENVFLOW_SOURCE_DIR/tests/e2e/event_receiver.py"
RECEIVER_PIDS=()
stop_receivers() {
  local pid
  for pid in "${RECEIVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${RECEIVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  cleanup_test_root
}
trap stop_receivers EXIT

# start_receiver NAME MODE [SECRET_ENV]: a receiver logging to
# $TEST_ROOT/NAME.log, its port in $TEST_ROOT/NAME.port (see port_of).
start_receiver() {
  local name=$1 mode=$2 secret=${3:-} i
  python3 "$RECEIVER" --log "$TEST_ROOT/$name.log" --port-file "$TEST_ROOT/$name.port" \
    --secret-env "$secret" --mode "$mode" &
  RECEIVER_PIDS+=($!)
  for i in $(seq 1 100); do
    [ -s "$TEST_ROOT/$name.port" ] && break
    sleep 0.1
  done
  [ -s "$TEST_ROOT/$name.port" ] || { echo "receiver $name did not start" >&2; exit 1; }
  touch "$TEST_ROOT/$name.log"
}
port_of() { cat "$TEST_ROOT/$1.port"; }

# A port nothing listens on: chosen by the kernel, then closed.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# deliveries NAME: how many POSTs receiver NAME logged.
deliveries() { wc -l <"$TEST_ROOT/$1.log" | tr -d ' '; }

# expect_log NAME PYTHON: PYTHON is true of `r`, the list of logged POSTs
# (each with `b`, its body parsed as JSON).
expect_log() {
  if python3 - "$TEST_ROOT/$1.log" "$2" <<'PY'
import json, sys
r = [json.loads(line) for line in open(sys.argv[1])]
for x in r:
    x["b"] = json.loads(x["body"])
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
  then pass; else
    fail "receiver $1: $2"$'\n'"log: $(cat "$TEST_ROOT/$1.log")"$'\n'"stderr: $ERR"
  fi
}

# warnings: how many `envflow: warning:` lines the last command printed on stderr.
warnings() { grep -c '^envflow: warning: ' <<<"$ERR" || true; }

commit_dev() {
  echo "# $1" >>agents/support.yaml
  git add -A && git commit -q -m "$1"
}

export HOOK_A="a-secret-for-the-tests" HOOK_F="another secret, with spaces"
start_receiver A ok HOOK_A
start_receiver F flaky HOOK_F
start_receiver B ok HOOK_A
A=$(port_of A)
F=$(port_of F)
B=$(port_of B)

R=$(new_repo pipeline)
cd "$R"

# ---------------------------------------------------------------------------
test_case "a credential in a receiver URL is refused where it is written"
envflow config show >"$TEST_ROOT/bad.yaml"
printf 'events:\n  - url: "http://bot:pw@127.0.0.1:%s/hook"\n    secret_env: HOOK_A\n' "$A" \
  >>"$TEST_ROOT/bad.yaml"
LINE=$(($(grep -n '^events:' "$TEST_ROOT/bad.yaml" | cut -d: -f1) + 1))
CONFIG_BEFORE=$(ref_of "$R" refs/envflow/config)
run envflow config edit --file "$TEST_ROOT/bad.yaml"
expect_rc 1
expect_err "envflow.yaml:$LINE:10: error: events: the URL carries a user or password"
expect_eq "$(ref_of "$R" refs/envflow/config)" "$CONFIG_BEFORE" "config ref after a refusal"

test_case "receivers in the policy"
edit_config "t += '''
events:
  - url: http://127.0.0.1:$A/hook
    secret_env: HOOK_A
    on: [sync, publish]
  - url: http://127.0.0.1:$F/flaky
    secret_env: HOOK_F
    on: [sync]
  - url: http://127.0.0.1:$B/backports
    secret_env: HOOK_A
    on: [hotfix, backport-open, backport-close]
events_timeout: 10
'''
t = t.replace('release:\n  sign: true\n', 'release:\n  sign: false\n')"
expect_eq "$(deliveries A)" 0 "events for a config edit"

# ---------------------------------------------------------------------------
test_case "sync: a signed event to each receiver that takes it"
commit_dev "Tune support"
DEV=$(ref_of "$R" refs/heads/dev)
TEST_BEFORE=$(ref_of "$R" refs/heads/test)
run envflow sync dev
expect_rc 0
expect_eq "$(warnings)" 0 "warnings"
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV" "test after sync"
AUDIT=$(ref_of "$R" refs/envflow/audit)
expect_eq "$(deliveries A)" 1 "deliveries to A"
expect_log A "r[0]['valid'] and r[0]['event'] == 'sync' and r[0]['path'] == '/hook'"
expect_log A "r[0]['content_type'] == 'application/json' and r[0]['user_agent'].startswith('envflow/')"
expect_log A "len(r[0]['delivery']) == 36 and r[0]['b']['id'] != r[0]['delivery']"
expect_log A "r[0]['b']['type'] == 'sync' and r[0]['b']['environment'] == 'test' and r[0]['b']['actor'] == 'alice@example.com'"
expect_log A "r[0]['b']['commit'] == '$DEV' and r[0]['b']['audit_record'] == '$AUDIT' and r[0]['b']['repository'] == 'pipeline'"
expect_log A "r[0]['b']['refs'] == [{'ref': 'refs/heads/test', 'old': '$TEST_BEFORE', 'new': '$DEV'}]"
expect_log A "r[0]['b']['commits_total'] == 1 and r[0]['b']['commits'][0] == {'id': '$DEV', 'summary': 'Tune support'}"
expect_log A "r[0]['b']['release'] is None and r[0]['b']['backport'] is None and r[0]['b']['time'].endswith('Z')"

test_case "sync: a 503 is retried, with the same delivery id and body"
expect_eq "$(deliveries F)" 2 "POSTs to the flaky receiver"
expect_log F "all(x['valid'] for x in r) and r[0]['delivery'] == r[1]['delivery'] and r[0]['body'] == r[1]['body']"
expect_log F "r[0]['b']['type'] == 'sync' and r[0]['path'] == '/flaky'"

test_case "a refused command sends nothing"
run envflow --actor eve@example.com sync test
expect_rc 1
expect_eq "$(deliveries A)" 1 "deliveries to A after a refusal"
expect_eq "$(warnings)" 0 "warnings"

test_case "publish: the release event, only to the receiver that takes it"
for env in test uat staging; do
  run envflow sync "$env"
  expect_rc 0
done
expect_eq "$(deliveries A)" 4 "sync events to A"
F_BEFORE=$(deliveries F)
run envflow publish --no-sign
expect_rc 0
TAG=$(git tag --list 'v*')
expect_eq "$(deliveries A)" 5 "events to A after publish"
expect_eq "$(deliveries F)" "$F_BEFORE" "events to F (sync only) after publish"
expect_log A "r[4]['valid'] and r[4]['event'] == 'publish' and r[4]['b']['type'] == 'publish'"
expect_log A "r[4]['b']['release'] == '$TAG' and r[4]['b']['previous_release'] is None and r[4]['b']['environment'] == 'production'"
expect_log A "r[4]['b']['commit'] == '$(ref_of "$R" refs/heads/production)'"
expect_log A "'refs/envflow/live' in [m['ref'] for m in r[4]['b']['refs']]"
expect_log A "len(set(x['b']['id'] for x in r)) == 5"

test_case "hotfix finish: hotfix, then backport-open; backport apply: backport-close"
run envflow hotfix start tone
expect_rc 0
echo "# hotfix" >>agents/support.yaml
git add -A && git commit -q -m "Friendlier tone"
run envflow hotfix finish --no-sign -m "Friendlier tone"
expect_rc 0
HOTFIX_TAG=$(git tag --list 'v*' --sort=-v:refname | head -1)
expect_eq "$(deliveries B)" 2 "events to B after hotfix finish"
expect_log B "[x['event'] for x in r] == ['hotfix', 'backport-open'] and all(x['valid'] for x in r)"
expect_log B "r[0]['b']['release'] == '$HOTFIX_TAG' and r[0]['b']['previous_release'] == '$TAG' and r[0]['b']['backport'] is None"
expect_log B "r[0]['b']['commit'] == '$(ref_of "$R" refs/heads/production)' and r[0]['b']['commits'][-1]['summary'] == 'Friendlier tone'"
expect_log B "r[1]['b']['backport']['id'] == 1 and r[1]['b']['backport']['status'] == 'open' and r[1]['b']['backport']['hotfix_tag'] == '$HOTFIX_TAG'"
expect_log B "r[0]['b']['audit_record'] == r[1]['b']['audit_record'] and r[0]['b']['id'] != r[1]['b']['id']"
git checkout -q dev
run envflow backport apply 1
expect_rc 0
expect_eq "$(deliveries B)" 3 "events to B after backport apply"
expect_log B "r[2]['valid'] and r[2]['event'] == 'backport-close' and r[2]['b']['backport']['status'] == 'closed' and r[2]['b']['environment'] == 'dev'"
expect_log B "r[2]['b']['commit'] == '$(ref_of "$R" refs/heads/dev)'"

# ---------------------------------------------------------------------------
test_case "dead receivers do not fail a sync: one warning each, and it finishes"
start_receiver H hang
H=$(port_of H)
D=$(free_port)
edit_config "t = t.replace('events_timeout: 10\n', '') + '''  - url: http://127.0.0.1:$D/nobody
    secret_env: HOOK_A
  - url: http://127.0.0.1:$H/hangs
    secret_env: HOOK_A
events_timeout: 2
'''"
commit_dev "Another change"
DEV=$(ref_of "$R" refs/heads/dev)
A_BEFORE=$(deliveries A)
run envflow sync dev --format json
expect_rc 0
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV" "test after sync"
if python3 -c 'import json,sys; d = json.load(sys.stdin); sys.exit(0 if d["moved"] and d["to"] == sys.argv[1] else 1)' \
  "$DEV" <<<"$OUT"; then pass; else fail "stdout is not the sync's JSON: $OUT"; fi
expect_eq "$(warnings)" 2 "warning lines"
expect_eq "$(grep -c 'warning' <<<"$OUT" || true)" 0 "warnings on stdout"
expect_err "envflow: warning: event receiver http://127.0.0.1:$D/nobody: 1 of 1 event not delivered (sync):"
expect_err "envflow: warning: event receiver http://127.0.0.1:$H/hangs: 1 of 1 event not delivered (sync):"
expect_err "events_timeout (2 s) ran out"
expect_eq "$(deliveries A)" $((A_BEFORE + 1)) "the healthy receiver still got its event"
expect_log A "r[-1]['valid'] and r[-1]['b']['commit'] == '$DEV'"
expect_eq "$(git -C "$R" log --format=%B refs/envflow/audit | grep -c '^op: sync')" 5 "sync records"

test_case "text output: the same warnings, exit 0"
commit_dev "A third change"
run envflow sync dev
expect_rc 0
expect_out "synced"
expect_eq "$(warnings)" 2 "warning lines"

# ---------------------------------------------------------------------------
test_case "no secret in the environment: nothing sent unsigned"
edit_config "t = t.replace('''  - url: http://127.0.0.1:$D/nobody
    secret_env: HOOK_A
  - url: http://127.0.0.1:$H/hangs
    secret_env: HOOK_A
''', '')"
commit_dev "A fourth change"
A_BEFORE=$(deliveries A)
F_BEFORE=$(deliveries F)
SAVED_HOOK_A=$HOOK_A
unset HOOK_A
run envflow sync dev
export HOOK_A=$SAVED_HOOK_A
expect_rc 0
expect_err "envflow: warning: event receiver http://127.0.0.1:$A/hook: \$HOOK_A is not set, so 1 event was not sent (events are never sent unsigned)"
expect_eq "$(warnings)" 1 "warning lines"
expect_eq "$(deliveries A)" "$A_BEFORE" "deliveries to A without its secret"
expect_eq "$(deliveries F)" $((F_BEFORE + 1)) "deliveries to F"

# ---------------------------------------------------------------------------
test_case "--push: events for this run's records only, not for those fetched"
SRV="$TEST_ROOT/origin.git"
"$ENVFLOW" init --bare "$SRV" >/dev/null
"$ENVFLOW" -C "$SRV" config show >"$TEST_ROOT/srv.yaml"
printf 'events:\n  - url: http://127.0.0.1:%s/hook\n    secret_env: HOOK_A\n    on: [sync]\n' "$A" \
  >>"$TEST_ROOT/srv.yaml"
printf '  - url: http://127.0.0.1:%s/server\n    secret_env: HOOK_A\n    on: [backport-open]\n' "$B" \
  >>"$TEST_ROOT/srv.yaml"
sed -i 's/^  hotfixers: .*/  hotfixers: ["alice@example.com"]/' "$TEST_ROOT/srv.yaml"
run envflow -C "$SRV" config edit --file "$TEST_ROOT/srv.yaml"
expect_rc 0
"$ENVFLOW" install-hooks --server "$SRV" >/dev/null
C="$TEST_ROOT/clone"
git clone -q "file://$SRV" "$C"
(cd "$C" && envflow setup >/dev/null)
git -C "$C" checkout -q dev
echo "# from the clone" >>"$C/agents/support.yaml"
git -C "$C" commit -q -am "From the clone"
export REMOTE_USER=alice@example.com # who pushes, as the server's hook reads it
git -C "$C" push -q origin dev
run envflow -C "$SRV" sync dev # someone else's promotion, on the server
expect_rc 0
A_BEFORE=$(deliveries A)
run envflow -C "$C" sync test --push
expect_rc 0
expect_eq "$(warnings)" 0 "warnings"
expect_eq "$(ref_of "$SRV" refs/heads/uat)" "$(ref_of "$SRV" refs/heads/test)" "origin's uat after the push"
expect_eq "$(deliveries A)" $((A_BEFORE + 1)) "events sent by the pushing clone"
expect_log A "r[-1]['valid'] and r[-1]['b']['environment'] == 'uat' and r[-1]['b']['audit_record'] == '$(ref_of "$SRV" refs/envflow/audit)'"

test_case "a hotfix pushed with plain git: the server's post-receive announces the back-port it opens"
B_BEFORE=$(deliveries B)
git -C "$C" checkout -q -b hotfix/by-hand origin/production
echo "# fixed by hand" >>"$C/agents/support.yaml"
git -C "$C" commit -q -am "Fixed by hand"
run git -C "$C" push origin hotfix/by-hand:production
expect_rc 0
expect_err "back-port issue 1 opened"
expect_eq "$(deliveries B)" $((B_BEFORE + 1)) "events from the server's hook"
expect_log B "r[-1]['valid'] and r[-1]['event'] == 'backport-open' and r[-1]['b']['backport']['status'] == 'open' and r[-1]['b']['audit_record'] == '$(ref_of "$SRV" refs/envflow/audit)'"
expect_eq "$(deliveries A)" $((A_BEFORE + 1)) "no event for receivers not asking for it"

finish
