#!/usr/bin/env bash
# End-to-end: live means what end users get (issue 14). Publish v1.0.0, then
# a bad v1.1.0, roll back to v1.0.0; a hotfix then starts from the live
# release (not the rolled-back head), ships live + the fix and nothing that
# was rolled back; the back-port brings it home and the pipeline returns to
# normal through a deliberate promotion. render follows live; --head and
# --release pick other content; --check --expect refuses a bundle for another
# environment. Hand-made moves with plain git are judged the same way.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

export ENVFLOW_ACTOR=rm@example.com # init puts its actor in every group
R=$(new_repo live --envs dev,test,production)
cd "$R"
git config user.email "rm@example.com"
git config user.name "rm"
edit_config "t = t.replace('release:\n  sign: true', 'release:\n  sign: false')"
bundle_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)" <<<"$OUT"; }
set_description() {
  git checkout -q dev
  sed -i "s/^description: .*/description: $1/" agents/support.yaml
  git commit -q -am "support: $1"
}
ship() {
  envflow sync dev >/dev/null && envflow sync test >/dev/null
}

test_case "publish v1.0.0, publish a bad v1.1.0, roll back"
set_description good
GOOD=$(ref_of . HEAD)
ship
run envflow publish --no-sign
expect_rc 0
set_description bad
BAD=$(ref_of . HEAD)
ship
run envflow publish --no-sign
expect_rc 0
V_BAD=$(git describe --tags refs/envflow/live)
run envflow rollback v1.0.0
expect_rc 0
expect_eq "$(git rev-parse refs/envflow/live^{})" "$GOOD" "live is the good release"
expect_eq "$(git for-each-ref refs/envflow/holds/production | wc -l)" 1 "production held"

test_case "render production renders the live release, --head the head, --release any"
run envflow render production
expect_rc 0
expect_eq "$(bundle_field '["commit"]')" "$GOOD" "render production commit"
expect_eq "$(bundle_field '["release"]')" "v1.0.0" "render production release"
run envflow render production --head
expect_rc 0
expect_eq "$(bundle_field '["commit"]')" "$BAD" "render --head commit"
run envflow render production --release "$V_BAD"
expect_rc 0
expect_eq "$(bundle_field '["release"]')" "$V_BAD" "render --release"

test_case "a hotfix starts from live and says so"
run envflow hotfix start fix
expect_rc 0
expect_out "live release"
expect_eq "$(ref_of . refs/heads/hotfix/fix)" "$GOOD" "hotfix branch base"
sed -i "s/^  temperature: .*/  temperature: 0.1/" agents/support.yaml
git commit -q -am "fix: support temperature"
FIX=$(ref_of . HEAD)

test_case "hotfix finish ships live + the fix, nothing rolled back"
run envflow hotfix finish --no-sign
expect_rc 0
expect_eq "$(git rev-parse refs/envflow/live^{})" "$FIX" "live is the fix"
expect_eq "$(ref_of . refs/heads/production)" "$FIX" "production is the fix"
if git merge-base --is-ancestor "$BAD" "$FIX"; then fail "the rolled-back commit is in the hotfix"; else pass; fi
run git show "refs/envflow/live^{}:agents/support.yaml"
expect_out "description: good"
expect_out "temperature: 0.1"

test_case "status stays calm on the hotfix path"
run envflow status
expect_rc 0
if grep -q BROKEN <<<"$OUT"; then fail "status says BROKEN: $OUT"; else pass; fi
run envflow backport list
expect_rc 0
expect_out "fix"

test_case "the back-port brings the fix home; the pipeline returns to normal by promotion"
git checkout -q dev
run envflow backport apply 1
expect_rc 0
run envflow sync dev
expect_rc 0
run envflow hold release production --reason "the fix is back in dev; bad is fixed by hand next"
expect_rc 0
set_description "good again"
ship
expect_eq "$(git merge-base --is-ancestor "$FIX" refs/heads/production && echo yes)" "yes" "production holds the fix"
run git show refs/heads/production:agents/support.yaml
expect_out "description: good again"
expect_out "temperature: 0.1"
run envflow publish --no-sign
expect_rc 0
run envflow doctor
expect_rc 0

