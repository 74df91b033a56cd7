#!/usr/bin/env bash
# End-to-end: `--push` (issue 7, CI merge jobs) against a bare "origin" made
# by `envflow init --bare` with the server hooks installed, from CI-like
# clones (`git clone` + `envflow setup`). Each command fetches origin's view
# first, is judged in the clone by the rulebook, then sends what it moves in
# one atomic push with a lease on every ref it moves: sync, sync --auto, var
# set/unset, approve, publish (a signed tag and live), rollback, hold
# release, hotfix start/finish, backport apply. The server judges it again
# and writes exactly one audit record per operation (the client never pushes
# the trail). Lost races (the remote moved after the fetch: caught by the
# lease, by git's "up to date", and by the server's own compare-and-swap), a
# refusal by the server's hook (the pusher is not in the promote group),
# local work origin lacks, `--remote` without `--push` (the operation is kept
# in the clone until envflow push) and an unknown remote; after every
# operation the clone keeps nothing of its own and its view equals origin's.
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
role_policy false true "$AUTO" "allowed_signers: allowed_signers" >"$TEST_ROOT/policy.yaml"
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
# view_of REF: where a clone reads origin's REF (envflow's fetch puts it there).
view_of() {
  case $1 in
  refs/heads/*) echo "refs/remotes/origin/${1#refs/heads/}" ;;
  refs/envflow/*) echo "refs/envflow-remote/origin/envflow/${1#refs/envflow/}" ;;
  refs/tags/*) echo "refs/envflow-remote/origin/tags/${1#refs/tags/}" ;;
  esac
}
# keeps_nothing DIR: the clone holds no envflow ref of its own (no operation
# kept for later, no copy of the server's refs).
keeps_nothing() {
  expect_eq "$(git -C "$1" for-each-ref --format='%(refname)' refs/envflow/)" "" \
    "$(basename "$1")'s own envflow refs"
}
# same_as_origin DIR: DIR keeps nothing of its own, and its view of every ref
# envflow manages equals origin's; the trail is origin's, or one it has since
# appended to (the server writes its record after the push; the next fetch
# brings it).
same_as_origin() {
  local dir=$1 ref view
  keeps_nothing "$dir"
  for ref in refs/heads/dev refs/heads/test refs/heads/uat refs/heads/staging \
    refs/heads/production refs/envflow/config refs/envflow/live \
    refs/envflow/backports refs/envflow/local/test; do
    expect_eq "$(git -C "$dir" rev-parse -q --verify "$(view_of "$ref")" || echo none)" \
      "$(git -C "$SRV" rev-parse -q --verify "$ref" || echo none)" "$(basename "$dir")'s view of $ref"
  done
  view=$(git -C "$dir" rev-parse -q --verify "$(view_of refs/envflow/audit)" || echo none)
  if [ "$view" != none ] && git -C "$SRV" merge-base --is-ancestor "$view" refs/envflow/audit 2>/dev/null; then
    pass
  else
    fail "$(basename "$dir")'s view of the trail ($view) is not origin's"
  fi
  expect_eq "$(git -C "$dir" for-each-ref --format='%(refname:lstrip=4) %(objectname)' 'refs/envflow-remote/origin/tags/v*')" \
    "$(git -C "$SRV" for-each-ref --format='%(refname:lstrip=2) %(objectname)' 'refs/tags/v*')" \
    "$(basename "$dir")'s view of the release tags"
}
# fetched_same_as_origin DIR: after a failure the view may be older than
# origin; once a command reads origin again, the clone equals it.
fetched_same_as_origin() {
  run env ENVFLOW_ACTOR=bob envflow -C "$1" status
  expect_rc 0
  same_as_origin "$1"
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
test_case "usage: --remote names the server, --push sends at once; an unknown remote"
dev_change "$A" concise
DEV=$(srv refs/heads/dev)
BEFORE=$(server_refs)
# --remote alone reads origin and keeps the operation in the clone.
as bob "$A" --remote origin sync dev
expect_rc 0
expect_out "kept in this clone: run envflow push to send it to origin (1 operation pending"
expect_eq "$(server_refs)" "$BEFORE" "origin after an operation kept in the clone"
expect_eq "$(git -C "$A" rev-parse -q --verify refs/heads/test || echo none)" "$DEV" "A's own test"
as bob "$A" push --list
expect_rc 0
expect_out "sync"
# While something is kept, --push would overtake it: refused.
as bob "$A" sync test --push
expect_rc 1
expect_err "this clone holds operations made offline that origin lacks"
expect_eq "$(server_refs)" "$BEFORE" "origin after --push was refused"
as bob "$A" push --discard
expect_rc 0
expect_out "discarded 1 operation"
keeps_nothing "$A"
as bob "$A" sync dev --push --remote nosuch
expect_rc 2
expect_err "no remote named 'nosuch'"
as bob "$A" --remote nosuch sync dev
expect_rc 2
expect_err "no remote named 'nosuch'"
# --push belongs to commands that change something.
as bob "$A" var list --env test --push
expect_rc 2
expect_eq "$(server_refs)" "$BEFORE" "origin after the usage errors"

# ---------------------------------------------------------------------------
test_case "sync --push: test moves on origin, one audit record (the server's), the clone equals origin"
OLD=$(srv refs/heads/test)
as bob "$A" sync dev --push
expect_rc 0
expect_out "synced test"
expect_out "pushed to origin (one atomic push per operation):"
expect_out "refs/heads/test"
expect_no_out "refs/envflow/audit"
expect_eq "$(srv refs/heads/test)" "$DEV" "origin test"
expect_err "remote: envflow: test: promotion from dev"
expect_err "remote: envflow: audit: sync recorded for bob (REMOTE_USER)"
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
expect_no_out "pushed to"
expect_eq "$(server_refs)" "$BEFORE" "origin after a no-op"

test_case "a clone behind origin acts on origin's state; its own branch and checkout stay"
STALE=$(git -C "$B" rev-parse dev)
as bob "$B" --format json sync test --push
expect_rc 0
expect_json \
  'data["moved"] is True and data["session"]["route"] == "push" and data["pushed"]["remote"] == "origin" and [r["ref"] for r in data["pushed"]["refs"]] == ["refs/heads/uat"]' \
  'all(len(r["old"]) == 40 and len(r["new"]) == 40 for r in data["pushed"]["refs"])' \
  'any("uat: promotion from test" in line for line in data["pushed"]["remote_said"])'
expect_eq "$(srv refs/heads/uat)" "$DEV" "origin uat"
expect_eq "$(git -C "$B" rev-parse dev)" "$STALE" "B's own dev (envflow never moves a checkout)"
expect_eq "$(git -C "$B" status --porcelain --untracked-files=no)" "" "B's working tree is clean"
same_as_origin "$B"
# Plain git keeps working.
run git -C "$B" pull -q --ff-only origin dev
expect_rc 0
expect_eq "$(grep '^description:' "$B/agents/support.yaml")" "description: concise" \
  "B's working tree after git pull"

test_case "sync --auto --push: every auto step in one atomic push"
if [ -n "$AUTO" ]; then
  dev_change "$A" automatic
  DEV=$(srv refs/heads/dev)
  OLD=$(srv refs/heads/test)
  STAGING=$(srv refs/heads/staging)
  as bob "$A" sync --auto --push
  expect_rc 0
  expect_out "pushed to origin (one atomic push per operation):"
  expect_out "refs/heads/test"
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
expect_eq "$(ref_of "$A" "$(view_of refs/envflow/local/test)")" "$LOCAL" "A's view of origin's local data of test"
expect_eq "$(git -C "$SRV" show "$LOCAL:overrides.yaml" | grep max_turns)" "  max_turns: 5" "origin's override"
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
expect_eq "$(srv "refs/envflow/approvals/production/$DEV/carol")" "$DEV" "origin's approval ref"
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
expect_eq "$(git -C "$A" rev-parse -q --verify "$(view_of refs/tags/v1.0.0)" || echo none)" "$TAG1" \
  "origin's v1.0.0 is the tag object the clone made"
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
test_case "lost race (same move): origin made it between this run's fetch and its push"
dev_change "$A" terse
BEFORE_TEST=$(srv refs/heads/test)
# In B, the first `git push` first runs $RACER: carol (in A) makes the same
# promotion, so git finds test already where B would put it and skips it,
# lease and all.
mkdir -p "$TEST_ROOT/racer"
REAL_GIT=$(command -v git)
cat >"$TEST_ROOT/racer/git" <<EOF
#!/bin/sh
if [ "\$1" = push ] && [ ! -e "$TEST_ROOT/raced" ]; then
  touch "$TEST_ROOT/raced"
  PATH="$PATH" sh -c "\$RACER" >"$TEST_ROOT/racer.out" 2>&1
fi
exec "$REAL_GIT" "\$@"
EOF
chmod +x "$TEST_ROOT/racer/git"
RACER="REMOTE_USER=carol ENVFLOW_ACTOR=carol envflow -C '$A' sync dev --push"
run env RACER="$RACER" PATH="$TEST_ROOT/racer:$PATH" REMOTE_USER=bob ENVFLOW_ACTOR=bob envflow -C "$B" sync dev --push
expect_rc 1
expect_err "test moved since this sync began (another promotion got there first); nothing changed; run it again"
expect_no_out "pushed to"
expect_eq "$(srv refs/heads/test)" "$(git -C "$SRV" rev-parse dev)" "origin test (the winner's)"
if [ "$(srv refs/heads/test)" != "$BEFORE_TEST" ]; then pass; else fail "the racing sync did not run: $(cat "$TEST_ROOT/racer.out")"; fi
expect_eq "$(records_of refs/heads/test "$BEFORE_TEST" "$(srv refs/heads/test)")" 1 "records of the promotion"
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep '^actor:')" "actor: carol" \
  "origin's newest record is the winner's"
keeps_nothing "$B"
fetched_same_as_origin "$B"

test_case "lost race (lease): origin moved the ref elsewhere between this run's fetch and its push"
dev_change "$A" snappy
BEFORE_TEST=$(srv refs/heads/test)
rm -f "$TEST_ROOT/raced"
# This time the racer first pushes one more commit to dev, so test moves elsewhere.
RACER="cd '$A' && sed -i 's/^description: .*/description: snappier/' agents/support.yaml && git commit -q -am snappier && REMOTE_USER=alice git push -q origin dev && REMOTE_USER=carol ENVFLOW_ACTOR=carol envflow -C '$A' sync dev --push"
run env RACER="$RACER" PATH="$TEST_ROOT/racer:$PATH" REMOTE_USER=bob ENVFLOW_ACTOR=bob envflow -C "$B" --format json sync dev --push
expect_rc 1
expect_json \
  'data["error"]["code"] == "lost-race" and data["error"]["kind"] == "refused" and data["error"]["exit"] == 1 and data["error"]["ref"] == "refs/heads/test" and data["error"]["hint"] == "run it again"' \
  '"another promotion got there first" in data["error"]["message"]'
expect_eq "$(srv refs/heads/test)" "$(git -C "$SRV" rev-parse dev)" "origin test (the winner's)"
if [ "$(srv refs/heads/test)" != "$BEFORE_TEST" ]; then pass; else fail "the racing sync did not run: $(cat "$TEST_ROOT/racer.out")"; fi
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/heads/test $BEFORE_TEST ")" 1 \
  "one record of the one promotion that happened"
keeps_nothing "$B"
fetched_same_as_origin "$B"

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
as bob "$B" --format json sync dev --push
expect_rc 1
expect_json \
  'data["error"]["code"] == "lost-race" and data["error"]["kind"] == "refused" and data["error"]["ref"] == "refs/heads/test"' \
  '"another promotion got there first" in data["error"]["message"]'
if [ "$(srv refs/heads/test)" != "$BEFORE_TEST" ]; then pass; else fail "the racing sync did not run: $(cat "$TEST_ROOT/racer.out")"; fi
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/heads/test $BEFORE_TEST ")" 1 \
  "one record of the one promotion that happened"
keeps_nothing "$B"
rm -f "$B/.git/hooks/pre-push"
fetched_same_as_origin "$B"

# ---------------------------------------------------------------------------
test_case "server refusal: a pusher outside the promote group; the clone is restored"
dev_change "$A" plain
BEFORE=$(server_refs)
# envflow acts as bob (allowed), but the server sees alice (a developer).
run env REMOTE_USER=alice ENVFLOW_ACTOR=bob envflow -C "$B" sync dev --push
expect_rc 1
expect_err "origin refused the push; nothing changed there:"
expect_err "origin's pre-receive hook declined the push"
expect_err "remote: envflow: refs/heads/test: alice (REMOTE_USER) may not promote into test"
expect_eq "$(server_refs)" "$BEFORE" "origin after the refusal"
same_as_origin "$B"

# ---------------------------------------------------------------------------
test_case "a diverged local branch: origin's dev is promoted, the local commit neither promoted nor lost"
dev_change "$A" steady
git -C "$B" checkout -q dev
sed -i "s/^description: .*/description: local only/" "$B/agents/support.yaml"
git -C "$B" commit -q -am "Support agent: local only"
LOCAL_DEV=$(git -C "$B" rev-parse dev)
as bob "$B" sync dev --push
expect_rc 0
expect_eq "$(srv refs/heads/test)" "$(srv refs/heads/dev)" "origin test: origin's dev"
expect_no_out "Support agent: local only"
expect_eq "$(git -C "$B" rev-parse dev)" "$LOCAL_DEV" "B's dev keeps its commit"
if git -C "$SRV" cat-file -e "$LOCAL_DEV" 2>/dev/null; then
  fail "B's local commit reached origin"
else pass; fi
same_as_origin "$B"

test_case "a local branch ahead of origin: only what origin has is promoted"
git -C "$B" reset -q --hard "$(srv refs/heads/dev)"
sed -i "s/^description: .*/description: ahead/" "$B/agents/support.yaml"
git -C "$B" commit -q -am "Support agent: ahead"
AHEAD=$(git -C "$B" rev-parse dev)
BEFORE=$(server_refs)
as bob "$B" sync dev --push
expect_rc 0
expect_out "already in sync"
expect_eq "$(server_refs)" "$BEFORE" "origin: nothing to promote"
expect_eq "$(git -C "$B" rev-parse dev)" "$AHEAD" "B's dev keeps its commit"
git -C "$B" reset -q --hard "$(srv refs/heads/dev)"

# ---------------------------------------------------------------------------
test_case "hotfix start --push and hotfix finish --push"
as hank "$A" hotfix start tone --push
expect_rc 0
# After the rollback, a hotfix starts from the live release, not production's head.
expect_eq "$(srv refs/heads/hotfix/tone)" "$(git -C "$SRV" rev-parse 'refs/envflow/live^{commit}')" \
  "origin's hotfix branch"
expect_eq "$(git -C "$A" symbolic-ref --short HEAD)" "hotfix/tone" "A works on the hotfix branch"
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
HOTTAG=$(git -C "$SRV" tag -l 'v*' --points-at "$HOT")
expect_eq "$HOTTAG" "v1.0.2" "the hotfix release"
expect_eq "$(git -C "$A" rev-parse -q --verify "$(view_of "refs/tags/$HOTTAG")" || echo none)" \
  "$(git -C "$SRV" rev-parse "refs/tags/$HOTTAG")" "origin's hotfix tag is the one the clone made"
expect_eq "$(git -C "$SRV" rev-parse refs/envflow/live)" "$(git -C "$SRV" rev-parse "refs/tags/$HOTTAG")" \
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
expect_err "git switch hotfix/tone"
expect_eq "$(git -C "$B" rev-parse -q --verify refs/heads/hotfix/tone || echo none)" none \
  "B has no hotfix/tone of its own or of A's"
expect_eq "$(git -C "$B" symbolic-ref --short HEAD)" "$BRANCH_B" "B's checkout is where it was"
expect_eq "$(srv refs/heads/hotfix/tone)" "$SRV_TONE" "origin's hotfix branch untouched"

test_case "backport apply --push: origin's dev merges the hotfix; the checkout follows with git pull"
git -C "$A" checkout -q dev
OLD=$(srv refs/heads/dev)
MINE=$(git -C "$A" rev-parse dev)
as alice "$A" backport apply 1 --push
expect_rc 0
expect_out "pushed to origin"
NEWDEV=$(srv refs/heads/dev)
expect_eq "$(git -C "$A" rev-parse dev)" "$MINE" "A's own dev (envflow never moves a checkout it did not make)"
run git -C "$A" pull -q --ff-only origin dev
expect_rc 0
expect_eq "$(git -C "$A" rev-parse dev)" "$NEWDEV" "A's dev after git pull"
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
  expect_out "pushed to origin (one atomic push per operation):"
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
