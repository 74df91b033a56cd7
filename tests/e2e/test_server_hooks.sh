#!/usr/bin/env bash
# End-to-end: the server hooks (issue 5) behind a real `git push` over
# file://. A bare repository made by `envflow init --bare`, with the policy
# below and `envflow install-hooks --server`; every rule accepted and refused
# at least once, mostly through plain `git push` of hand-made refs (as someone
# getting round envflow would), the reason shown as "remote: envflow: ...",
# refs unchanged after every refusal, exactly one audit record per accepted
# push, written by the server itself (a client never pushes the trail), two
# racing pushes of which one wins whole, and `git fsck` clean. The pusher's
# identity comes from REMOTE_USER in git's environment, which receive-pack
# (and so the hook) inherits over file:// as it would from a web server.
. "$(dirname "$0")/lib.sh"

SRV="$TEST_ROOT/server.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare "$SRV" >/dev/null

# The policy: one person per role (lib.sh).
policy() { role_policy "$1" "$2"; } # policy REQUIRED SIGN
policy false false >"$TEST_ROOT/policy.yaml"
ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null

expect_unchanged() { expect_eq "$(server_refs)" "$1" "server refs after a refusal"; }
expect_fsck_clean() {
  local out
  if out=$(git -C "$SRV" fsck --strict --no-progress 2>&1); then pass; else
    fail "git fsck --strict: $out"
  fi
  if ls -d "$SRV"/objects/tmp_objdir-* >/dev/null 2>&1; then
    fail "a quarantine folder was left behind"
  else pass; fi
}
# records_of REF OLD NEW: how many audit records on the server record that move.
records_of() {
  git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: $1 $2 $3\$" || true
}
# newest_record: the server's newest audit record.
newest_record() { git -C "$SRV" log -1 --format=%B refs/envflow/audit; }

# push_as USER ARGS...: `git push ARGS` from the working clone as USER.
push_as() {
  local user=$1
  shift
  run env REMOTE_USER="$user" ENVFLOW_ACTOR="$user" git -C "$W" push "$@"
}
# as USER CMD...: run an envflow command in the working clone as USER.
as() {
  local user=$1
  shift
  run env ENVFLOW_ACTOR="$user" envflow -C "$W" "$@"
}
# srv_view REF: where the clone reads the server's refs/envflow/REF
# (envflow setup's fetch refspec puts the server's view there).
srv_view() { echo "refs/envflow-remote/origin/envflow/$1"; }
# refresh: bring the clone's view and branches to the server's state.
refresh() {
  git -C "$W" fetch -q origin
  git -C "$W" checkout -q dev
  git -C "$W" reset -q --hard origin/dev
  local b
  for b in test uat staging production; do git -C "$W" branch -q -f "$b" "origin/$b"; done
}
# config_commit FILE: a commit on top of the server's refs/envflow/config
# whose envflow.yaml is FILE (other files kept), made with plain git in the clone.
config_commit() {
  local blob tree
  blob=$(git -C "$W" hash-object -w "$1")
  tree=$( (git -C "$W" ls-tree "$(srv_view config)" | grep -v "	envflow.yaml$" || true
    printf '100644 blob %s\tenvflow.yaml\n' "$blob") | git -C "$W" mktree)
  git -C "$W" commit-tree -p "$(srv_view config)" -m "policy: $(basename "$1")" "$tree"
}
# push_config USER FILE: USER pushes FILE as the policy, by hand.
push_config() {
  local commit
  commit=$(config_commit "$2")
  push_as "$1" origin "$commit:refs/envflow/config"
}
# new_description TEXT: a valid commit on the checked-out branch (the support
# agent's description becomes TEXT).
new_description() {
  sed -i "s/^description: .*/description: $1/" "$W/agents/support.yaml"
  git -C "$W" commit -q -am "Support agent: $1"
}

# ---------------------------------------------------------------------------
test_case "install-hooks --server: installs, chains a foreign hook, idempotent"
cat >"$SRV/hooks/pre-receive" <<EOF
#!/bin/sh
cat >>"$TEST_ROOT/foreign-input"
EOF
chmod +x "$SRV/hooks/pre-receive"
run envflow install-hooks --server "$SRV"
expect_rc 0
expect_out "pre-receive"
expect_out "post-receive"
if [ -x "$SRV/hooks/pre-receive.envflow-chained" ] &&
  grep -q "envflow hook pre-receive" "$SRV/hooks/pre-receive" &&
  grep -q "envflow hook post-receive" "$SRV/hooks/post-receive"; then pass; else
  fail "hooks not installed with the foreign one chained"
