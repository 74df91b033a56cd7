#!/usr/bin/env bash
# End-to-end: hostile input (issue 8, the bad-input catalogue in
# docs/reliability.md). Each case feeds envflow one kind of input an attacker
# or a careless hand could produce, through the route it would arrive by
# (validate, the pre-commit hook, a push to the server, a command line), and
# checks what envflow does: the exit code, the message, and that nothing
# else changed. Cases already proved elsewhere are named in the catalogue
# and not repeated here.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

# timed OUTFILE CMD...: run CMD like `run`, with its wall time (s) and peak
# resident memory (KiB) in $SECONDS_TAKEN and $PEAK_KB (empty without GNU time).
timed() {
  local stats=$1
  shift
  if [ -x /usr/bin/time ]; then
    run /usr/bin/time -f '%e %M' -o "$stats" "$@"
    # GNU time puts "Command exited with non-zero status N" first when it does.
    read -r SECONDS_TAKEN PEAK_KB < <(tail -1 "$stats")
  else
    local t0
    t0=$(date +%s)
    run "$@"
    SECONDS_TAKEN=$(($(date +%s) - t0))
    PEAK_KB=""
  fi
}

# expect_fast LIMIT_S [LIMIT_KB]: the last `timed` command stayed under the
# memory bound (a hostile input must not exhaust memory). Its time is printed,
# not asserted: a busy machine is no failure, and speed targets live in bench/
# (docs/performance.md). LIMIT_S is the time the bench expects, for the log.
expect_fast() {
  if [ -n "${2:-}" ] && [ -n "$PEAK_KB" ]; then
    if [ "$PEAK_KB" -le "$2" ]; then pass; else fail "peak memory ${PEAK_KB} KiB (limit $2 KiB)"; fi
  fi
  echo "  [$CURRENT] ${SECONDS_TAKEN}s (bench target ${1}s), peak ${PEAK_KB:-?} KiB"
}

R=$(new_repo ws)
cd "$R"

# ===========================================================================
# Content: validate, the pre-commit hook, validate --rev
# ===========================================================================
test_case "deep nesting: 10,000 levels of [ refused at once"
python3 -c "print('kind: Agent\nname: deep\ndescription: ' + '[' * 10000 + ']' * 10000)" >agents/deep.yaml
timed "$TEST_ROOT/t" envflow validate
expect_rc 1
expect_out "agents/deep.yaml:3:"
expect_out "nesting exceeds"
expect_out "[yaml-limit]"
expect_fast 5 65536
git add agents/deep.yaml
run git commit -q -m "deep"
expect_rc 1
expect_err "[yaml-limit]"
git reset -q
rm agents/deep.yaml

test_case "deep nesting: unclosed, and in block style"
python3 -c "print('kind: Agent\nname: deep\ndescription: ' + '[' * 10000)" >agents/deep.yaml
run envflow validate
expect_rc 1
expect_out "[yaml-limit]"
python3 -c "print('kind: Agent\nname: deep\ndescription:\n' + ''.join(' ' * i + '- ' + chr(10) for i in range(1000)))" >agents/deep.yaml
run envflow validate
expect_rc 1
expect_out "agents/deep.yaml:"
expect_out "[yaml-limit]"
rm agents/deep.yaml

test_case "case-colliding names: refused, both paths named"
cp knowledge/product-faq/returns.md knowledge/product-faq/Returns.md
run envflow validate
expect_rc 1
expect_out "knowledge/product-faq/Returns.md:1:1: error: 'knowledge/product-faq/Returns.md' and 'knowledge/product-faq/returns.md' differ only in letter case"
expect_out "knowledge/product-faq/returns.md:1:1: error:"
expect_out "[case-collision]"
git add knowledge/product-faq/Returns.md
run git commit -q -m "Returns, capitalised"
expect_rc 1
expect_err "[case-collision]"
git commit -q --no-verify -m "Returns, capitalised"
run envflow validate --rev HEAD
expect_rc 1
expect_out "case-insensitive filesystem"
git reset -q --hard HEAD~1

test_case "case-colliding kind files: refused even where the schema passes"
sed 's/^name: support/name: Support/' agents/support.yaml >agents/SUPPORT.yaml
run envflow validate agents
expect_rc 1
expect_out "agents/SUPPORT.yaml:1:1: error: 'agents/SUPPORT.yaml' and 'agents/support.yaml' differ only in letter case"
rm agents/SUPPORT.yaml

