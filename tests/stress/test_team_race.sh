#!/usr/bin/env bash
# Stress: unrelated operations never collide (issue 13). Every round, five
# people in five clones do five unrelated things at the same instant over a
# smart-HTTP server with envflow's hooks: a plain `git push` to dev, a
# variable override on test, a hold set or released on production, a sync of
# dev into test, an approval for production. Every operation must succeed
# without a retry, and the server's trail must hold exactly one record per
# operation that moved something. TEAM_ROUNDS (default 15; the issue's run:
# TEAM_ROUNDS=50) sets the rounds.
. "$(dirname "$0")/../e2e/lib.sh"

ROUNDS=${TEAM_ROUNDS:-15}

policy_yaml -D -g developers=alice -g qa=quinn -g release-managers=bob,rita -g operators=olga \
  -g publishers=paul -g hotfixers=paul -g admins=adam -i REMOTE_USER \
  dev test:0:release-managers production:1:qa >"$TEST_ROOT/policy.yaml"
team_server "$TEST_ROOT/policy.yaml" alice quinn bob rita olga

team_clones alice quinn bob rita olga
records() { git -C "$SRV" rev-list --count refs/envflow/audit; }
E=$(printf '%q' "$ENVFLOW")
OUTS="$TEST_ROOT/outs"

test_case "$ROUNDS rounds of five unrelated operations at once"
failures=0
for round in $(seq 1 "$ROUNDS"); do
  sed -i "s/^description: .*/description: round $round/" "$TEST_ROOT/alice/agents/support.yaml"
  git -C "$TEST_ROOT/alice" commit -q -am "round $round"
  if ((round % 2)); then
    hold="$E -C $TEST_ROOT/bob hold set production --reason 'round $round' --push"
  else
    hold="$E -C $TEST_ROOT/bob hold release production --reason 'round $round' --push"
  fi
  before=$(records)
  race_run "$OUTS" \
    "git -C $TEST_ROOT/alice push -q origin dev" \
    "$E -C $TEST_ROOT/olga var set --env test max_turns $round --push" \
    "$hold" \
    "$E -C $TEST_ROOT/rita sync dev --push" \
    "$E -C $TEST_ROOT/quinn approve production --push"
  moved=0
  for i in 0 1 2 3 4; do
    if [ "$(cat "$OUTS/$i.rc")" != 0 ]; then
      failures=$((failures + 1))
      fail "round $round, operation $i failed: $(cat "$OUTS/$i.err")"
    fi
  done
  # An approval of a commit approved already, and a sync with nothing new, move nothing.
  after=$(records)
  if ((after - before < 3 || after - before > 5)); then
    fail "round $round: $((after - before)) records for five operations"
  fi
done
((failures == 0)) && pass

test_case "exactly one record per move on the server's trail"
dupes=$(git -C "$SRV" log --format=%B refs/envflow/audit | grep '^move: ' | sort | uniq -d)
expect_eq "$dupes" "" "moves recorded twice"
run git -C "$SRV" fsck --no-progress
expect_rc 0
run "$ENVFLOW" -C "$SRV" doctor
expect_rc 0

finish