fi
cp "$SRV/hooks/pre-receive" "$TEST_ROOT/pre-receive.first"
run envflow install-hooks --server "$SRV"
expect_rc 0
if cmp -s "$SRV/hooks/pre-receive" "$TEST_ROOT/pre-receive.first" &&
  grep -q 'foreign-input' "$SRV/hooks/pre-receive.envflow-chained" &&
  [ ! -e "$SRV/hooks/pre-receive.envflow-chained.envflow-chained" ]; then pass; else
  fail "second install changed something"
fi

W="$TEST_ROOT/work"
git clone -q "file://$SRV" "$W"
(cd "$W" && envflow setup >/dev/null)
refresh

# ---------------------------------------------------------------------------
test_case "dev: a developer's valid push is accepted and audited"
OLD=$(ref_of "$SRV" refs/heads/dev)
new_description concise
NEW=$(ref_of "$W" HEAD)
push_as alice origin dev
expect_rc 0
expect_err "remote: envflow: dev: 1 commit validated, ${OLD:0:7}..${NEW:0:7}"
expect_err "remote: envflow: audit: push recorded for alice (REMOTE_USER)"
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$NEW" "server dev"
expect_eq "$(records_of refs/heads/dev "$OLD" "$NEW")" 1 "records of the dev push"
expect_eq "$(newest_record | grep -E '^(op|actor|note):' | tr '\n' ' ')" \
  "op: push actor: alice note: push to dev (pusher from REMOTE_USER) " \
  "the record's op, actor and how the server knew the pusher"
# The record is the server's own: the clone pushed only dev.
expect_eq "$(git -C "$SRV" log -1 --format='%an' refs/envflow/audit)" "alice" "the record's author"
if grep -q " $NEW refs/heads/dev" "$TEST_ROOT/foreign-input" 2>/dev/null; then pass; else
  fail "the chained foreign hook did not get the ref lines"
fi

test_case "dev: someone outside the write groups is refused"
BEFORE=$(server_refs)
new_description curt
push_as bob origin dev
expect_rc 1
expect_err "remote: envflow: push rejected, nothing was changed"
expect_err "remote: envflow: refs/heads/dev: bob (REMOTE_USER) may not push to dev (write groups: developers)"
expect_unchanged "$BEFORE"
refresh

test_case "dev: invalid content is refused, naming the file"
printf 'kind: Agent\nname: somebody-else\n' >"$W/agents/broken.yaml"
git -C "$W" add agents/broken.yaml
git -C "$W" commit -q --no-verify -m "A broken agent"
push_as alice origin dev
expect_rc 1
expect_err "remote: envflow: refs/heads/dev: the content of $(git -C "$W" rev-parse --short=7 HEAD) (A broken agent) does not validate"
expect_err "remote: envflow:   agents/broken.yaml:"
expect_err "[name-mismatch]"
expect_unchanged "$BEFORE"
refresh

test_case "dev: removing an agent that an unchanged workflow calls is refused"
git -C "$W" rm -q agents/triage.yaml
git -C "$W" commit -q --no-verify -m "Drop triage"
push_as alice origin dev
expect_rc 1
expect_err "workflows/support-request.yaml"
expect_err "[ref-agent]"
expect_unchanged "$BEFORE"
refresh

test_case "dev: a force-push is refused"
git -C "$W" reset -q --hard HEAD~1
new_description rewritten
push_as alice --force origin dev
expect_rc 1
expect_err "remote: envflow: refs/heads/dev: not a fast-forward"
expect_unchanged "$BEFORE"
refresh

# ---------------------------------------------------------------------------
test_case "promotion: a release manager's sync --push, recorded once, by the server"
DEV=$(ref_of "$SRV" refs/heads/dev)
OLD=$(ref_of "$SRV" refs/heads/test)
run env REMOTE_USER=bob ENVFLOW_ACTOR=bob envflow -C "$W" sync dev --push
expect_rc 0
expect_err "remote: envflow: test: promotion from dev"
expect_err "remote: envflow: audit: sync recorded for bob (REMOTE_USER)"
expect_out "refs/heads/test"
expect_no_out "refs/envflow/audit"
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$DEV" "server test"
expect_eq "$(records_of refs/heads/test "$OLD" "$DEV")" 1 "records of the promotion"
expect_eq "$(newest_record | grep -E '^(op|actor|note):' | tr '\n' ' ')" \
  "op: sync actor: bob note: dev -> test (pusher from REMOTE_USER) " "the promotion's record"
