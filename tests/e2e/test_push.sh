#!/usr/bin/env bash
# End-to-end: `--push [--remote NAME]` (issue 7, CI merge jobs) against a
# bare "origin" made by `envflow init --bare` with the server hooks
# installed, from CI-like clones (`git clone` + `envflow setup`). Each
# command runs on local refs after a fetch and pushes what it moved in one
# atomic push with leases: sync, var set/unset, approve, publish (a signed
# tag and live), rollback, hotfix start/finish, backport apply; the server
# then holds exactly one audit record per move (the client's). A lost race
# (the remote moved after the fetch: caught by the lease, and on the
# server), a refusal by the server's hook (the pusher is not in the promote
# group), a diverged local branch, `--remote` without `--push` and an unknown
# remote; after every failure the clone's refs equal origin's again.
# The pusher's identity comes from REMOTE_USER, which receive-pack (and the
# hook) inherits over file://.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }
command -v ssh-keygen >/dev/null || { echo "ssh-keygen not found: skipped"; exit 125; }

# sync --auto (auto: true environments) goes through the same --push path,
# checked when this envflow has it.
AUTO=""
if envflow sync --help 2>/dev/null | grep -q -- '--auto'; then AUTO="auto: true"; fi

SRV="$TEST_ROOT/origin.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare "$SRV" >/dev/null

# Release signing, as in test_publish.sh: an ssh key, allowed on the server.
ssh-keygen -q -t ed25519 -N '' -C alice -f "$TEST_ROOT/signing_key"
git config --global gpg.format ssh
git config --global user.signingKey "$TEST_ROOT/signing_key"
echo "alice@example.com namespaces=\"git\" $(cat "$TEST_ROOT/signing_key.pub")" \
  >"$TEST_ROOT/allowed_signers"
ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config put allowed_signers "$TEST_ROOT/allowed_signers" \
  >/dev/null

# The policy: one person per role; production needs one approval.
cat >"$TEST_ROOT/policy.yaml" <<EOF
version: 1
environments:
  - name: dev
    branch: dev
    write: [developers]
    local: [operators]
  - name: test
    branch: test
    ${AUTO:+$AUTO}
    promote: [release-managers]
    approvals: 0
    approvers: [release-managers]
    local: [operators]
  - name: uat
    branch: uat
    ${AUTO:+$AUTO}
    promote: [release-managers]
    approvals: 0
    approvers: [release-managers]
    local: [operators]
  - name: staging
    branch: staging
    promote: [release-managers]
    approvals: 0
    approvers: [release-managers]
    local: [operators]
  - name: production
    branch: production
    promote: [release-managers]
    approvals: 1
    approvers: [release-managers]
    local: [operators]
groups:
  developers: [alice]
  release-managers: [bob, carol]
  operators: [olga]
  publishers: [paul]
  hotfixers: [hank]
  admins: [adam]
admins: [admins]
publishers: [publishers]
hotfixers: [hotfixers]
identity:
  env: [GL_USERNAME, GITEA_PUSHER_NAME, GL_USER, REMOTE_USER]
  required: false
validation:
  max_file_size: 1048576
release:
  sign: true
  allowed_signers: allowed_signers
EOF
ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
"$ENVFLOW" install-hooks --server "$SRV" >/dev/null