test_case "render --check --expect refuses a bundle for another environment"
envflow render test >"$TEST_ROOT/test.json"
envflow render production >"$TEST_ROOT/prod.json"
run envflow render --check --expect production "$TEST_ROOT/test.json"
expect_rc 1
expect_err "test"
run env APP_ENV=production envflow render --check "$TEST_ROOT/test.json"
expect_rc 1
run envflow render --check --expect production "$TEST_ROOT/prod.json"
expect_rc 0

test_case "scope: environment: no sync into an environment without its own value"
# A per-environment URL: dev's default serves dev only; every later
# environment needs a value of its own before the variable arrives there.
audit_count() { git rev-list --count refs/envflow/audit; }
git checkout -q dev
cat >variables/payments_url.yaml <<'EOF2'
kind: Variable
name: payments_url
type: url
default: https://pay.dev.example.com
description: Where the payment service of each environment answers.
scope: environment
EOF2
git add variables/payments_url.yaml
git commit -q -m "Add payments_url (one per environment)"
PAY=$(ref_of . HEAD)
TEST_BEFORE=$(ref_of . refs/heads/test)
N=$(audit_count)
run envflow sync dev
expect_rc 1
expect_err "payments_url is scope: environment"
expect_err "envflow var set --env test payments_url"
expect_eq "$(ref_of . refs/heads/test)" "$TEST_BEFORE" "test after the refusal"
expect_eq "$(audit_count)" "$N" "no record for the refused sync"

test_case "scope: environment: the value is set before the variable arrives, then the sync goes"
run envflow var set --env test payments_url https://pay.test.example.com
expect_rc 0
run envflow var list --env test
expect_rc 0
expect_out "payments_url"
if grep -E '^payments_url ' <<<"$OUT" | grep -q pending; then pass; else fail "payments_url not pending on test: $OUT"; fi
expect_eq "$(git show refs/envflow/local/test:overrides.yaml | grep payments_url)" \
  '  payments_url: "https://pay.test.example.com"' "test's override on its local ref"
run envflow sync dev
expect_rc 0
expect_eq "$(ref_of . refs/heads/test)" "$PAY" "test after the sync"
run envflow render test
expect_rc 0
expect_eq "$(bundle_field '["variables"]["payments_url"]["value"]')" "https://pay.test.example.com" "test renders its own value"
run envflow render dev
expect_rc 0
expect_eq "$(bundle_field '["variables"]["payments_url"]["value"]')" "https://pay.dev.example.com" "dev renders the default"

test_case "scope: environment: the same at the door of production, then render shows live's value"
PROD_BEFORE=$(ref_of . refs/heads/production)
run envflow sync test
expect_rc 1
expect_err "envflow var set --env production payments_url"
expect_eq "$(ref_of . refs/heads/production)" "$PROD_BEFORE" "production after the refusal"
run envflow var set --env production payments_url https://pay.example.com
expect_rc 0
run envflow sync test
expect_rc 0
expect_eq "$(ref_of . refs/heads/production)" "$PAY" "production after the sync"
run envflow publish --no-sign
expect_rc 0
V_PAY=$(git describe --tags refs/envflow/live)
run envflow render production
expect_rc 0
expect_eq "$(bundle_field '["release"]')" "$V_PAY" "render production names the live release"
expect_eq "$(bundle_field '["variables"]["payments_url"]["value"]')" "https://pay.example.com" "production renders its own value"