expect_eq "$(git -C "$W" rev-parse -q --verify refs/envflow/audit || echo none)" none \
  "the clone holds no trail of its own"
refresh

test_case "promotion: a developer may not promote"
new_description brisk
push_as alice origin dev
expect_rc 0
DEV=$(ref_of "$SRV" refs/heads/dev)
BEFORE=$(server_refs)
push_as alice origin dev:test
expect_rc 1
expect_err "remote: envflow: refs/heads/test: alice (REMOTE_USER) may not promote into test"
expect_unchanged "$BEFORE"

test_case "promotion: only to a commit the previous environment contains"
git -C "$W" checkout -q -b side origin/test
new_description sideways
push_as bob origin side:test
expect_rc 1
expect_err "is not contained in dev (after this change): test moves only by promotion from dev"
expect_unchanged "$BEFORE"
git -C "$W" checkout -q dev

test_case "promotion: deleting an environment branch is refused"
push_as bob origin :test
expect_rc 1
expect_err "remote: envflow: refs/heads/test: deleting the branch of environment test is not allowed"
expect_unchanged "$BEFORE"

test_case "promotion: one atomic push promotes several steps, one record"
refresh
OLD=$(ref_of "$SRV" refs/heads/uat)
push_as bob --atomic -o envflow.reason="ticket 12" origin dev:test dev:uat dev:staging
expect_rc 0
expect_err "remote: envflow: uat: promotion from test"
expect_err "remote: envflow: staging: promotion from uat"
for b in test uat staging; do
  expect_eq "$(ref_of "$SRV" "refs/heads/$b")" "$DEV" "server $b"
done
expect_eq "$(records_of refs/heads/staging "$OLD" "$DEV")" 1 "records of the staging step"
expect_eq "$(newest_record | grep -c '^move: ')" 3 "one record holds the three moves"
expect_eq "$(newest_record | grep '^note:')" \
  "note: dev -> test -> uat -> staging (ticket 12) (pusher from REMOTE_USER)" \
  "the steps in the record, with the reason given as a push option"
refresh

test_case "approvals: production needs another release manager's approval"
BEFORE=$(server_refs)
push_as bob origin staging:production
expect_rc 1
expect_err "into production needs 1 approval from release-managers (not counting bob); it has 0 approvals of 1 needed"
expect_unchanged "$BEFORE"
# An approval is a ref of its own, pointing at the commit it names: carol
# makes it with plain git.
APPROVAL="refs/envflow/approvals/production/$DEV/carol"
push_as carol origin "$DEV:$APPROVAL"
expect_rc 0
expect_err "remote: envflow: carol approves ${DEV:0:7} for production"
expect_eq "$(newest_record | grep -E '^(op|env|actor|commit):' | tr '\n' ' ')" \
  "op: approve env: production actor: carol commit: $DEV " "the approval's record"
refresh
OLD=$(ref_of "$SRV" refs/heads/production)
push_as bob origin staging:production
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$DEV" "server production"
expect_eq "$(records_of refs/heads/production "$OLD" "$DEV")" 1 "records of the promotion"
expect_eq "$(newest_record | grep '^approval:')" "approval: carol" "the approval the promotion counted"
refresh

test_case "approvals: an approval in someone else's name (forged) is refused"
BEFORE=$(server_refs)
push_as bob origin "$DEV:refs/envflow/approvals/test/$DEV/carol"
expect_rc 1
expect_err "an approval is given by its author only: refs/envflow/approvals/test/$DEV/carol names carol, and bob (REMOTE_USER) is bob"
# Withdrawing carol's approval is hers (or an admin's) to do.
push_as bob origin ":$APPROVAL"
expect_rc 1
expect_err "bob (REMOTE_USER) may not withdraw carol's approval"
# An approval never moves to another commit.
push_as carol origin "+$(ref_of "$SRV" refs/heads/dev)~1:$APPROVAL"
expect_rc 1
expect_err "an approval never moves"
expect_unchanged "$BEFORE"

test_case "audit: the trail is the server's: no push may write, rewind or delete it"
# A record made by hand on top of the server's trail, even by an admin.
printf 'envflow approve test\n\nop: approve\nenv: test\nactor: carol\ntime: 2026-01-01T00:00:00Z\ntool: envflow 0.1.0\n' \
  >"$TEST_ROOT/record.msg"