# clone NAME: a CI-like clone of origin (git clone + envflow setup); prints its path.
clone() {
  local dir="$TEST_ROOT/$1"
  git clone -q "file://$SRV" "$dir"
  (cd "$dir" && envflow setup >/dev/null)
  echo "$dir"
}
# as USER DIR ARGS...: envflow in clone DIR, acting and pushing as USER.
as() {
  local user=$1 dir=$2
  shift 2
  run env REMOTE_USER="$user" ENVFLOW_ACTOR="$user" envflow -C "$dir" "$@"
}
# git_as USER DIR ARGS...: git in clone DIR, pushing as USER.
git_as() {
  local user=$1 dir=$2
  shift 2
  run env REMOTE_USER="$user" ENVFLOW_ACTOR="$user" git -C "$dir" "$@"
}
srv() { ref_of "$SRV" "$1"; }
# records_of REF OLD NEW: how many audit records on origin record that move.
records_of() {
  git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: $1 $2 $3\$" || true
}
# same_as_origin DIR: every ref envflow manages in DIR equals origin's.
same_as_origin() {
  local dir=$1 ref
  for ref in refs/heads/dev refs/heads/test refs/heads/uat refs/heads/staging \
    refs/heads/production refs/envflow/audit refs/envflow/config refs/envflow/live \
    refs/envflow/backports refs/envflow/local/test; do
    expect_eq "$(git -C "$dir" rev-parse -q --verify "$ref" || echo none)" \
      "$(git -C "$SRV" rev-parse -q --verify "$ref" || echo none)" "$(basename "$dir") $ref"
  done
  expect_eq "$(git -C "$dir" for-each-ref --format='%(refname) %(objectname)' 'refs/tags/v*')" \
    "$(git -C "$SRV" for-each-ref --format='%(refname) %(objectname)' 'refs/tags/v*')" \
    "$(basename "$dir") release tags"
}
server_refs() { git -C "$SRV" for-each-ref --format='%(refname) %(objectname)'; }
expect_json() {
  if python3 -c "import json,sys; data = json.load(sys.stdin); sys.exit(0 if ($1) else 1)" \
    <<<"$OUT" >/dev/null 2>&1; then pass; else
    fail "JSON check failed: $1"$'\n'"stdout: $OUT"
  fi
}
# dev_change DIR TEXT: a valid commit on origin's dev, made in DIR, pushed by alice.
dev_change() {
  git -C "$1" checkout -q dev
  git -C "$1" pull -q --ff-only origin dev
  sed -i "s/^description: .*/description: $2/" "$1/agents/support.yaml"
  git -C "$1" commit -q -am "Support agent: $2"
  git_as alice "$1" push -q origin dev
  expect_rc 0
}

A=$(clone ci-a)
B=$(clone ci-b)

# ---------------------------------------------------------------------------
test_case "usage: --remote without --push, an unknown remote"
as bob "$A" sync dev --remote origin
expect_rc 2
expect_err "--remote requires --push"
as bob "$A" sync dev --push --remote nosuch
expect_rc 3
expect_err "no remote named 'nosuch'"
as bob "$A" var list --env test --push
expect_rc 2

# ---------------------------------------------------------------------------
test_case "sync --push: test moves on origin, one audit record, the clone equals origin"
dev_change "$A" concise
DEV=$(srv refs/heads/dev)
OLD=$(srv refs/heads/test)
as bob "$A" sync dev --push
expect_rc 0
expect_out "synced test"
expect_out "pushed to origin (one atomic push):"
expect_out "refs/heads/test"
expect_out "refs/envflow/audit"
expect_eq "$(srv refs/heads/test)" "$DEV" "origin test"
expect_err "remote: envflow: test: promotion from dev"
if grep -q "record appended" <<<"$ERR"; then fail "the server appended its own record: $ERR"; else pass; fi
expect_eq "$(records_of refs/heads/test "$OLD" "$DEV")" 1 "records of the promotion"
run envflow -C "$SRV" log --op sync
expect_eq "$(grep -c ' sync ' <<<"$OUT")" 1 "sync records in envflow log"
expect_out "bob"
same_as_origin "$A"

test_case "sync --push with nothing to promote pushes nothing"
BEFORE=$(server_refs)
as bob "$A" sync dev --push
expect_rc 0
expect_out "already in sync"
expect_out "nothing moved: nothing to push to origin"
expect_eq "$(server_refs)" "$BEFORE" "origin after a no-op"