test_case "100 MB file: refused by its size, without reading it"
head -c 100000000 /dev/zero | tr '\0' 'x' >knowledge/product-faq/huge.md
timed "$TEST_ROOT/t" envflow validate
expect_rc 1
expect_out "knowledge/product-faq/huge.md:1:1: error: file is 95.4 MiB, over the 1.0 MiB limit"
expect_out "[file-too-large]"
expect_fast 5 65536
git add knowledge/product-faq/huge.md
timed "$TEST_ROOT/t" envflow hook pre-commit # what git commit runs, on the index
expect_rc 1
expect_err "[file-too-large]"
expect_fast 5 65536
git commit -q --no-verify -m "A huge document"
BIG_COMMIT=$(git rev-parse HEAD)
timed "$TEST_ROOT/t" envflow validate --rev HEAD
expect_rc 1
expect_out "[file-too-large]"
expect_fast 5 65536
git reset -q --hard HEAD~1

# ===========================================================================
# Names: refs, paths
# ===========================================================================
test_case "hotfix names that are not valid refs: usage error, nothing created"
REFS=$(git for-each-ref)
for name in 'a..b' 'a b' 'x.lock' 'a/b' '.hidden' 'a~1' 'a^' 'a:b' 'a?' 'a*' 'a[' 'a\b' '@' 'x@{1}' \
  "$(printf 'tab\there')"; do
  run envflow hotfix start "$name"
  expect_rc 2
  expect_err "cannot name a hotfix branch"
done
run envflow hotfix start -- -x # after --, so it is the name and not an option
expect_rc 2
expect_err "'-x' cannot name a hotfix branch"
expect_eq "$(git for-each-ref)" "$REFS" "refs after refused hotfix names"
expect_eq "$(git symbolic-ref --short HEAD)" "dev" "still on dev"

test_case "config: branch and environment names that are not valid refs: refused"
envflow config show >"$TEST_ROOT/good.yaml"
CONFIG=$(ref_of . refs/envflow/config)
for branch in '-x' '"a b"' 'a..b' 'x.lock' 'a/' '/a' 'a//b' '"a@{1}"' 'a~1' 'a:b' '"a*"' '.a' 'a.'; do
  sed "0,/^    branch: test\$/s||    branch: $branch|" "$TEST_ROOT/good.yaml" >"$TEST_ROOT/bad.yaml"
  run envflow config edit --file "$TEST_ROOT/bad.yaml"
  expect_rc 1
  expect_err "environments[1].branch"
done
for name in 'Test' '"te st"' '"-test"' '"test;rm"'; do
  sed "0,/^  - name: test\$/s//  - name: $name/" "$TEST_ROOT/good.yaml" >"$TEST_ROOT/bad.yaml"
  run envflow config edit --file "$TEST_ROOT/bad.yaml"
  expect_rc 1
  expect_err "environments[1].name"
done
expect_eq "$(ref_of . refs/envflow/config)" "$CONFIG" "config after refused names"

test_case "config put: a name that escapes the config ref is a usage error"
echo data >"$TEST_ROOT/data"
for name in '../x' '/etc/passwd' 'a/../../x' 'a\b' 'envflow.yaml' ''; do
  run envflow config put "$name" "$TEST_ROOT/data"
  expect_rc 2
done
expect_eq "$(ref_of . refs/envflow/config)" "$CONFIG" "config after refused puts"

# ===========================================================================
# Shell metacharacters reaching backport.notify
# ===========================================================================
test_case "hotfix names with \$( ), \` \`, ;: refused; messages and commit summaries reach notify as inert data"
REFS=$(git for-each-ref)
for name in '$(touch${IFS}pwned1)' ';touch${IFS}pwned2;' '`touch${IFS}pwned3`' '|touch${IFS}pwned4' '&&touch${IFS}pwned5'; do
  run envflow hotfix start "$name"
  expect_rc 2
  expect_err "cannot name a hotfix branch: use a letter or digit"
