#!/usr/bin/env bash
# End-to-end: hotfixes and back-port issues (issue 4, "Hotfixes") with the
# real git CLI and a real ssh-keygen ed25519 key — the full story: content
# promoted and published; `hotfix start`, a fix, `hotfix finish` (production
# fast-forwarded, signed v1.0.1 with the hotfix marker, live moved, back-port
# issue 1 opened, notify command fed the JSON); sync into production refused
# while the issue is open; `backport apply`; fast-forward all the way up; the
# issue closed and the fix in production's tree. Then: a conflicting back-port
# lists the files and writes nothing; a manual `git merge` closes the issue;
# a merge that undoes the hotfix is refused at the production gate until dev
# changes the field on purpose; a failing notify command leaves the issue
# intact; a non-hotfixer is refused with nothing moved; a hotfix whose base is
# no longer production's head is refused; doctor and fsck clean at the end.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }
command -v ssh-keygen >/dev/null || { echo "ssh-keygen not found: skipped"; exit 125; }

ENVS=(dev test uat staging production)

# all_refs: every ref a hotfix or back-port may move, one line.
all_refs() {
  local r line=""
  for r in "${ENVS[@]}"; do line+="$r=$(ref_of "$R" "refs/heads/$r") "; done
  line+="live=$(ref_of "$R" refs/envflow/live) audit=$(ref_of "$R" refs/envflow/audit) "
  line+="backports=$(ref_of "$R" refs/envflow/backports) tags=$(git -C "$R" tag -l | tr '\n' ,)"
  echo "$line"
}
expect_unchanged() { expect_eq "$(all_refs)" "$1" "refs after a refusal"; }

commit_all() { git -C "$R" add -A && git -C "$R" commit -q -m "$1"; }

# promote FROM...: sync each named environment into the next; every one must succeed.
promote() {
  local env
  for env in "$@"; do
    run envflow sync "$env"
    expect_rc 0
  done
}

set_notify() {
  edit_config "import re
t = re.sub(r'\nbackport:\n  notify: .*\n', '\n', t)
t += '\nbackport:\n  notify: \"$1\"\n'"
}

# issue_field ID FIELD: a field of back-port issue ID as JSON.
issue_field() {
  envflow backport show "$1" --format json |
    python3 -c "import json,sys; print(json.dumps(json.load(sys.stdin)['$2']))"
}

R=$(new_repo story)
cd "$R"

# --- signing: an ed25519 key, its allowed-signers file on the config ref ---
ssh-keygen -q -t ed25519 -N '' -C alice -f "$TEST_ROOT/signing_key"
git config --global gpg.format ssh
git config --global user.signingKey "$TEST_ROOT/signing_key"
echo "alice@example.com namespaces=\"git\" $(cat "$TEST_ROOT/signing_key.pub")" \
  >"$TEST_ROOT/allowed_signers"
run envflow config put allowed_signers "$TEST_ROOT/allowed_signers"
expect_rc 0
edit_config "t = t.replace('release:\n  sign: true\n', 'release:\n  sign: true\n  allowed_signers: allowed_signers\n')"

# --- notify: a script that keeps what it is given ---
cat >"$TEST_ROOT/notify.sh" <<'EOF'
#!/bin/sh
cat >"$1"
EOF
cat >"$TEST_ROOT/notify-fails.sh" <<'EOF'
#!/bin/sh
cat >/dev/null
echo "tracker is down" >&2
exit 3
EOF
chmod +x "$TEST_ROOT/notify.sh" "$TEST_ROOT/notify-fails.sh"
set_notify "$TEST_ROOT/notify.sh $TEST_ROOT/notified.json"

# ---------------------------------------------------------------------------
test_case "content promoted to production and published"
sed -i 's/temperature: 0.3/temperature: 0.4/' agents/support.yaml
commit_all "Warmer support agent"
promote dev test uat staging
run envflow publish
expect_rc 0
expect_out "published v1.0.0"
V100=$(ref_of "$R" refs/heads/production)
expect_eq "$(ref_of "$R" refs/heads/dev)" "$V100" "production at dev's head"