test_case "a clone behind origin is fast-forwarded first, checked-out dev with its files"
as bob "$B" --format json sync test --push
expect_rc 0
expect_json 'data["moved"] is True and data["pushed"]["remote"] == "origin" and sorted(r["ref"] for r in data["pushed"]["refs"]) == ["refs/envflow/audit", "refs/heads/uat"]'
expect_json 'all(len(r["old"]) == 40 and len(r["new"]) == 40 for r in data["pushed"]["refs"])'
expect_eq "$(srv refs/heads/uat)" "$DEV" "origin uat"
expect_eq "$(git -C "$B" rev-parse dev)" "$DEV" "B's dev, fast-forwarded"
expect_eq "$(grep '^description:' "$B/agents/support.yaml")" "description: concise" \
  "B's working tree follows its dev"
expect_eq "$(git -C "$B" status --porcelain --untracked-files=no)" "" "B's working tree is clean"
same_as_origin "$B"

test_case "sync --auto --push: every auto step in one atomic push"
if [ -n "$AUTO" ]; then
  dev_change "$A" automatic
  DEV=$(srv refs/heads/dev)
  OLD=$(srv refs/heads/test)
  STAGING=$(srv refs/heads/staging)
  as bob "$A" sync --auto --push
  expect_rc 0
  expect_out "pushed to origin (one atomic push):"
  expect_out "refs/heads/uat"
  expect_eq "$(srv refs/heads/test)" "$DEV" "origin test after sync --auto"
  expect_eq "$(srv refs/heads/uat)" "$DEV" "origin uat after sync --auto"
  expect_eq "$(srv refs/heads/staging)" "$STAGING" "origin staging (not auto)"
  expect_eq "$(records_of refs/heads/test "$OLD" "$DEV")" 1 "records of the test step"
  expect_eq "$(records_of refs/heads/uat "$OLD" "$DEV")" 1 "records of the uat step"
  same_as_origin "$A"
else
  echo "sync --auto not built: case skipped"
fi

# ---------------------------------------------------------------------------
test_case "var set --push and var unset --push"
as olga "$A" var set --env test max_turns 5 --push
expect_rc 0
expect_out "pushed to origin"
LOCAL=$(srv refs/envflow/local/test)
expect_eq "$LOCAL" "$(ref_of "$A" refs/envflow/local/test)" "origin's local data of test"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/envflow/local/test ")" 1 \
  "records of the override"
as olga "$A" var unset --env test max_turns --push
expect_rc 0
expect_eq "$(records_of refs/envflow/local/test "$LOCAL" "$(srv refs/envflow/local/test)")" 1 \
  "records of the unset"
same_as_origin "$A"

# ---------------------------------------------------------------------------
test_case "approve --push, then a sync into production that counts it"
as bob "$A" sync uat --push
expect_rc 0
as bob "$A" sync staging --push
expect_rc 1
expect_err "needs 1 approval"
same_as_origin "$A"
as carol "$A" approve production --push
expect_rc 0
expect_out "pushed to origin"
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep -E '^(op|actor):' | tr '\n' ' ')" \
  "op: approve actor: carol " "origin's newest record"
OLD=$(srv refs/heads/production)
as bob "$A" sync staging --push
expect_rc 0
expect_eq "$(srv refs/heads/production)" "$DEV" "origin production"
expect_eq "$(records_of refs/heads/production "$OLD" "$DEV")" 1 "records of the promotion"

# ---------------------------------------------------------------------------
test_case "publish --push: the signed tag and live, one record each move"
as paul "$A" publish --push
expect_rc 0
expect_out "published v1.0.0"
expect_out "refs/tags/v1.0.0"
expect_out "refs/envflow/live"
TAG1=$(git -C "$SRV" rev-parse -q --verify refs/tags/v1.0.0 || echo none)
expect_eq "$TAG1" "$(git -C "$A" rev-parse refs/tags/v1.0.0)" "origin's v1.0.0 is the clone's tag object"
expect_eq "$(git -C "$SRV" rev-parse refs/envflow/live)" "$TAG1" "origin's live"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c '^move: refs/tags/v1.0.0 ')" 1 \
  "records of the tag"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/envflow/live .* $TAG1\$")" 1 \
  "records of live"