FORGED=$(git -C "$W" commit-tree -p "$(srv_view audit)" -F "$TEST_ROOT/record.msg" \
  4b825dc642cb6eb9a060e54bf8d69288fbee4904)
push_as adam origin "$FORGED:refs/envflow/audit"
expect_rc 1
expect_err "remote: envflow: refs/envflow/audit: refs/envflow/audit is written by the server itself"
push_as adam origin "+$(srv_view audit)~1:refs/envflow/audit"
expect_rc 1
expect_err "remote: envflow: refs/envflow/audit: refs/envflow/audit is written by the server itself"
push_as adam origin :refs/envflow/audit
expect_rc 1
expect_err "remote: envflow: refs/envflow/audit: refs/envflow/audit is written by the server itself"
# Nor does a clone's journal of offline operations go to the server.
push_as adam origin "$FORGED:refs/envflow/pending"
expect_rc 1
expect_err "remote: envflow: refs/envflow/pending: refs/envflow/pending is a clone's list of operations made offline"
expect_unchanged "$BEFORE"

# ---------------------------------------------------------------------------
test_case "hotfix: by a hotfixer accepted, by anyone else refused"
git -C "$W" checkout -q -b hotfix/tone origin/production
new_description apologetic
HOT=$(ref_of "$W" HEAD)
push_as bob origin hotfix/tone:production
expect_rc 1
expect_err "or by a hotfix from a hotfixer (hotfixers), and bob (REMOTE_USER) is not one"
expect_unchanged "$BEFORE"
push_as hank origin hotfix/tone:production
expect_rc 0
expect_err "remote: envflow: production: hotfix of 1 commit by hank"
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$HOT" "server production after the hotfix"
expect_eq "$(git -C "$SRV" log -1 --skip=1 --format=%B refs/envflow/audit | grep '^note:')" \
  "note: hotfix on production (pusher from REMOTE_USER)" "the hotfix record"
# A hotfix pushed by hand is tracked like one from `envflow hotfix finish`.
expect_eq "$(newest_record | grep '^op:')" "op: backport-open" "the back-port record"
expect_err "remote: envflow: back-port issue 1 opened for the hotfix pushed to production: envflow backport apply 1 brings it into dev"
run git -C "$SRV" show refs/envflow/backports:1.yaml
expect_rc 0
expect_out "$HOT"
expect_out 'status: open'
git -C "$W" checkout -q dev
refresh

# ---------------------------------------------------------------------------
test_case "release tags: a publisher's annotated release of production"
# Made offline: the tag and live are kept in the clone until envflow push.
as paul --offline publish --no-sign
expect_rc 0
expect_out "kept in this clone"
TAG=$(git -C "$W" tag -l 'v*' | tail -1)
expect_eq "$TAG" "v1.0.0" "first release"
BEFORE=$(server_refs)
# Someone else pushes the very same tag and live by hand.
push_as alice --atomic origin "refs/tags/$TAG" refs/envflow/live
expect_rc 1
expect_err "alice (REMOTE_USER) may not create release tags"
expect_err "alice (REMOTE_USER) may not move refs/envflow/live"
expect_unchanged "$BEFORE"
run env REMOTE_USER=paul ENVFLOW_ACTOR=paul envflow -C "$W" push
expect_rc 0
expect_err "remote: envflow: release v1.0.0"
expect_eq "$(ref_of "$SRV" refs/envflow/live)" "$HOT" "live after publish"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c '^move: refs/tags/v1.0.0 ')" 1 \
  "records of the tag"
expect_eq "$(newest_record | grep -E '^(op|actor):' | tr '\n' ' ')" "op: publish actor: paul " \
  "the release's record"
refresh

test_case "release tags: lightweight, moved, deleted, or off production: refused"
BEFORE=$(server_refs)
git -C "$W" tag v9.0.0 origin/production
push_as paul origin refs/tags/v9.0.0
expect_rc 1
expect_err "v9.0.0 is a lightweight tag"
git -C "$W" tag -a -f -m "Moved" v1.0.0 origin/production
push_as paul --force origin refs/tags/v1.0.0
expect_rc 1
expect_err "release tags are never moved"
push_as paul origin :refs/tags/v1.0.0
expect_rc 1
expect_err "release tags are never deleted"
OFF=$(git -C "$W" commit-tree -p origin/dev -m "Not on production" "origin/dev^{tree}")
git -C "$W" tag -a -m "Not from production" v2.0.0 "$OFF"
push_as paul origin refs/tags/v2.0.0
expect_rc 1
expect_err "which is not a commit of production"
push_as paul origin +origin/dev:refs/envflow/live
expect_rc 1
expect_err "refs/envflow/live must point at a release tag object"
expect_unchanged "$BEFORE"
git -C "$W" tag -d v9.0.0 v2.0.0 >/dev/null
git -C "$W" fetch -q --force origin 'refs/tags/*:refs/tags/*'