test_case "removing a variable: the plan lists the overrides that go; the sync drops them in one move"
git checkout -q dev
git rm -q variables/payments_url.yaml
git commit -q -m "Remove payments_url"
GONE=$(ref_of . HEAD)
TEST_BEFORE=$(ref_of . refs/heads/test)
LOCAL_BEFORE=$(ref_of . refs/envflow/local/test)
N=$(audit_count)
run envflow sync dev --dry-run
expect_rc 0
expect_out "the override of payments_url on test goes with it: the variable is removed"
expect_eq "$(ref_of . refs/envflow/local/test)" "$LOCAL_BEFORE" "test's local ref after the dry run"
expect_eq "$(audit_count)" "$N" "no record for a dry run"
run envflow sync dev
expect_rc 0
expect_out "the override of payments_url on test goes with it: the variable is removed"
expect_override_dropped . payments_url "$LOCAL_BEFORE" "$TEST_BEFORE" "$GONE"
expect_eq "$(audit_count)" $((N + 1)) "one record for the sync"
# Into production the same; the live release keeps its value until the next publish.
PROD_BEFORE=$(ref_of . refs/heads/production)
LOCAL_BEFORE=$(ref_of . refs/envflow/local/production)
N=$(audit_count)
run envflow sync test
expect_rc 0
expect_out "the override of payments_url on production goes with it: the variable is removed"
LOCAL_AFTER=$(ref_of . refs/envflow/local/production)
expect_eq "$(audit_count)" $((N + 1)) "one record for the sync into production"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^move: ' | sort | tr '\n' ' ')" \
  "move: refs/envflow/local/production $LOCAL_BEFORE $LOCAL_AFTER move: refs/heads/production $PROD_BEFORE $GONE " \
  "the sync's record moves production and its local ref"
# Until the next publish, end users still get the live release, with the
# value it was published with (recorded in its manifest): not dev's default,
# not a render that fails.
run envflow render production
expect_rc 0
expect_eq "$(bundle_field '["release"]')" "$V_PAY" "render production names the live release"
expect_eq "$(bundle_field '["variables"]["payments_url"]["value"]')" "https://pay.example.com" \
  "the live release keeps its value after the sync dropped the override"
expect_eq "$(bundle_field '["variables"]["payments_url"]["source"]')" "release" "where the value comes from"
run envflow render production --head
expect_rc 0
expect_eq "$(bundle_field '["variables"].get("payments_url")')" "None" "no payments_url at production's head"
run envflow publish --no-sign
expect_rc 0
run envflow render production
expect_rc 0
expect_eq "$(bundle_field '["variables"].get("payments_url")')" "None" "no payments_url in the new live release"

# approve_hotfix_on_server WHO: WHO approves the hotfix (origin/hotfix/srv,
# $SHOT) into production with --push; the approval is on the server.
approve_hotfix_on_server() {
  as "$1" approve production --rev origin/hotfix/srv --push
  expect_rc 0
  if git -C "$SRV" rev-parse -q --verify "refs/envflow/approvals/production/$SHOT/$1" >/dev/null; then pass; else
    fail "$1's approval is not on the server"
  fi
}

test_case "four eyes on hotfixes: finish refused until a second person approves"
# qa may approve hotfixes; rm is in qa too, but a hotfixer's own approval
# does not count.
edit_config "t = t.replace('groups:\n', 'groups:\n  qa: [\"qa@example.com\", \"rm@example.com\"]\n') + '\nhotfix:\n  approvals: 1\n  approvers: [\"qa\"]\n'"
run envflow hotfix start four-eyes
expect_rc 0
sed -i "s/^  temperature: .*/  temperature: 0.15/" agents/support.yaml
git commit -q -am "fix: support temperature again"
HOT=$(ref_of . HEAD)
PROD_BEFORE=$(ref_of . refs/heads/production)
LIVE_BEFORE=$(ref_of . refs/envflow/live)
TAGS_BEFORE=$(git tag | wc -l)
run envflow hotfix finish --no-sign
expect_rc 1
expect_err "needs 1 approval from qa (not counting rm@example.com)"
expect_err "envflow approve production --rev ${HOT:0:7}"
expect_eq "$(ref_of . refs/heads/production)" "$PROD_BEFORE" "production after the refusal"
expect_eq "$(ref_of . refs/envflow/live)" "$LIVE_BEFORE" "live after the refusal"
expect_eq "$(git tag | wc -l)" "$TAGS_BEFORE" "no release tag after the refusal"
run envflow approve production --rev hotfix/four-eyes
expect_rc 0
# (the person's name is encoded in the ref name: rm@example%2Ecom)
expect_eq "$(git for-each-ref --format='%(refname)' "refs/envflow/approvals/production/$HOT/" | grep -c '/rm@example')" \
  1 "the hotfixer's own approval is recorded"