run git -C "$SRV" -c gpg.ssh.allowedSignersFile="$TEST_ROOT/allowed_signers" verify-tag v1.0.0
expect_rc 0
same_as_origin "$A"

# ---------------------------------------------------------------------------
test_case "rollback --push (after a second release, made from the other clone)"
dev_change "$B" brisk
for env in dev test uat; do
  as bob "$B" sync "$env" --push
  expect_rc 0
done
as carol "$B" approve production --push
expect_rc 0
as bob "$B" sync staging --push
expect_rc 0
as paul "$B" publish --push
expect_rc 0
TAG2=$(git -C "$SRV" rev-parse refs/envflow/live)
expect_eq "$TAG2" "$(git -C "$SRV" rev-parse refs/tags/v1.0.1)" "origin's live after the second release"
# A is behind by a whole release: the tag arrives, live is re-pointed, then rolled back.
as paul "$A" rollback v1.0.0 --push
expect_rc 0
expect_out "pushed to origin"
expect_eq "$(git -C "$SRV" rev-parse refs/envflow/live)" "$TAG1" "origin's live after the rollback"
expect_eq "$(records_of refs/envflow/live "$TAG2" "$TAG1")" 1 "records of the rollback"
same_as_origin "$A"

test_case "hold release --push: the rollback's hold is released on origin"
as paul "$B" hold release production --push
expect_rc 0
expect_out "pushed to origin"
if git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep -qx "op: hold-release"; then pass; else
  fail "origin's newest audit record is not the hold release"; fi
same_as_origin "$B"

# ---------------------------------------------------------------------------
test_case "lost race (lease): origin moves between this run's fetch and its push"
dev_change "$A" terse
BEFORE_TEST=$(srv refs/heads/test)
# In B, the first `git push` first lets A win the same promotion.
mkdir -p "$TEST_ROOT/racer"
REAL_GIT=$(command -v git)
cat >"$TEST_ROOT/racer/git" <<EOF
#!/bin/sh
if [ "\$1" = push ] && [ ! -e "$TEST_ROOT/raced" ]; then
  touch "$TEST_ROOT/raced"
  PATH="$PATH" REMOTE_USER=carol ENVFLOW_ACTOR=carol envflow -C "$A" sync dev --push >"$TEST_ROOT/racer.out" 2>&1
fi
exec "$REAL_GIT" "\$@"
EOF
chmod +x "$TEST_ROOT/racer/git"
run env PATH="$TEST_ROOT/racer:$PATH" REMOTE_USER=bob ENVFLOW_ACTOR=bob envflow -C "$B" sync dev --push
expect_rc 1
expect_err "origin refused the push; nothing was pushed"
# git names the first ref whose lease failed (here the audit trail, before test).
expect_err "origin moved it since this run fetched it: another push got there first; run the command again"
expect_err "this run's local moves were undone"
expect_eq "$(srv refs/heads/test)" "$(git -C "$SRV" rev-parse dev)" "origin test (the winner's)"
if [ "$(srv refs/heads/test)" != "$BEFORE_TEST" ]; then pass; else fail "the racing sync did not run: $(cat "$TEST_ROOT/racer.out")"; fi
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep '^actor:')" "actor: carol" \
  "origin's newest record is the winner's"
same_as_origin "$B"

test_case "lost race (server): origin moves after git checked the lease"
dev_change "$A" crisp
rm -f "$TEST_ROOT/raced"
cat >"$B/.git/hooks/pre-push" <<EOF
#!/bin/sh
if [ ! -e "$TEST_ROOT/raced" ]; then
  touch "$TEST_ROOT/raced"
  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX
  REMOTE_USER=carol ENVFLOW_ACTOR=carol envflow -C "$A" sync dev --push >"$TEST_ROOT/racer.out" 2>&1