# ---------------------------------------------------------------------------
test_case "local data: an operator's override accepted; wrong type, wrong person refused"
run env REMOTE_USER=olga ENVFLOW_ACTOR=olga envflow -C "$W" var set --env test max_turns 5 --push
expect_rc 0
expect_err "remote: envflow: test: local data"
expect_eq "$(newest_record | grep -E '^(op|actor|note):' | tr '\n' ' ')" \
  "op: var-set actor: olga note: max_turns=5 (pusher from REMOTE_USER) " "the override's record"
refresh
BEFORE=$(server_refs)
# local_commit TEXT: a commit on the local ref holding overrides.yaml = TEXT.
local_commit() {
  local blob tree
  blob=$(printf '%s' "$1" | git -C "$W" hash-object -w --stdin)
  tree=$(printf '100644 blob %s\toverrides.yaml\n' "$blob" | git -C "$W" mktree)
  git -C "$W" commit-tree -p "$(srv_view local/test)" -m "overrides" "$tree"
}
BAD=$(local_commit $'variables:\n  max_turns: lots\n')
push_as olga origin "$BAD:refs/envflow/local/test"
expect_rc 1
expect_err "max_turns: value \"lots\""
GOOD=$(local_commit $'variables:\n  max_turns: 6\n')
push_as alice origin "$GOOD:refs/envflow/local/test"
expect_rc 1
expect_err "alice (REMOTE_USER) may not change the local data of test (local groups: operators)"
expect_unchanged "$BEFORE"

# ---------------------------------------------------------------------------
test_case "config: admins only, and validated"
sed 's/approvals: 1/approvals: 0/' "$TEST_ROOT/policy.yaml" >"$TEST_ROOT/policy2.yaml"
push_config alice "$TEST_ROOT/policy2.yaml"
expect_rc 1
expect_err "alice (REMOTE_USER) may not change the pipeline config (admins: admins)"
expect_unchanged "$BEFORE"
push_config adam "$TEST_ROOT/policy2.yaml"
expect_rc 0
expect_err "remote: envflow: config"
expect_eq "$(newest_record | grep -E '^(op|actor):' | tr '\n' ' ')" "op: config actor: adam " \
  "the config's record"
refresh
BEFORE=$(server_refs)
blob=$(printf 'environments: 12\n' | git -C "$W" hash-object -w --stdin)
tree=$(printf '100644 blob %s\tenvflow.yaml\n' "$blob" | git -C "$W" mktree)
CFG=$(git -C "$W" commit-tree -p "$(srv_view config)" -m "broken" "$tree")
push_as adam origin "$CFG:refs/envflow/config"
expect_rc 1
expect_err "remote: envflow: refs/envflow/config: the config is invalid"
expect_err "at environments: expected array, got integer [schema]"
expect_unchanged "$BEFORE"

test_case "identity: a name the client only claims is recorded as a claim"
# identity.required is false: ENVFLOW_ACTOR is accepted, and the record says so.
new_description claimed
run env ENVFLOW_ACTOR=alice git -C "$W" push origin dev
expect_rc 0
expect_err "remote: envflow: audit: push recorded for alice (ENVFLOW_ACTOR, unauthenticated)"
expect_eq "$(newest_record | grep -E '^(actor|note):' | tr '\n' ' ')" \
  "actor: alice note: push to dev (pusher from ENVFLOW_ACTOR, unauthenticated) " \
  "the record of a claimed pusher"

test_case "identity: required, and the server did not say who pushes"
policy true false >"$TEST_ROOT/policy3.yaml"
push_config adam "$TEST_ROOT/policy3.yaml"
expect_rc 0
refresh
BEFORE=$(server_refs)
new_description plain
run env ENVFLOW_ACTOR=alice git -C "$W" push origin dev
expect_rc 1
expect_err "remote: envflow: push: the server did not say who is pushing"
expect_unchanged "$BEFORE"
push_as alice origin dev
expect_rc 0