test_case "hotfix start: branch from production, checked out"
run envflow hotfix start fix-tone
expect_rc 0
expect_out "hotfix/fix-tone"
expect_eq "$(git symbolic-ref --short HEAD)" "hotfix/fix-tone" "checked-out branch"
expect_eq "$(ref_of "$R" refs/heads/hotfix/fix-tone)" "$V100" "hotfix branch start"
run envflow hotfix start fix-tone
expect_rc 1
expect_err "already exists"
run envflow hotfix start bad/name
expect_rc 2

test_case "hotfix finish with no commits is refused"
BEFORE=$(all_refs)
run envflow hotfix finish
expect_rc 1
expect_err "no commits"
expect_unchanged "$BEFORE"

sed -i 's/^tone: empathetic/tone: friendly/' agents/support.yaml
commit_all "Support agent: friendly tone"
HOTFIX1=$(ref_of "$R" HEAD)

test_case "hotfix finish by a non-hotfixer is refused, nothing moved"
BEFORE=$(all_refs)
run envflow --actor mallory@example.com hotfix finish
expect_rc 1
# The rulebook refuses every ref the finish would move, each in its words.
expect_err "refs/heads/production: ${HOTFIX1:0:7} is not contained in staging (after this change): production moves by promotion from staging (envflow sync staging), or by a hotfix from a hotfixer (hotfixers), and mallory@example.com is not one"
expect_err "refs/tags/v1.0.1: mallory@example.com may not create release tags"
expect_err "refs/envflow/live: mallory@example.com may not move refs/envflow/live"
expect_unchanged "$BEFORE"

test_case "hotfix finish: production, signed tag, live, issue, notify"
run envflow hotfix finish -m "Friendlier tone for the support agent"
expect_rc 0
expect_out "v1.0.1"
expect_out "back-port issue 1"
expect_eq "$(ref_of "$R" refs/heads/production)" "$HOTFIX1" "production after finish"
expect_eq "$(ref_of "$R" refs/tags/v1.0.1)" "$HOTFIX1" "v1.0.1 commit"
expect_eq "$(git rev-parse refs/envflow/live)" "$(git rev-parse refs/tags/v1.0.1)" "live"
expect_eq "$(ref_of "$R" refs/heads/hotfix/fix-tone)" "$HOTFIX1" "hotfix branch kept"
if git cat-file tag v1.0.1 | grep -qx "hotfix: true"; then pass; else fail "no hotfix marker"; fi
if git cat-file tag v1.0.1 | grep -q "Friendlier tone"; then pass; else fail "no message in tag"; fi
if git -c gpg.ssh.allowedSignersFile="$TEST_ROOT/allowed_signers" verify-tag v1.0.1 2>/dev/null; then
  pass
else fail "git verify-tag v1.0.1 failed"; fi
run envflow verify v1.0.1
expect_rc 0
run envflow releases --format json
expect_json "[r['hotfix'] for r in data if r['tag'] == 'v1.0.1'] == [True] and [r['live'] for r in data if r['tag'] == 'v1.0.1'] == [True]"
if git log --format=%B -1 refs/envflow/audit | grep -qx "op: hotfix"; then pass; else
  fail "last audit record is not op: hotfix"; fi

test_case "back-port issue 1 is open, with commits and changed fields"
run envflow backport list
expect_rc 0
expect_out "open"
expect_out "v1.0.1"
run envflow backport show 1 --format json
expect_rc 0
expect_json \
  "data['id'] == 1 and data['status'] == 'open' and data['hotfix_tag'] == 'v1.0.1' and data['commits'] == ['$HOTFIX1'] and data['environment'] == 'production' and data['target'] == 'dev' and data['opened_by'] == 'alice@example.com' and data['closed_at'] is None" \
  "data['changes'] == [{'path': 'agents/support.yaml', 'kind': 'Agent', 'name': 'support', 'change': 'changed', 'fields': ['tone']}]"
if git show refs/envflow/backports:1.yaml | grep -qx "status: open"; then pass; else
  fail "refs/envflow/backports:1.yaml does not say status: open"; fi