fi
exit 0
EOF
chmod +x "$B/.git/hooks/pre-push"
BEFORE_TEST=$(srv refs/heads/test)
as bob "$B" sync dev --push
expect_rc 1
expect_err "origin refused the push; nothing was pushed"
expect_err "origin could not apply the push (refs/envflow/audit, refs/heads/test): a ref moved there while this push was under way, another push got there first; run the command again"
expect_err "remote: error: cannot lock ref"
if [ "$(srv refs/heads/test)" != "$BEFORE_TEST" ]; then pass; else fail "the racing sync did not run: $(cat "$TEST_ROOT/racer.out")"; fi
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/heads/test $BEFORE_TEST ")" 1 \
  "one record of the one promotion that happened"
same_as_origin "$B"
rm -f "$B/.git/hooks/pre-push"

# ---------------------------------------------------------------------------
test_case "server refusal: a pusher outside the promote group; the clone is restored"
dev_change "$A" plain
BEFORE=$(server_refs)
# envflow acts as bob (allowed), but the server sees alice (a developer).
run env REMOTE_USER=alice ENVFLOW_ACTOR=bob envflow -C "$B" sync dev --push
expect_rc 1
expect_err "origin refused the push; nothing was pushed"
expect_err "origin's pre-receive hook declined the push"
expect_err "remote: envflow: refs/heads/test: alice (REMOTE_USER) may not promote into test"
expect_eq "$(server_refs)" "$BEFORE" "origin after the refusal"
same_as_origin "$B"

# ---------------------------------------------------------------------------
test_case "a diverged local branch is refused, its commit kept"
dev_change "$A" steady
git -C "$B" checkout -q dev
sed -i "s/^description: .*/description: local only/" "$B/agents/support.yaml"
git -C "$B" commit -q -am "Support agent: local only"
LOCAL_DEV=$(git -C "$B" rev-parse dev)
BEFORE=$(server_refs)
as bob "$B" sync dev --push
expect_rc 1
expect_err "this clone holds work origin lacks, which --push would lose; nothing was changed"
expect_err "refs/heads/dev and origin's have diverged"
expect_err "Support agent: local only"
expect_eq "$(git -C "$B" rev-parse dev)" "$LOCAL_DEV" "B's dev keeps its commit"
expect_eq "$(server_refs)" "$BEFORE" "origin after the refusal"

test_case "a local branch ahead of origin is refused too"
git -C "$B" reset -q --hard "$(srv refs/heads/dev)"
sed -i "s/^description: .*/description: ahead/" "$B/agents/support.yaml"
git -C "$B" commit -q -am "Support agent: ahead"
as bob "$B" sync dev --push
expect_rc 1
expect_err "refs/heads/dev has 1 commit origin lacks"
expect_err "git push origin refs/heads/dev"
git -C "$B" reset -q --hard "$(srv refs/heads/dev)"

# ---------------------------------------------------------------------------
test_case "hotfix start --push and hotfix finish --push"
as hank "$A" hotfix start tone --push
expect_rc 0
expect_eq "$(srv refs/heads/hotfix/tone)" "$(srv refs/heads/production)" "origin's hotfix branch"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c '^move: refs/heads/hotfix/tone ')" 1 \
  "records of the hotfix branch"
sed -i "s/^description: .*/description: Apologetic first contact./" "$A/agents/triage.yaml"
git -C "$A" commit -q -am "Triage agent: apologetic"
HOT=$(git -C "$A" rev-parse HEAD)
OLD=$(srv refs/heads/production)
as hank "$A" hotfix finish --push
expect_rc 0
expect_out "refs/heads/production"
expect_out "refs/envflow/backports"
expect_eq "$(srv refs/heads/production)" "$HOT" "origin production"
expect_eq "$(records_of refs/heads/production "$OLD" "$HOT")" 1 "records of the hotfix"
HOTTAG=$(git -C "$A" tag -l 'v*' --points-at "$HOT")
expect_eq "$(git -C "$SRV" rev-parse -q --verify "refs/tags/$HOTTAG" || echo none)" \
  "$(git -C "$A" rev-parse "refs/tags/$HOTTAG")" "origin's hotfix tag"