done
expect_err "envflow: error: '&&touch\${IFS}pwned5' cannot name"
expect_eq "$(git for-each-ref)" "$REFS" "refs after refused hotfix names"
mkdir -p "$TEST_ROOT/victim"
cat >"$TEST_ROOT/notify.sh" <<'EOF'
#!/bin/sh
# Keeps what it is given: its arguments, one per line, and the issue on stdin.
out=$1
shift
printf '%s\n' "$@" >"$out.args"
cat >"$out.json"
EOF
chmod +x "$TEST_ROOT/notify.sh"
envflow config show | python3 -c "
import sys
t = sys.stdin.read().replace('release:\n  sign: true', 'release:\n  sign: false')
t += '\nbackport:\n  notify: \"$TEST_ROOT/notify.sh $TEST_ROOT/got\"\n'
sys.stdout.write(t)" >"$TEST_ROOT/notify.yaml"
run envflow config edit --file "$TEST_ROOT/notify.yaml"
expect_rc 0
n=0
for name in inert-1 inert-2 inert-3 inert-4 inert-5; do
  n=$((n + 1))
  MSG="\$(touch $TEST_ROOT/pwned-m$n); rm -rf $TEST_ROOT/victim; \`touch $TEST_ROOT/pwned-b$n\` | sh"
  SUMMARY="';touch $TEST_ROOT/pwned-s$n;' \"\$(id)\""
  run envflow hotfix start "$name"
  expect_rc 0
  sed -i "s/^description: .*/description: Hotfix number $n./" agents/triage.yaml
  git commit -q --no-verify -am "$SUMMARY"
  run envflow hotfix finish --no-sign -m "$MSG"
  expect_rc 0
  expect_out "notified"
  git switch -q dev
  expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hotfix"])' "$TEST_ROOT/got.json")" \
    "$name" "the hotfix name notify got"
  expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"])' "$TEST_ROOT/got.json")" \
    "$MSG" "the summary notify got"
  expect_eq "$(cat "$TEST_ROOT/got.args")" "" "arguments beyond the policy's own"
done
PWNED=$(find "$TEST_ROOT" "$R" / -maxdepth 1 -name 'pwned*' 2>/dev/null | head -5)
expect_eq "$PWNED" "" "marker files made by a payload"
if [ -d "$TEST_ROOT/victim" ]; then pass; else fail "rm -rf in a message ran"; fi
run envflow backport list --format json
expect_rc 0
expect_out '"hotfix": "inert-1"'

# ===========================================================================
# A back-port issue edited by hand, locally
# ===========================================================================
test_case "locally: a back-port closed by hand, hotfix not in dev: doctor exit 1"
ISSUE=$(git show refs/envflow/backports:1.yaml)
HOTFIX1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["commits"][0])' <(envflow backport list --format json))
BLOB=$(sed 's/^status: open/status: closed/' <<<"$ISSUE" | git hash-object -w --stdin)
TREE=$(git ls-tree refs/envflow/backports | sed "s/[0-9a-f]\{40\}\t1.yaml/$BLOB\t1.yaml/" | git mktree)
git update-ref refs/envflow/backports "$(git commit-tree -p refs/envflow/backports -m "closed by hand" "$TREE")"
run envflow doctor
expect_rc 1
expect_out "production has"
expect_out "${HOTFIX1:0:7}"

# ===========================================================================
# Policy that grants nobody
# ===========================================================================
R2=$(new_repo policy)
cd "$R2"
envflow config show >"$TEST_ROOT/p.yaml"
CONFIG=$(ref_of . refs/envflow/config)
# policy_with PYTHON: the config with a change made by a python expression on t.
policy_with() {
  python3 -c "
import sys
t = open('$TEST_ROOT/p.yaml').read()
$1
sys.stdout.write(t)" >"$TEST_ROOT/p2.yaml"
}

test_case "approvals no approver can give: config edit refused"
policy_with "t = t.replace('approvals: 0', 'approvals: 2', 1)"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 1
expect_err "environment 'test' needs 2 approvals, but its approvers (release-managers) have 1 member: nothing could ever be synced into test"
expect_err "[pipeline]"
policy_with "t = t.replace('approvals: 0\n    approvers: [\"release-managers\"]\n', 'approvals: 1\n', 1)"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 1
expect_err "needs 1 approval, but its approvers (none) have 0 members"
policy_with "t = t.replace('approvals: 0\n    approvers: [\"release-managers\"]', 'approvals: 1\n    approvers: [\"qa\"]', 1).replace('groups:\n', 'groups:\n  qa: []\n', 1)"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 1
expect_err "approvers (qa) have 0 members"
expect_eq "$(ref_of . refs/envflow/config)" "$CONFIG" "config after refused policies"