run envflow hotfix finish --no-sign
expect_rc 1
expect_err "it has 0 approvals of 1 needed"
expect_eq "$(ref_of . refs/heads/production)" "$PROD_BEFORE" "production while only the hotfixer approved"
run env ENVFLOW_ACTOR=qa@example.com envflow approve production --rev hotfix/four-eyes
expect_rc 0
run envflow hotfix finish --no-sign
expect_rc 0
expect_eq "$(ref_of . refs/heads/production)" "$HOT" "production after the approved hotfix"
expect_eq "$(git rev-parse refs/envflow/live^{})" "$HOT" "live after the approved hotfix"
git checkout -q dev

test_case "four eyes on hotfixes: the server refuses a raw push of the hotfix until approved"
SRV="$TEST_ROOT/server.git"
ENVFLOW_ACTOR=adam envflow init --bare "$SRV" >/dev/null
team_policy | sed 's/^groups:$/groups:\n  qa: [bob, carol]/' >"$TEST_ROOT/policy.yaml"
printf 'hotfix:\n  approvals: 1\n  approvers: [qa]\n' >>"$TEST_ROOT/policy.yaml"
ENVFLOW_ACTOR=adam envflow -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
envflow install-hooks --server "$SRV" >/dev/null
W="$TEST_ROOT/work"
git clone -q "file://$SRV" "$W"
(cd "$W" && envflow setup >/dev/null)
srv_audit() { git -C "$SRV" rev-list --count refs/envflow/audit; }
push_as() { # push_as USER ARGS...: a plain `git push` from the clone as USER
  local user=$1
  shift
  run env REMOTE_USER="$user" ENVFLOW_ACTOR="$user" git -C "$W" push "$@"
}
as() { # as USER CMD...: envflow in the clone as USER
  local user=$1
  shift
  run env REMOTE_USER="$user" ENVFLOW_ACTOR="$user" envflow -C "$W" "$@"
}
git -C "$W" checkout -q -b hotfix/srv origin/production
sed -i "s/^description: .*/description: hotfixed on the server/" "$W/agents/support.yaml"
git -C "$W" commit -q -am "support: hotfix by hand"
SHOT=$(ref_of "$W" HEAD)
SPROD=$(ref_of "$SRV" refs/heads/production)
push_as bob origin hotfix/srv
expect_rc 0
N=$(srv_audit)
push_as bob origin hotfix/srv:production
expect_rc 1
expect_err "remote: envflow: "
expect_err "needs 1 approval from qa (not counting bob)"
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$SPROD" "server production without the approval"
expect_eq "$(srv_audit)" "$N" "no record for the refused push"
# The hotfixer approves his own hotfix: recorded, not counted.
approve_hotfix_on_server bob
push_as bob origin hotfix/srv:production
expect_rc 1
expect_err "it has 0 approvals of 1 needed"
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$SPROD" "server production with only the hotfixer's approval"
# A second person approves: the same raw push goes through.
approve_hotfix_on_server carol
push_as bob origin hotfix/srv:production
expect_rc 0
expect_err "remote: envflow: production: hotfix of 1 commit by bob"
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$SHOT" "server production after the approved hotfix"