run envflow status --format json
expect_rc 0
expect_json "data['open_backports'] == 1"
OUT=$(cat "$TEST_ROOT/notified.json" 2>/dev/null || true)
expect_json "data['id'] == 1 and data['hotfix_tag'] == 'v1.0.1' and data['status'] == 'open'"

test_case "dev moves on; sync into production refused naming issue 1"
git switch -q dev
sed -i 's/max_tokens: 800/max_tokens: 900/' agents/support.yaml
commit_all "Longer answers"
promote dev test uat
BEFORE=$(all_refs)
run envflow sync staging
expect_rc 1
expect_err "back-port issue 1"
expect_err "v1.0.1"
expect_err "envflow backport apply 1"
expect_unchanged "$BEFORE"

test_case "backport apply 1: merge commit in dev, issue closed, working tree updated"
DEV_BEFORE=$(ref_of "$R" refs/heads/dev)
run envflow backport apply 1
expect_rc 0
expect_out "back-ported"
DEV_NOW=$(ref_of "$R" refs/heads/dev)
expect_eq "$(git rev-parse "$DEV_NOW^1") $(git rev-parse "$DEV_NOW^2")" "$DEV_BEFORE $HOTFIX1" "merge parents"
expect_eq "$(git status --porcelain)" "" "working tree after apply"
if grep -qx "tone: friendly" agents/support.yaml; then pass; else fail "working tree lacks the fix"; fi
expect_eq "$(issue_field 1 status)" '"closed"' "issue 1 status"
expect_eq "$(issue_field 1 closed_by)" '"alice@example.com"' "issue 1 closed_by"
if git log --format=%B -1 refs/envflow/audit | grep -qx "op: backport-apply"; then pass; else
  fail "last audit record is not op: backport-apply"; fi
run envflow backport apply 1
expect_rc 0
expect_out "already closed"

test_case "before the fix comes up, the fast-forward refusal names the hotfix and its issue"
BEFORE=$(all_refs)
run envflow sync staging
expect_rc 1
expect_err "hotfix release v1.0.1 (back-port issue 1, closed)"
expect_unchanged "$BEFORE"

test_case "the pipeline fast-forwards all the way; the fix is in production"
promote dev test uat staging
expect_eq "$(ref_of "$R" refs/heads/production)" "$DEV_NOW" "production after the sync chain"
PROD_AGENT=$(git show production:agents/support.yaml)
if grep -qx "tone: friendly" <<<"$PROD_AGENT" && grep -q "max_tokens: 900" <<<"$PROD_AGENT"; then
  pass
else fail "production's agents/support.yaml lacks the fix or dev's change"; fi
run envflow publish --bump minor
expect_rc 0
expect_out "v1.1.0"

# ---------------------------------------------------------------------------
test_case "second hotfix; dev changes the same line: back-port conflicts, nothing written"
run envflow hotfix start fix-temperature
expect_rc 0
sed -i 's/temperature: 0.4/temperature: 0.2/' agents/support.yaml
commit_all "Cooler support agent"
HOTFIX2=$(ref_of "$R" HEAD)
run envflow hotfix finish
expect_rc 0
expect_out "back-port issue 2"
git switch -q dev
sed -i 's/temperature: 0.4/temperature: 0.5/' agents/support.yaml
commit_all "Warmer still"
BEFORE=$(all_refs)
run envflow backport apply 2
expect_rc 1
expect_err "CONFLICT agents/support.yaml"
expect_err "nothing was written"
expect_unchanged "$BEFORE"
expect_eq "$(git status --porcelain)" "" "working tree after a conflicting apply"
expect_eq "$(issue_field 2 status)" '"open"' "issue 2 after a conflict"