test_case "approvals someone can give: accepted"
policy_with "t = t.replace('approvals: 0\n    approvers: [\"release-managers\"]', 'approvals: 1\n    approvers: [\"qa\"]', 1).replace('groups:\n', 'groups:\n  qa: [\"carol@example.com\"]\n', 1)"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 0
policy_with "t = t.replace('approvals: 0\n    approvers: [\"release-managers\"]', 'approvals: 3\n    approvers: [\"*\"]', 1)"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 0
CONFIG=$(ref_of . refs/envflow/config)

test_case "admin groups with no members: refused (nobody could mend the policy)"
policy_with "t = t.replace('  admins: [\"alice@example.com\"]', '  admins: []')"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 1
expect_err "the admin groups (admins) have no members: nobody could change the pipeline config any more"
expect_eq "$(ref_of . refs/envflow/config)" "$CONFIG" "config after a refused lock-out"

test_case "approvals only the promoters themselves could give: accepted, with a warning"
policy_with "t = t.replace('approvals: 0', 'approvals: 1', 1)"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 0
expect_err "envflow: warning: environment 'test' needs 1 approval from release-managers (1 member), and everyone who may promote into it is one of them"
sed -i 's/^description: .*/description: Waits for an approval./' agents/support.yaml
git commit -q --no-verify -am "Waits for an approval"
run envflow sync dev
expect_rc 1
expect_err "needs 1 approval"
run envflow config edit --file "$TEST_ROOT/p.yaml"
expect_rc 0

test_case "nobody may promote, publish or hotfix: accepted, with a warning each"
policy_with "
i = t.index('  - name: uat')
t = t[:i] + t[i:].replace('promote: [\"release-managers\"]', 'promote: []', 1)
t = t.replace('  publishers: [\"alice@example.com\"]', '  publishers: []').replace('  hotfixers: [\"alice@example.com\"]', '  hotfixers: []')"
run envflow config edit --file "$TEST_ROOT/p2.yaml"
expect_rc 0
expect_err "envflow: warning: nobody may promote into uat (promote: none): the pipeline stops before it"
expect_err "envflow: warning: nobody may publish a release or roll back (publishers)"
expect_err "envflow: warning: nobody may finish a hotfix (hotfixers)"

# ===========================================================================
# The server: content, forged records, back-port issues, policy
# ===========================================================================
SRV="$TEST_ROOT/server.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare "$SRV" >/dev/null
policy_yaml -g developers=alice -g release-managers=bob,carol -g operators=olga -g publishers=paul \
  -g hotfixers=hank -g admins=adam -i REMOTE_USER dev test production >"$TEST_ROOT/policy.yaml"
run env ENVFLOW_ACTOR=adam envflow -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml"
expect_rc 0
envflow install-hooks --server "$SRV" >/dev/null
W="$TEST_ROOT/work"
git clone -q "file://$SRV" "$W"
git -C "$W" checkout -q dev 2>/dev/null || git -C "$W" checkout -q -b dev origin/dev
(cd "$W" && envflow setup >/dev/null)

# The server's envflow refs as the clone sees them (envflow setup's fetch refspec).
SV=refs/envflow-remote/origin/envflow
records() { git -C "$SRV" rev-list --count refs/envflow/audit; }
push_as() {
  local user=$1
  shift
  run env REMOTE_USER="$user" ENVFLOW_ACTOR="$user" git -C "$W" push "$@"
}
refresh() {
  git -C "$W" fetch -q origin
  git -C "$W" reset -q --hard origin/dev
  local b
  for b in test production; do git -C "$W" branch -q -f "$b" "origin/$b"; done
}
# push_content PATH: commit PATH (already written in the clone) on dev and push as alice.
push_content() {
  git -C "$W" add -A
  git -C "$W" commit -q --no-verify -m "hostile: $1"
  push_as alice origin dev
}