expect_eq "$(git -C "$SRV" rev-parse refs/envflow/live)" "$(git -C "$A" rev-parse "refs/tags/$HOTTAG")" \
  "origin's live after the hotfix"
run git -C "$SRV" show refs/envflow/backports:1.yaml
expect_out 'status: open'
same_as_origin "$A"

test_case "hotfix start --push of a name origin already has: refused, nobody's branch taken over"
BRANCH_B=$(git -C "$B" symbolic-ref --short HEAD)
SRV_TONE=$(srv refs/heads/hotfix/tone)
as hank "$B" hotfix start tone --push
expect_rc 1
expect_err "refs/heads/hotfix/tone already exists on origin"
expect_eq "$(git -C "$B" rev-parse -q --verify refs/heads/hotfix/tone || echo none)" none \
  "B has no hotfix/tone of its own or of A's"
expect_eq "$(git -C "$B" symbolic-ref --short HEAD)" "$BRANCH_B" "B's checkout is where it was"
expect_eq "$(srv refs/heads/hotfix/tone)" "$SRV_TONE" "origin's hotfix branch untouched"

test_case "backport apply --push: dev checked out moves with its files"
git -C "$A" checkout -q dev
OLD=$(srv refs/heads/dev)
as alice "$A" backport apply 1 --push
expect_rc 0
expect_out "pushed to origin"
NEWDEV=$(srv refs/heads/dev)
expect_eq "$(git -C "$A" rev-parse dev)" "$NEWDEV" "A's dev equals origin's"
expect_eq "$(git -C "$SRV" rev-parse "$NEWDEV^2")" "$HOT" "origin's dev merges the hotfix"
expect_eq "$(records_of refs/heads/dev "$OLD" "$NEWDEV")" 1 "records of the back-port"
run git -C "$SRV" show refs/envflow/backports:1.yaml
expect_out 'status: closed'
expect_eq "$(git -C "$A" status --porcelain --untracked-files=no)" "" "A's working tree is clean"
same_as_origin "$A"

# ---------------------------------------------------------------------------
test_case "sync --auto --push stopped by a refused gate still pushes the steps before it"
if [ -n "$AUTO" ]; then
  as olga "$A" var set --env uat max_turns 5 --push
  expect_rc 0
  git -C "$A" pull -q --ff-only origin dev
  printf 'kind: Variable\nname: max_turns\ntype: string\ndefault: "four"\ndescription: Turns.\n' \
    >"$A/variables/max_turns.yaml"
  git -C "$A" commit -q -am "max_turns becomes a string"
  git_as alice "$A" push -q origin dev
  expect_rc 0
  DEV=$(srv refs/heads/dev)
  OLD=$(srv refs/heads/test)
  UAT=$(srv refs/heads/uat)
  as bob "$A" sync --auto --push
  expect_rc 1
  expect_err "sync --auto stopped at uat"
  expect_err "max_turns"
  expect_out "pushed to origin (one atomic push):"
  expect_eq "$(srv refs/heads/test)" "$DEV" "origin test: the step before the refusal"
  expect_eq "$(srv refs/heads/uat)" "$UAT" "origin uat: refused, unchanged"
  expect_eq "$(records_of refs/heads/test "$OLD" "$DEV")" 1 "records of the test step"
  same_as_origin "$A"
else
  echo "sync --auto not built: case skipped"
fi

# ---------------------------------------------------------------------------
test_case "origin's repository stays consistent"
run git -C "$SRV" fsck --strict --no-progress
expect_rc 0
run envflow -C "$SRV" doctor
expect_rc 0

finish