test_case "signing: an unsigned release is refused when the policy requires signing"
refresh
policy true true >"$TEST_ROOT/policy4.yaml"
push_config adam "$TEST_ROOT/policy4.yaml"
expect_rc 0
BEFORE=$(server_refs)
git -C "$W" tag -a -m "Unsigned" v1.0.1 origin/production
push_as paul origin refs/tags/v1.0.1
expect_rc 1
expect_err "v1.0.1 is not signed, and the policy requires signed releases"
expect_unchanged "$BEFORE"

# ---------------------------------------------------------------------------
test_case "race: two pushes to dev at once; one wins whole, nothing half-applied"
refresh
C1="$TEST_ROOT/c1"
C2="$TEST_ROOT/c2"
for c in "$C1" "$C2"; do
  git clone -q "file://$SRV" "$c"
  git -C "$c" checkout -q dev
done
sed -i 's/^description: .*/description: first/' "$C1/agents/support.yaml"
git -C "$C1" commit -q -am "first"
sed -i 's/^description: .*/description: second/' "$C2/agents/support.yaml"
git -C "$C2" commit -q -am "second"
OLD=$(ref_of "$SRV" refs/heads/dev)
for c in "$C1" "$C2"; do
  (
    rc=0
    REMOTE_USER=alice git -C "$c" push --atomic origin dev "dev:refs/heads/feature-$(basename "$c")" \
      >"$c.log" 2>&1 || rc=$?
    echo "$rc" >"$c.rc"
  ) &
done
wait
R1=$(cat "$C1.rc")
R2=$(cat "$C2.rc")
if { [ "$R1" -eq 0 ] && [ "$R2" -ne 0 ]; } || { [ "$R1" -ne 0 ] && [ "$R2" -eq 0 ]; }; then pass; else
  fail "expected exactly one winner, got exit codes $R1 and $R2: $(cat "$C1.log" "$C2.log")"
fi
if [ "$R1" -eq 0 ]; then WIN=$C1 LOSE=$C2; else WIN=$C2 LOSE=$C1; fi
WON=$(ref_of "$WIN" HEAD)
LOST=$(ref_of "$LOSE" HEAD)
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$WON" "dev after the race"
expect_eq "$(ref_of "$SRV" "refs/heads/feature-$(basename "$WIN")")" "$WON" "winner's second ref"
expect_eq "$(ref_of "$SRV" "refs/heads/feature-$(basename "$LOSE")")" "none" "loser's second ref"
expect_eq "$(records_of refs/heads/dev "$OLD" "$WON")" 1 "records of the winning move"
expect_eq "$(records_of refs/heads/dev "$OLD" "$LOST")" 0 "records of the losing move"
expect_fsck_clean


# ---------------------------------------------------------------------------
test_case "a policy broken on the server behind envflow's back: nothing is accepted"
# Someone with a shell on the server points refs/envflow/config at a commit
# whose envflow.yaml does not parse (update-ref runs no hook). Every push is
# refused with the reason, changes nothing and records nothing, until an
# admin puts a good policy back.
refresh
GOOD_CONFIG=$(ref_of "$SRV" refs/envflow/config)
BROKEN_BLOB=$(printf 'pipeline: [unclosed\n' | git -C "$SRV" hash-object -w --stdin)
BROKEN_TREE=$(printf '100644 blob %s\tenvflow.yaml\n' "$BROKEN_BLOB" | git -C "$SRV" mktree)
BROKEN=$(git -C "$SRV" commit-tree "$BROKEN_TREE" -p "$GOOD_CONFIG" -m "broken by hand")
git -C "$SRV" update-ref refs/envflow/config "$BROKEN" "$GOOD_CONFIG"
sed -i 's/^description: .*/description: while the policy is broken/' "$W/agents/support.yaml"
git -C "$W" commit -q -am "while the policy is broken"
BEFORE=$(server_refs)
push_as alice origin dev
expect_rc 1
expect_err "the policy in force on the server is unreadable, so nothing is accepted"
expect_unchanged "$BEFORE"
expect_eq "$(records_of refs/heads/dev "$(ref_of "$SRV" refs/heads/dev)" "$(ref_of "$W" HEAD)")" 0 \
  "records of the refused push"
git -C "$SRV" update-ref refs/envflow/config "$GOOD_CONFIG" "$BROKEN"
OLD=$(ref_of "$SRV" refs/heads/dev)
push_as alice origin dev
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$(ref_of "$W" HEAD)" "dev once the policy is mended"
expect_eq "$(records_of refs/heads/dev "$OLD" "$(ref_of "$W" HEAD)")" 1 "records of the accepted push"
expect_fsck_clean

finish
