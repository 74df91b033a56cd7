#!/usr/bin/env bash
# End-to-end: a team on one smart-HTTP server (issue 13). lighttpd on
# 127.0.0.1 runs `git http-backend` behind basic auth with envflow's hooks;
# alice (author), quinn (QA, approves production), bob (release manager) and
# adam (admin) each work in their own clone; a CI job uses a depth-1,
# single-branch checkout. Every result is checked with plain git on the
# server and in the *other* clones.
. "$(dirname "$0")/lib.sh"

policy_yaml -g developers=alice -g qa=quinn -g release-managers=bob -g operators=bob -g publishers=bob \
  -g hotfixers=bob -g admins=adam -x "people:" -x "  bob: [bob, bob@example.com]" -i REMOTE_USER \
  dev test:0:release-managers production:1:qa >"$TEST_ROOT/policy.yaml"
team_server "$TEST_ROOT/policy.yaml" alice bob quinn adam
# Records on the server's trail.
records() { git -C "$SRV" rev-list --count refs/envflow/audit; }
last_record() { git -C "$SRV" log -1 --format=%B refs/envflow/audit; }
# A clone's own refs: everything but what a fetch maintains.
own_refs() {
  git -C "$1" for-each-ref --format='%(refname) %(objectname)' |
    grep -v -e '^refs/remotes/' -e '^refs/envflow-remote/' || true
}

A="$TEST_ROOT/alice"
B="$TEST_ROOT/bob"
Q="$TEST_ROOT/quinn"
team_clones alice bob quinn
# bob acts as his email; the policy's people: maps it to bob.
git -C "$B" config --unset envflow.actor

# ---------------------------------------------------------------------------
test_case "setup: a forced refspec into a tracking namespace, envflow.remote set"
expect_eq "$(git -C "$A" config --get-all remote.origin.fetch | grep -c envflow-remote)" 1 "tracking refspec"
expect_eq "$(git -C "$A" config envflow.remote)" "origin" "envflow.remote"
expect_eq "$(git -C "$A" for-each-ref refs/envflow/ | wc -l)" 0 "no local copies of envflow refs"

test_case "alice pushes to dev with plain git: one record, by the authenticated user"
N=$(records)
sed -i 's/^description: .*/description: concise/' "$A/agents/support.yaml"
git -C "$A" commit -q -am "Support agent: concise"
V1=$(ref_of "$A" HEAD)
run git -C "$A" push origin dev
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$V1" "server dev"
expect_eq "$(records)" "$((N + 1))" "one record"
expect_eq "$(last_record | grep '^actor:')" "actor: alice" "the record's actor"

test_case "invalid content under an empty commit is refused"
BEFORE=$(server_refs)
printf 'name: broken\n  bad: [\n' >"$A/agents/broken.yaml"
git -C "$A" add agents/broken.yaml
git -C "$A" commit -q --no-verify -m "broken agent"
git -C "$A" commit -q --no-verify --allow-empty -m "nothing to see"
run git -C "$A" push origin dev
expect_rc 1
expect_err "agents/broken.yaml"
expect_eq "$(server_refs)" "$BEFORE" "server refs"
git -C "$A" reset -q --hard "$V1"

test_case "nobody pushes the audit trail, a hold or an approval for someone else"
BEFORE=$(server_refs)
FAKE=$(git -C "$A" commit-tree -m "op: hold-release" "$(git -C "$A" hash-object -t tree /dev/null)")
run git -C "$A" push origin "$FAKE:refs/envflow/audit"
expect_rc 1
run git -C "$A" push origin "$V1:refs/envflow/approvals/production/$V1/quinn"
expect_rc 1
expect_err "quinn"
expect_eq "$(server_refs)" "$BEFORE" "server refs"

test_case "bob promotes dev to test with --push; quinn's clone sees it without a hand fetch"
run "$ENVFLOW" -C "$B" sync dev --push
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$V1" "server test"
expect_eq "$(last_record | grep '^op:')" "op: sync" "the record"
expect_eq "$(last_record | grep '^actor:')" "actor: bob" "bob's email mapped to bob"
run "$ENVFLOW" -C "$Q" status --format json
expect_rc 0
expect_eq "$(echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([e["head"] for e in d["environments"] if e["name"]=="test"][0])')" \
  "$V1" "quinn's status reads the server"

test_case "promotion to production waits for quinn's approval; bob's own does not count"
run "$ENVFLOW" -C "$B" sync test --push
expect_rc 1
expect_err "approval"
run "$ENVFLOW" -C "$Q" approve production --push
expect_rc 0
expect_eq "$(git -C "$SRV" rev-parse -q --verify "refs/envflow/approvals/production/$V1/quinn")" "$V1" "approval ref on the server"
run "$ENVFLOW" -C "$B" sync test --push
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$V1" "server production"

test_case "publish, publish again, roll back: git fetch and git pull still work in every clone"
run "$ENVFLOW" -C "$B" publish --no-sign --push
expect_rc 0
expect_eq "$(git -C "$SRV" describe --tags refs/envflow/live)" "v1.0.0" "live"
sed -i 's/^description: .*/description: second/' "$A/agents/support.yaml"
git -C "$A" commit -q -am "Support agent: second"
git -C "$A" push -q origin dev
V2=$(ref_of "$A" HEAD)
"$ENVFLOW" -C "$B" sync dev --push >/dev/null
"$ENVFLOW" -C "$Q" approve production --push >/dev/null
"$ENVFLOW" -C "$B" sync test --push >/dev/null
run "$ENVFLOW" -C "$B" publish --no-sign --push
expect_rc 0
run "$ENVFLOW" -C "$B" rollback v1.0.0 --push
expect_rc 0
expect_eq "$(git -C "$SRV" rev-parse refs/envflow/live^{})" "$V1" "live back at v1"
expect_eq "$(git -C "$SRV" for-each-ref refs/envflow/holds/production | wc -l)" 1 "rollback holds production"
for dir in "$A" "$Q" "$B"; do
  run git -C "$dir" fetch
  expect_rc 0
  run git -C "$dir" pull -q
  expect_rc 0
