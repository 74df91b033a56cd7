#!/usr/bin/env bash
# End-to-end: the server hooks behind a real smart-HTTP server (issue 5).
# lighttpd on 127.0.0.1 runs `git http-backend` as a CGI behind HTTP basic
# auth, so the pre-receive hook learns the pusher from REMOTE_USER exactly as
# in a real deployment (and the policy requires it: identity.required).
# Two users in different groups: alice (developer: writes dev) and bob
# (release manager: promotes). alice's push to dev is accepted, her push to
# production refused; bob's promotions (kept offline then sent with
# envflow push, and by plain git) are accepted and recorded by the server.
# Needs lighttpd (Debian package): installed with apt-get when missing and
# running as root, else the suite is skipped (exit 125); see lib.sh.
. "$(dirname "$0")/lib.sh"

team_policy >"$TEST_ROOT/policy.yaml"
team_server "$TEST_ROOT/policy.yaml" alice bob
PORT=$HTTP_PORT

A="$TEST_ROOT/alice"
B="$TEST_ROOT/bob"

# ---------------------------------------------------------------------------
test_case "clone over smart HTTP with basic auth"
run git clone -q "$(url alice)" "$A"
expect_rc 0
(cd "$A" && envflow setup >/dev/null)
run git clone -q "http://127.0.0.1:$PORT/git/shop.git" "$TEST_ROOT/anonymous"
if [ "$RC" -ne 0 ]; then pass; else fail "an anonymous clone was allowed"; fi

test_case "developer alice pushes to dev: accepted, the hook saw REMOTE_USER"
sed -i 's/^description: .*/description: concise/' "$A/agents/support.yaml"
git -C "$A" commit -q -am "Support agent: new description"
NEW=$(ref_of "$A" HEAD)
run env ENVFLOW_ACTOR=mallory git -C "$A" push origin dev
expect_rc 0
expect_err "remote: envflow: dev: 1 commit validated"
expect_err "remote: envflow: audit: push recorded for alice (REMOTE_USER)"
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$NEW" "server dev"
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep -E '^(actor|note):' | tr '\n' ' ')" \
  "actor: alice note: push to dev (pusher from REMOTE_USER) " \
  "the audit record names the authenticated user, not the name the client claimed"

test_case "developer alice pushes to production: refused"
BEFORE=$(server_refs)
run git -C "$A" push origin dev:production
expect_rc 1
expect_err "remote: envflow: refs/heads/production:"
expect_err "is not contained in test"
run git -C "$A" push origin dev:test
expect_rc 1
expect_err "remote: envflow: refs/heads/test: alice (REMOTE_USER) may not promote into test"
expect_eq "$(server_refs)" "$BEFORE" "server refs after the refusals"

test_case "release manager bob promotes dev to test and production: accepted"
run git clone -q "$(url bob)" "$B"
expect_rc 0
(cd "$B" && envflow setup >/dev/null)
# Kept in the clone (pending), then sent over HTTP by envflow push: one
# atomic push per operation, each judged and recorded by the server.
run env ENVFLOW_ACTOR=bob envflow -C "$B" sync dev
expect_rc 0
expect_out "kept in this clone"
run env ENVFLOW_ACTOR=bob envflow -C "$B" sync test
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$(ref_of "$SRV" "refs/heads/dev~1")" "server test before envflow push"
run env ENVFLOW_ACTOR=bob envflow -C "$B" push
expect_rc 0
expect_err "remote: envflow: test: promotion from dev"
expect_err "remote: envflow: production: promotion from test"
expect_err "remote: envflow: audit: sync recorded for bob (REMOTE_USER)"
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$NEW" "server test"
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$NEW" "server production"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/heads/production .* $NEW$")" 1 \
  "one record of the production move"
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep '^actor:')" "actor: bob" \
  "the promotion's record names bob"
run env ENVFLOW_ACTOR=bob envflow -C "$B" push --list
expect_rc 0
expect_eq "$(git -C "$B" rev-parse -q --verify refs/envflow/pending || echo none)" none \
  "nothing left pending in bob's clone"

test_case "a promotion by plain git over HTTP is judged as the authenticated user"
sed -i 's/^description: .*/description: brisk/' "$A/agents/support.yaml"
git -C "$A" commit -q -am "Support agent: brisk"
run git -C "$A" push origin dev
expect_rc 0
BEFORE=$(server_refs)
# alice claims to be bob: the server goes by the login.
run env ENVFLOW_ACTOR=bob git -C "$A" push origin dev:test
expect_rc 1
expect_err "remote: envflow: refs/heads/test: alice (REMOTE_USER) may not promote into test"
expect_eq "$(server_refs)" "$BEFORE" "server refs after the refusal"
run git -C "$B" fetch -q origin
run git -C "$B" push origin origin/dev:refs/heads/test
expect_rc 0
expect_err "remote: envflow: audit: sync recorded for bob (REMOTE_USER)"
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$(ref_of "$SRV" refs/heads/dev)" "server test after bob's push"

test_case "the repository is sound"
if out=$(git -C "$SRV" fsck --strict --no-progress 2>&1); then pass; else fail "git fsck: $out"; fi

finish