test_case "releases and backport list show the newest and the open ones unless told otherwise"
# Lists that grow with history are cut as gh's are: the newest 30 releases,
# the open back-port issues; -n/--limit, --state and --all widen them.
cd "$R"
# pick JSON EXPR: EXPR (Python, of `data`) on the JSON document JSON, as JSON.
pick() { python3 -c 'import json, sys; data = json.loads(sys.argv[1]); print(json.dumps(eval(sys.argv[2])))' "$1" "$2"; }
ALL_RELEASES=$(envflow releases --all --format json)
ALL_ISSUES=$(envflow backport list --all --format json)
expect_eq "$(pick "$ALL_RELEASES" 'len(data) > 1')" "true" "more than one release to list"
expect_eq "$(pick "$ALL_ISSUES" 'sorted({i["status"] for i in data})')" '["closed", "open"]' \
  "open and closed issues to list"
run envflow releases --format json
expect_eq "$OUT" "$ALL_RELEASES" "releases by default (fewer than 30)"
run envflow releases -n 1 --format json
expect_eq "$(pick "$OUT" '[r["tag"] for r in data]')" \
  "$(pick "$ALL_RELEASES" '[max(data, key=lambda r: [int(x) for x in r["tag"][1:].split(".")])["tag"]]')" \
  "releases -n 1: the newest version"
run envflow releases --limit 1
expect_rc 0
expect_err "envflow releases --all lists every one"
run envflow releases --limit 0 --format json
expect_eq "$OUT" "$ALL_RELEASES" "releases --limit 0"
run envflow backport list --format json
expect_eq "$(pick "$OUT" 'data')" "$(pick "$ALL_ISSUES" '[i for i in data if i["status"] == "open"]')" \
  "backport list: the open issues"
run envflow backport list --state closed --format json
expect_eq "$(pick "$OUT" 'data')" "$(pick "$ALL_ISSUES" '[i for i in data if i["status"] == "closed"]')" \
  "backport list --state closed"
run envflow backport list --state all -n 1 --format json
expect_eq "$(pick "$OUT" 'data')" "$(pick "$ALL_ISSUES" 'data[-1:]')" "backport list --state all -n 1"
run envflow backport list --state closed
expect_rc 0
expect_out "closed"
expect_no_out " open "
run envflow backport list --state maybe
expect_rc 2

test_case "remembered releases and back-port issues answer as a full read does"
# Each release tag and each back-port issue is read once and remembered by
# its object id (docs/architecture.md, "Derived state"); a run without the
# cache reads everything again. Both must say the same, however the memo got
# damaged and whatever tags and issues are added or removed by hand.
cd "$R"
export ENVFLOW_NOW=1900000000 # auto-closed issues carry "now"
MEMO=.git/envflow/cache/memo
same_as_full() {
  local what
  for what in releases "releases --all" "backport list" "backport list --all" status; do
    # shellcheck disable=SC2086
    expect_eq "$(envflow $what --format json)" "$(ENVFLOW_NO_CACHE=1 envflow $what --format json)" \
      "$1: envflow $what with the memo"
  done
}
rm -rf "$MEMO"
same_as_full "first run"
if [ -s "$MEMO/releases-1" ] && [ -s "$MEMO/backports-2" ]; then pass; else
  fail "no memo written: $(ls -la "$MEMO" 2>&1)"
fi
same_as_full "read from the memo"
for f in "$MEMO"/*; do head -c "$(($(stat -c %s "$f") / 2))" "$f" >"$f.cut" && mv "$f.cut" "$f"; done
same_as_full "memo files cut in half"
sed -i 's/"hotfix":false/"hotfix":true/' "$MEMO/releases-1"
same_as_full "a memo edited by hand (its sum no longer holds)"
git tag -a v9.0.0 -m "not made by envflow" production
git tag v9.0.1 production
same_as_full "tags that are not releases added by hand"
git tag -d v9.0.0 v9.0.1 >/dev/null
git tag -d "$V_BAD" >/dev/null
same_as_full "a release tag deleted by hand"
unset ENVFLOW_NOW

finish