done

test_case "render of production is what end users get: the live release"
run "$ENVFLOW" -C "$Q" render production
expect_rc 0
expect_out "\"commit\": \"$V1\""

test_case "unrelated operations at the same time all succeed"
N=$(records)
sed -i 's/^description: .*/description: third/' "$A/agents/support.yaml"
git -C "$A" commit -q -am "Support agent: third"
# Wait for these jobs only: a bare `wait` would also wait for the web server.
(git -C "$A" push -q origin dev >"$TEST_ROOT/op1" 2>&1 && echo 0 >"$TEST_ROOT/rc1" || echo $? >"$TEST_ROOT/rc1") &
JOBS=($!)
("$ENVFLOW" -C "$B" var set --env test max_turns 7 --push >"$TEST_ROOT/op2" 2>&1 && echo 0 >"$TEST_ROOT/rc2" || echo $? >"$TEST_ROOT/rc2") &
JOBS+=($!)
("$ENVFLOW" -C "$B" hold set test --reason "freeze for the demo" --push >"$TEST_ROOT/op3" 2>&1 && echo 0 >"$TEST_ROOT/rc3" || echo $? >"$TEST_ROOT/rc3") &
JOBS+=($!)
wait "${JOBS[@]}"
for i in 1 2 3; do
  expect_eq "$(cat "$TEST_ROOT/rc$i")" 0 "operation $i ($(tr '\n' ' ' <"$TEST_ROOT/op$i"))"
done
expect_eq "$(records)" "$((N + 3))" "exactly one record per operation"

test_case "the same thing twice at once: exactly one wins, the other is told"
git clone -q "$(url bob)" "$TEST_ROOT/bob2"
git -C "$TEST_ROOT/bob2" config envflow.actor bob
(cd "$TEST_ROOT/bob2" && "$ENVFLOW" setup >/dev/null)
"$ENVFLOW" -C "$B" hold release test --reason "demo over" --push >/dev/null
("$ENVFLOW" -C "$B" sync dev --push >"$TEST_ROOT/s1" 2>&1 && echo 0 >"$TEST_ROOT/src1" || echo $? >"$TEST_ROOT/src1") &
JOBS=($!)
("$ENVFLOW" -C "$TEST_ROOT/bob2" sync dev --push >"$TEST_ROOT/s2" 2>&1 && echo 0 >"$TEST_ROOT/src2" || echo $? >"$TEST_ROOT/src2") &
JOBS+=($!)
wait "${JOBS[@]}"
R1=$(cat "$TEST_ROOT/src1")
R2=$(cat "$TEST_ROOT/src2")
if { [ "$R1" = 0 ] && [ "$R2" != 0 ]; } || { [ "$R1" != 0 ] && [ "$R2" = 0 ]; } ||
   { [ "$R1" = 0 ] && [ "$R2" = 0 ] && grep -q "already" "$TEST_ROOT/s1" "$TEST_ROOT/s2"; }; then
  pass
else
  fail "expected one winner: rc $R1 and $R2: $(cat "$TEST_ROOT/s1" "$TEST_ROOT/s2")"
fi
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/heads/test .* $(ref_of "$SRV" refs/heads/dev)$")" 1 \
  "one record of the test move"

test_case "offline work goes up with envflow push"
N=$(records)
run "$ENVFLOW" -C "$B" var set --env production max_turns 9
expect_rc 0
run "$ENVFLOW" -C "$B" var set --env production support_email help@example.com
expect_rc 0
expect_eq "$(records)" "$N" "nothing on the server yet"
run "$ENVFLOW" -C "$B" push --list
expect_rc 0
expect_out "var-set"
run "$ENVFLOW" -C "$B" push
expect_rc 0
expect_eq "$(records)" "$((N + 2))" "two records on the server"
expect_eq "$(git -C "$SRV" show refs/envflow/local/production:overrides.yaml | grep -c -e max_turns -e support_email)" 2 \
  "both overrides on the server"
expect_eq "$(git -C "$B" for-each-ref refs/envflow/ | wc -l)" 0 "no pending state left in the clone"
run git -C "$B" fetch
expect_rc 0

test_case "read-only commands write no ref and move nothing on the server"
BEFORE=$(server_refs)
MINE=$(own_refs "$Q")
for cmd in "status" "diff test production" "backport list" "log" "releases" "doctor"; do
  # shellcheck disable=SC2086
  "$ENVFLOW" -C "$Q" $cmd >/dev/null 2>&1 || true
done
expect_eq "$(server_refs)" "$BEFORE" "server refs"
expect_eq "$(own_refs "$Q")" "$MINE" "quinn's own refs"

test_case "a depth-1, single-branch CI checkout reads the pipeline"
git clone -q --depth 1 --single-branch --branch dev "$(url bob)" "$TEST_ROOT/ci"
run env ENVFLOW_ACTOR=bob "$ENVFLOW" -C "$TEST_ROOT/ci" status
expect_rc 0
expect_out "production"
expect_err "shallow"

test_case "doctor is clean on the server"
run "$ENVFLOW" -C "$SRV" doctor
expect_rc 0

finish