test_case "manual back-port by git merge closes the issue (here undoing the fix)"
# A server with envflow's hooks (a mirror of this repository) writes the
# closure when the merge is pushed; alone, the issue reads as closed.
SRV="$TEST_ROOT/server.git"
git clone -q --mirror "$R" "$SRV"
envflow install-hooks --server "$SRV" >/dev/null
TRAIL=$(ref_of "$R" refs/envflow/audit)
git merge -q v1.1.1 >/dev/null 2>&1 || true
git checkout -q --ours agents/support.yaml
git add agents/support.yaml
git commit -q --no-edit
run envflow backport list --all --format json
expect_rc 0
expect_json "[i['status'] for i in data] == ['closed', 'closed'] and data[1]['closed_by'] == 'auto'"
expect_eq "$(ref_of "$R" refs/envflow/audit)" "$TRAIL" "alone, a commit by plain git writes no record"
run env ENVFLOW_ACTOR=alice@example.com git push "$SRV" dev
expect_rc 0
expect_err "back-port issue 2 closed"
if git -C "$SRV" log --format=%B -1 refs/envflow/audit | grep -qx "op: backport-close"; then pass; else
  fail "the server's last audit record is not op: backport-close"; fi
if git -C "$SRV" log --format=%B -2 refs/envflow/audit | grep -qx "op: push"; then pass; else
  fail "the server did not record the push"; fi

test_case "a sync that would undo the hotfix is refused naming file and field"
promote dev test uat
BEFORE=$(all_refs)
run envflow sync staging
expect_rc 1
expect_err "agents/support.yaml field model.temperature"
expect_err "v1.1.1"
expect_unchanged "$BEFORE"

test_case "a later dev commit that changes the field on purpose lets it through"
sed -i 's/temperature: 0.5/temperature: 0.6/' agents/support.yaml
commit_all "Temperature 0.6, on purpose after hotfix v1.1.1"
promote dev test uat staging
expect_eq "$(ref_of "$R" refs/heads/production)" "$(ref_of "$R" refs/heads/dev)" "production"

# ---------------------------------------------------------------------------
test_case "a failing notify command: warning, exit 0, issue intact"
set_notify "$TEST_ROOT/notify-fails.sh"
run envflow hotfix start fix-fallback
expect_rc 0
run envflow hotfix start too-late
expect_rc 0
git switch -q hotfix/fix-fallback
sed -i 's/response_length: medium/response_length: short/' agents/support.yaml
commit_all "Shorter responses"
run envflow hotfix finish
expect_rc 0
expect_err "warning"
expect_err "tracker is down"
expect_out "back-port issue 3"
expect_eq "$(issue_field 3 status)" '"open"' "issue 3 after a failed notify"

test_case "a hotfix started before production moved is refused: rebase"
git switch -q hotfix/too-late
sed -i 's/allow_small_talk: true/allow_small_talk: false/' agents/support.yaml
commit_all "No small talk"
BEFORE=$(all_refs)
run envflow hotfix finish
expect_rc 1
expect_err "rebase"
expect_unchanged "$BEFORE"

test_case "back-port 3 and promote: everything in line again"
git switch -q dev
run envflow backport apply 3
expect_rc 0
expect_out "working tree updated"
if grep -q "response_length: short" agents/support.yaml; then pass; else
  fail "working tree lacks hotfix 3"; fi
promote dev test uat staging
expect_eq "$(ref_of "$R" refs/heads/production)" "$(ref_of "$R" refs/heads/dev)" "production"
run envflow backport list --all --format json
expect_json "all(i['status'] == 'closed' for i in data) and len(data) == 3"

test_case "doctor and fsck clean at the end"
run envflow doctor
expect_rc 0
if grep -qi "error" <<<"$OUT"; then fail "doctor reports an error: $OUT"; else pass; fi
if out=$(git fsck --strict --no-progress 2>&1); then pass; else fail "git fsck --strict: $out"; fi

test_case "a hand-edited malformed issue is refused with file, line and column"
BLOB=$(git show refs/envflow/backports:3.yaml | sed 's/^status: closed/status: maybe/' |
  git hash-object -w --stdin)
TREE=$(git ls-tree refs/envflow/backports | sed "s/[0-9a-f]\{40\}\t3.yaml/$BLOB\t3.yaml/" | git mktree)
git update-ref refs/envflow/backports "$(git commit-tree -p refs/envflow/backports -m "hand edit" "$TREE")"
run envflow backport list
expect_rc 1
expect_err "refs/envflow/backports:3.yaml:3:9: error: 'status' must be open or closed, not 'maybe'"

finish