test_case "server: malformed YAML, deep nesting, an alias bomb, a case collision: refused"
BEFORE=$(server_refs)
printf 'kind: Agent\nname: bad\ndescription: [unclosed\n' >"$W/agents/bad.yaml"
push_content agents/bad.yaml
expect_rc 1
expect_err "remote: envflow:   agents/bad.yaml:"
expect_err "[yaml-syntax]"
expect_eq "$(server_refs)" "$BEFORE" "server refs"
refresh
python3 -c "print('kind: Agent\nname: deep\ndescription: ' + '[' * 10000 + ']' * 10000)" >"$W/agents/deep.yaml"
push_content agents/deep.yaml
expect_rc 1
expect_err "[yaml-limit]"
refresh
{
  printf 'kind: Agent\nname: bomb\n'
  printf 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
  for i in 1 2 3 4 5 6 7 8 9; do
    printf 'a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n' "$i" "$i" $((i - 1)) $((i - 1)) \
      $((i - 1)) $((i - 1)) $((i - 1)) $((i - 1)) $((i - 1)) $((i - 1)) $((i - 1))
  done
} >"$W/agents/bomb.yaml"
git -C "$W" add -A
git -C "$W" commit -q --no-verify -m "hostile: alias bomb"
timed "$TEST_ROOT/t" env REMOTE_USER=alice git -C "$W" push origin dev
expect_rc 1
expect_err "[yaml-limit]"
expect_fast 10
refresh
cp "$W/knowledge/product-faq/returns.md" "$W/knowledge/product-faq/RETURNS.md"
push_content knowledge/product-faq/RETURNS.md
expect_rc 1
expect_err "knowledge/product-faq/RETURNS.md:1:1: error: 'knowledge/product-faq/RETURNS.md' and 'knowledge/product-faq/returns.md' differ only in letter case"
expect_eq "$(server_refs)" "$BEFORE" "server refs"
refresh

test_case "server: a 100 MB file is refused by its size, quickly and in little memory"
# The hook's envflow runs under GNU time (ENVFLOW_BIN reaches the hook
# through git receive-pack's environment, as on a server).
if [ -x /usr/bin/time ]; then
  printf '#!/bin/sh\nexec /usr/bin/time -a -f "%%e %%M" -o "%s" "%s" "$@"\n' "$TEST_ROOT/hook.time" "$ENVFLOW" \
    >"$TEST_ROOT/timed-envflow"
  chmod +x "$TEST_ROOT/timed-envflow"
  export ENVFLOW_BIN="$TEST_ROOT/timed-envflow"
fi
head -c 100000000 /dev/zero | tr '\0' 'x' >"$W/knowledge/product-faq/huge.md"
git -C "$W" add -A
git -C "$W" commit -q --no-verify -m "hostile: a huge document"
rm -f "$TEST_ROOT/hook.time"
timed "$TEST_ROOT/t" env REMOTE_USER=alice git -C "$W" push origin dev
expect_rc 1
expect_err "knowledge/product-faq/huge.md:1:1: error: file is 95.4 MiB, over the 1.0 MiB limit"
expect_fast 30
unset ENVFLOW_BIN
if [ -f "$TEST_ROOT/hook.time" ]; then
  read -r SECONDS_TAKEN PEAK_KB < <(grep -v Command "$TEST_ROOT/hook.time" | sort -k2 -n | tail -1)
  CURRENT="server: the pre-receive hook alone on the 100 MB push"
  expect_fast 5 65536
fi
expect_eq "$(server_refs)" "$BEFORE" "server refs"
refresh

# alice_pushes_change MESSAGE: alice commits "MESSAGE." as the support
# agent's description on dev, pushes it (must succeed) and refreshes.
alice_pushes_change() {
  sed -i "s/^description: .*/description: $1./" "$W/agents/support.yaml"
  git -C "$W" commit -q -am "$1"
  push_as alice origin dev
  expect_rc 0
  refresh
}

test_case "server: a forged record of a move the push does not make: refused"
# The audit trail is written by the server alone (post-receive, one record per
# accepted push): a record made by hand is refused whatever it says.
alice_pushes_change "A valid change"
BEFORE=$(server_refs)
TEST_HEAD=$(ref_of "$SRV" refs/heads/test)
DEV_HEAD=$(ref_of "$SRV" refs/heads/dev)
# forge_record USER TEXT: a record commit on top of the server's audit trail.
forge_record() {
  printf '%s\n' "$2" >"$TEST_ROOT/record.msg"
  GIT_AUTHOR_NAME=$1 GIT_COMMITTER_NAME=$1 git -C "$W" commit-tree -p "$SV/audit" \
    -F "$TEST_ROOT/record.msg" 4b825dc642cb6eb9a060e54bf8d69288fbee4904
}
FORGED=$(forge_record bob "envflow sync test

op: sync
env: test
actor: bob
time: 2026-01-01T00:00:00Z
tool: envflow 0.1.0
move: refs/heads/test $TEST_HEAD $DEV_HEAD
commit: $DEV_HEAD
note: dev -> test")
push_as bob origin "$FORGED:refs/envflow/audit"
expect_rc 1
expect_err "refs/envflow/audit is written by the server itself"
expect_eq "$(server_refs)" "$BEFORE" "server refs"
push_as adam origin "$FORGED:refs/envflow/audit"
expect_rc 1
expect_err "refs/envflow/audit is written by the server itself"
push_as bob origin "$FORGED:refs/envflow/pending"
expect_rc 1
expect_err "refs/envflow/pending is a clone's list of operations made offline"
push_as bob origin "$FORGED:refs/envflow/audit-copy"
expect_rc 1
expect_err "only admins (admins) may push refs/envflow/audit-copy"
expect_eq "$(server_refs)" "$BEFORE" "server refs"

test_case "server: a replayed record of a move already on the trail: refused"
RECORDS=$(records)
run env ENVFLOW_ACTOR=bob REMOTE_USER=bob envflow -C "$W" sync dev --push
expect_rc 0
refresh
expect_eq "$(records)" "$((RECORDS + 1))" "records after one accepted push"
SYNC_RECORD=$(git -C "$SRV" log -1 --format=%B refs/envflow/audit)
expect_eq "$(grep -c "^move: refs/heads/test $TEST_HEAD $DEV_HEAD\$" <<<"$SYNC_RECORD")" 1 "the sync's record"
BEFORE=$(server_refs)
REPLAY=$(forge_record bob "$SYNC_RECORD")
push_as bob origin "$REPLAY:refs/envflow/audit"
expect_rc 1
expect_err "refs/envflow/audit is written by the server itself"
expect_eq "$(server_refs)" "$BEFORE" "server refs"

test_case "server: a move pushed with a record of its own: all refused; alone: one record, the server's"
alice_pushes_change "One more change"
BEFORE=$(server_refs)
RECORDS=$(records)
TEST_HEAD=$(ref_of "$SRV" refs/heads/test)
DEV_HEAD=$(ref_of "$SRV" refs/heads/dev)
OWN=$(forge_record bob "envflow sync test

op: sync
env: test
actor: bob
move: refs/heads/test $TEST_HEAD $DEV_HEAD")
# Not --atomic: pre-receive refuses the whole push when one ref is refused.
push_as bob origin "$DEV_HEAD:refs/heads/test" "$OWN:refs/envflow/audit"
expect_rc 1
expect_err "refs/envflow/audit is written by the server itself"
expect_eq "$(server_refs)" "$BEFORE" "server refs"
push_as bob origin "$DEV_HEAD:refs/heads/test"
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$DEV_HEAD" "test on the server"
expect_eq "$(records)" "$((RECORDS + 1))" "records after the promotion"
LAST=$(git -C "$SRV" log -1 --format=%B refs/envflow/audit)
expect_eq "$(grep -c "^move: refs/heads/test $TEST_HEAD $DEV_HEAD\$" <<<"$LAST")" 1 "the promotion's record"
expect_eq "$(grep '^actor: ' <<<"$LAST")" "actor: bob" "who the server recorded"
expect_eq "$(git -C "$SRV" rev-parse refs/envflow/audit^)" "$(cut -d' ' -f2 <<<"$(grep '^refs/envflow/audit ' <<<"$BEFORE")")" \
  "the record's parent: the trail before the push"
refresh

test_case "server: back-port issues edited by hand by a non-admin: refused"
# A hotfix pushed straight to production by the hotfixer opens issue 1.
git -C "$W" checkout -q -b hotfix/x origin/production
sed -i 's/^description: .*/description: Hotfixed on the server./' "$W/agents/triage.yaml"
git -C "$W" commit -q -am "Hotfix on the server"
push_as hank origin hotfix/x:production
expect_rc 0
expect_err "back-port issue 1 opened"
git -C "$W" checkout -q dev
refresh
BEFORE=$(server_refs)
# edit_issue SED: a backports commit on the clone's with 1.yaml edited by SED.
edit_issue() {
  local blob tree
  blob=$(git -C "$W" show "$SV/backports:1.yaml" | sed "$1" | git -C "$W" hash-object -w --stdin)
  tree=$(git -C "$W" ls-tree "$SV/backports" | sed "s/[0-9a-f]\{40\}\t1.yaml/$blob\t1.yaml/" |
    git -C "$W" mktree)
  git -C "$W" commit-tree -p "$SV/backports" -m "edited by hand" "$tree"
}
DEV_HEAD=$(ref_of "$SRV" refs/heads/dev)
CLOSE="s/^status: open/status: closed/; s/^closed_by: .*/closed_by: \"alice\"/;"
CLOSE+=" s/^closed_at: .*/closed_at: \"2026-01-01T00:00:00Z\"/; s/^closed_in: .*/closed_in: \"$DEV_HEAD\"/"
push_as alice origin "$(edit_issue 's/^status: open/status: closed/'):refs/envflow/backports"
expect_rc 1
expect_err "a closed issue needs closed_by and closed_at"
push_as alice origin "$(edit_issue "$CLOSE"):refs/envflow/backports"
expect_rc 1
expect_err "back-port issue 1 is closed, but its hotfix commits are not all in dev (after this change)"
push_as bob origin "$(edit_issue 's/^summary: .*/summary: nothing to see/'):refs/envflow/backports"
expect_rc 1
expect_err "back-port issue 1 is rewritten"
EMPTY=$(git -C "$W" commit-tree -p "$SV/backports" -m "gone" 4b825dc642cb6eb9a060e54bf8d69288fbee4904)
push_as bob origin "$EMPTY:refs/envflow/backports"
expect_rc 1
expect_err "back-port issue 1.yaml is deleted"
BLOB=$(git -C "$W" show "$SV/backports:1.yaml" | sed 's/^id: 1/id: 2/' | git -C "$W" hash-object -w --stdin)
TREE=$( (git -C "$W" ls-tree "$SV/backports"; printf '100644 blob %s\t2.yaml\n' "$BLOB") | git -C "$W" mktree)
push_as bob origin "$(git -C "$W" commit-tree -p "$SV/backports" -m "a new issue" "$TREE"):refs/envflow/backports"
expect_rc 1
expect_err "back-port issue 2 is opened by bob (REMOTE_USER), who is not a hotfixer"
expect_eq "$(server_refs)" "$BEFORE" "server refs"

test_case "server: an admin may mend an issue by hand; envflow's own closing is accepted"
push_as adam origin "$(edit_issue 's/^summary: .*/summary: Hotfix on the server (triage tone)/'):refs/envflow/backports"
expect_rc 0
refresh
run env ENVFLOW_ACTOR=alice REMOTE_USER=alice envflow -C "$W" backport apply 1 --push
expect_rc 0
expect_eq "$(git -C "$SRV" show refs/envflow/backports:1.yaml | grep '^status:')" "status: closed" "issue 1 on the server"

test_case "server: a pushed config that grants nobody is refused"
refresh
sed 's/^    promote: \[release-managers\]$/    promote: [release-managers]\n    approvals: 3\n    approvers: [release-managers]/' \
  "$TEST_ROOT/policy.yaml" >"$TEST_ROOT/policy2.yaml"
BLOB=$(git -C "$W" hash-object -w "$TEST_ROOT/policy2.yaml")
TREE=$(printf '100644 blob %s\tenvflow.yaml\n' "$BLOB" | git -C "$W" mktree)
BEFORE=$(server_refs)
push_as adam origin "$(git -C "$W" commit-tree -p "$SV/config" -m "impossible" "$TREE"):refs/envflow/config"
expect_rc 1
expect_err "refs/envflow/config: the config is invalid:"
expect_err "environment 'test' needs 3 approvals, but its approvers (release-managers) have 2 members"
expect_eq "$(server_refs)" "$BEFORE" "server refs"

test_case "server: garbage on the hook's standard input is a usage error"
run sh -c "printf 'not a ref update\n' | '$ENVFLOW' -C '$SRV' hook pre-receive"
expect_rc 2
expect_err "is not 'OLD NEW REF'"

test_case "server: healthy at the end"
run git -C "$SRV" fsck --strict --no-progress
expect_rc 0
run envflow -C "$SRV" doctor
expect_rc 0
finish
