#!/usr/bin/env bash
# End-to-end: messages that read right (issue 19). Approval counts ("1
# approval of 2 needed", the same words in approve, a sync refusal, status
# and the JSON of approve); "did you mean" for a mistyped environment (every
# command that takes one), release tag (rollback, verify, diff) and back-port
# id; `config edit --push` and `config put --push` from a clone; `publish
# --dry-run` (the notes and the bump, nothing written: no ref, no object, no
# record); who approved a sync in the text `log`; the JSON error object
# (kind refused|usage|repository, the finer reason in code, a hint); and the
# progress line of a long validation (only on a terminal, never under CI or
# --format json). Every result is checked with plain git.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

# all_refs [REPO]: every ref and where it points, one line each.
all_refs() { git -C "${1:-$R}" for-each-ref --format='%(refname) %(objectname)'; }
# objects [REPO]: every object file of the repository (loose and packed).
objects() { (cd "${1:-$R}/.git/objects" && find . -type f | sort); }
records() { git -C "${1:-$R}" rev-list --count refs/envflow/audit; }
commit_all() { git -C "$R" add -A && git -C "$R" commit -q -m "$1"; }

R=$(new_repo pipeline)
cd "$R"
# Unsigned releases, so publish and hotfix need no key; test needs two
# approvals from qa (bob, carol); alice promotes.
edit_config '
t = t.replace("release:\n  sign: true\n", "release:\n  sign: false\n")
t = t.replace("groups:\n", "groups:\n  qa: [\"bob@example.com\", \"carol@example.com\"]\n", 1)
t = env_block(t, "test", lambda b: b.replace("approvals: 0", "approvals: 2").replace("approvers: [\"release-managers\"]", "approvers: [\"qa\"]"))
'

# ---------------------------------------------------------------------------
test_case "counts: approve says how many of how many are needed"
sed -i 's/temperature: 0.3/temperature: 0.4/' agents/support.yaml
commit_all "Warmer support agent"
DEV=$(ref_of "$R" refs/heads/dev)
run envflow approve test --actor bob@example.com
expect_rc 0
expect_out "approved ${DEV:0:7} into test by bob@example.com (1 approval of 2 needed)"
expect_no_out "of 2 approval)"
run envflow approve test --actor bob@example.com --format json
expect_rc 0
expect_json 'data["approvals"] == ["bob@example.com"] and data["required"] == 2' \
  'data["approvals_text"] == "1 approval of 2 needed"'

test_case "counts: a sync refusal and status use the same words"
BEFORE=$(all_refs)
run envflow sync dev
expect_rc 1
expect_err "it has 1 approval of 2 needed (bob@example.com)"
expect_eq "$(all_refs)" "$BEFORE" "refs after the refusal"
run envflow status
expect_rc 0
if grep -E '^dev ' <<<"$OUT" | grep -qF "1 approval of 2 needed"; then pass; else
  fail "status row of dev: $OUT"; fi
expect_no_out "1/2"

test_case "JSON error: a gate refused (kind refused, code gate, the approve command as hint)"
run envflow --format json sync dev
expect_rc 1
expect_json 'sorted(data) == ["error"]' \
  'data["error"]["kind"] == "refused" and data["error"]["code"] == "gate" and data["error"]["exit"] == 1' \
  'data["error"]["gate"] == "approvals"' \
  "data['error']['hint'] == 'envflow approve test --rev ${DEV:0:7}'" \
  '"1 approval of 2 needed" in data["error"]["message"]'
expect_err "envflow: error: promoting ${DEV:0:7} into test needs 2 approvals"
expect_eq "$(all_refs)" "$BEFORE" "refs after the JSON refusal"

test_case "log: the text log names who approved a sync"
run envflow approve test --actor carol@example.com
expect_rc 0
expect_out "(2 approvals of 2 needed)"
run envflow sync dev
expect_rc 0
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV" "test after the approved sync"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^approval: ' | sort | tr '\n' ' ')" \
  "approval: bob@example.com approval: carol@example.com " "the approvals in the audit record"
run envflow log --op sync
expect_rc 0
expect_out "approved by bob@example.com, carol@example.com"
run envflow log --op sync --format json
expect_json 'sorted(data[-1]["approvals"]) == ["bob@example.com", "carol@example.com"]'

test_case "counts: approving where none is needed says so (never \"1 of 0 approvals\")"
run envflow approve uat
expect_rc 0
expect_out "approved ${DEV:0:7} into uat by alice@example.com (1 approval, none needed)"
expect_no_out "of 0"

# ---------------------------------------------------------------------------
test_case "suggestions: a mistyped environment, in every command that takes one"
BEFORE=$(all_refs)
for cmd in "sync prodution" "approve prodution" "render prodution" "var list --env prodution" \
  "var set --env prodution max_turns 3" "hold set prodution --reason x" "log --env prodution" \
  "check prodution"; do
  # shellcheck disable=SC2086
  run envflow $cmd
  expect_rc 2
  expect_err "unknown environment 'prodution'; did you mean 'production'? (environments: dev, test, uat, staging, production)"
done
run envflow sync qa
expect_rc 2
expect_err "unknown environment 'qa' (environments: dev, test, uat, staging, production)"
run envflow --format json sync prodution
expect_rc 2
expect_json 'data["error"]["kind"] == "usage" and data["error"]["code"] == "unknown-environment" and data["error"]["exit"] == 2' \
  'data["error"]["hint"] == "did you mean '"'"'production'"'"'?"'
run envflow --format json sync qa
expect_json 'data["error"]["hint"] == "environments: dev, test, uat, staging, production"'
run envflow diff dev prodution
expect_rc 2
expect_err "unknown environment or revision 'prodution'; did you mean 'production'?"
expect_eq "$(all_refs)" "$BEFORE" "refs after the mistyped names"

test_case "suggestions: a mistyped release tag (rollback, verify, diff)"
for env in test uat staging; do
  run envflow sync "$env"
  expect_rc 0
done
run envflow publish --no-sign
expect_rc 0
expect_out "published v1.0.0"
BEFORE=$(all_refs)
run envflow rollback v1.0.1
expect_rc 2
expect_err "no release tag 'v1.0.1'; did you mean 'v1.0.0'? (see envflow releases)"
run envflow verify v1.00
expect_rc 2
expect_err "did you mean 'v1.0.0'?"
run envflow diff v1.0.1 dev
expect_rc 2
expect_err "did you mean 'v1.0.0'?"
run envflow --format json rollback v2.0.0
expect_json 'data["error"]["code"] == "unknown-release" and data["error"]["kind"] == "usage"' \
  'data["error"]["hint"] == "did you mean '"'"'v1.0.0'"'"'?"'
run envflow --format json rollback v9.9.9
expect_json 'data["error"]["hint"] == "envflow releases lists them"'
expect_eq "$(all_refs)" "$BEFORE" "refs after the mistyped tags"

test_case "suggestions: a back-port id"
run envflow backport show 1
expect_rc 2
expect_err "no back-port issue 1 (there are none)"
run envflow hotfix start fix-tone
expect_rc 0
sed -i 's/^tone: empathetic/tone: friendly/' agents/support.yaml
commit_all "Support agent: friendly tone"
run envflow hotfix finish --no-sign -m "Friendlier"
expect_rc 0
expect_out "back-port issue 1"
git checkout -q dev
BEFORE=$(all_refs)
run envflow backport show 11
expect_rc 2
expect_err "no back-port issue 11; did you mean '1'? (issues: 1)"
run envflow --format json backport apply 11
expect_rc 2
expect_json 'data["error"]["code"] == "unknown-backport" and data["error"]["hint"] == "did you mean '"'"'1'"'"'?"'
expect_eq "$(all_refs)" "$BEFORE" "refs after the mistyped id"

# ---------------------------------------------------------------------------
test_case "publish --dry-run: the bump and the notes; no ref, object or record written"
sed -i 's/temperature: 0.4/temperature: 0.5/' agents/support.yaml
commit_all "Warmer still"
run envflow backport apply 1 # production holds the hotfix: bring it back first
expect_rc 0
for who in bob carol; do envflow approve test --actor "$who@example.com" >/dev/null; done
for env in dev test uat staging; do
  run envflow sync "$env"
  expect_rc 0
done
BEFORE=$(all_refs)
OBJECTS=$(objects)
N=$(records)
run envflow publish --no-sign --dry-run
expect_rc 0
expect_out "would publish v1.0.2 at $(ref_of "$R" refs/heads/production | cut -c1-7) (patch bump); nothing moved"
expect_out "Agent support"
run envflow publish --dry-run --bump major --format json
expect_rc 0
expect_json 'data["dry_run"] is True and data["tag"] == "v2.0.0" and data["bump"] == "major"' \
  'data["outcome"] == "published" and "Agent support" in data["notes"]'
expect_eq "$(all_refs)" "$BEFORE" "refs after the dry runs"
expect_eq "$(objects)" "$OBJECTS" "objects after the dry runs"
expect_eq "$(records)" "$N" "audit records after the dry runs"
if git tag -l | grep -q 'v1.0.2\|v2.0.0'; then fail "a dry run made a tag: $(git tag -l)"; else pass; fi
run envflow publish --no-sign
expect_rc 0
expect_out "published v1.0.2"

# ---------------------------------------------------------------------------
test_case "JSON errors: forbidden, usage, not a repository (one object on stdout)"
run envflow --format json --actor mallory@example.com hold set production --reason "not mine"
expect_rc 1
expect_json 'data["error"]["kind"] == "refused" and data["error"]["code"] == "forbidden" and data["error"]["exit"] == 1'
run envflow --format json sync --bogus
expect_rc 2
expect_json 'data["error"]["kind"] == "usage" and data["error"]["code"] == "usage" and data["error"]["hint"] == "see envflow --help"'
run envflow --format json snyc dev
expect_rc 2
expect_json 'data["error"]["code"] == "unknown-command" and data["error"]["hint"] == "did you mean '"'"'sync'"'"'?"'
mkdir -p "$TEST_ROOT/plain"
run envflow -C "$TEST_ROOT/plain" --format json status
expect_rc 3
expect_json 'data["error"]["kind"] == "repository" and data["error"]["code"] == "not-a-repository" and data["error"]["exit"] == 3' \
  '"-C DIR" in data["error"]["hint"]'
expect_err "envflow: error: not a git repository"
git init -q "$TEST_ROOT/bare-pipeline"
run envflow -C "$TEST_ROOT/bare-pipeline" --format json status
expect_rc 1
expect_json 'data["error"]["kind"] == "refused" and data["error"]["code"] == "no-pipeline"'
# Text mode prints nothing on stdout for an error.
run envflow sync prodution
expect_eq "$OUT" "" "stdout of a text-mode error"

# ---------------------------------------------------------------------------
test_case "config edit --push and config put --push: sent at once, recorded by the server"
SRV="$TEST_ROOT/origin.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare "$SRV" >/dev/null
"$ENVFLOW" install-hooks --server "$SRV" >/dev/null
C="$TEST_ROOT/clone"
git clone -q "file://$SRV" "$C"
(cd "$C" && envflow setup >/dev/null)
echo "adam namespaces=\"git\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnlyNotAKey" >"$TEST_ROOT/signers"
CONFIG_BEFORE=$(ref_of "$SRV" refs/envflow/config)
N=$(records "$SRV")
run env REMOTE_USER=adam ENVFLOW_ACTOR=adam envflow -C "$C" config put --push allowed_signers "$TEST_ROOT/signers"
expect_rc 0
expect_out "stored allowed_signers on refs/envflow/config"
expect_out "pushed to origin"
expect_eq "$(git -C "$SRV" show refs/envflow/config:allowed_signers)" "$(cat "$TEST_ROOT/signers")" \
  "the file on origin's config ref"
expect_eq "$(records "$SRV")" $((N + 1)) "one record on origin"
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep '^op: ')" "op: config" "the record's op"
expect_eq "$(git -C "$C" for-each-ref --format='%(refname)' refs/envflow/)" "" "nothing kept in the clone"
envflow -C "$C" config show >"$TEST_ROOT/srv.yaml"
sed -i 's/approvals: 0/approvals: 1/' "$TEST_ROOT/srv.yaml"
CONFIG_BEFORE=$(ref_of "$SRV" refs/envflow/config)
run env REMOTE_USER=adam ENVFLOW_ACTOR=adam envflow -C "$C" config edit --push --file "$TEST_ROOT/srv.yaml"
expect_rc 0
expect_out "pipeline config updated"
expect_out "pushed to origin"
if [ "$(ref_of "$SRV" refs/envflow/config)" != "$CONFIG_BEFORE" ]; then pass; else
  fail "origin's config ref did not move"; fi
if git -C "$SRV" show refs/envflow/config:envflow.yaml | grep -q "approvals: 1"; then pass; else
  fail "origin's policy lacks the edit"; fi
expect_eq "$(records "$SRV")" $((N + 2)) "two records on origin"
expect_eq "$(git -C "$C" for-each-ref --format='%(refname)' refs/envflow/)" "" "still nothing kept in the clone"
# Without --push the edit is kept in the clone until envflow push, as before.
sed -i 's/approvals: 1/approvals: 0/' "$TEST_ROOT/srv.yaml"
run env ENVFLOW_ACTOR=adam envflow -C "$C" config edit --file "$TEST_ROOT/srv.yaml"
expect_rc 0
expect_out "kept in this clone"
expect_eq "$(git -C "$C" for-each-ref --format='%(refname)' refs/envflow/pending)" "refs/envflow/pending" \
  "the edit kept for envflow push"
expect_eq "$(records "$SRV")" $((N + 2)) "origin unchanged without --push"

# ---------------------------------------------------------------------------
test_case "progress: a long validation shows a progress line on a terminal only"
B=$(new_repo big)
for i in $(seq 1 1050); do
  printf 'kind: Variable\nname: v%d\ntype: string\ndefault: x\ndescription: d\n' "$i" >"$B/variables/v$i.yaml"
done
# Not a terminal (a file, as in CI logs): no progress line, stderr empty.
run env -u CI envflow -C "$B" validate --no-cache
expect_rc 0
expect_out "files valid"
expect_eq "$ERR" "" "stderr of a validation that is not on a terminal"
if grep -q $'\r' <<<"$OUT$ERR"; then fail "a carriage return in non-terminal output"; else pass; fi
if command -v script >/dev/null; then
  # On a terminal (script(1) gives one): rewritten in place, cleared at the end.
  env -u CI script -qec "$(printf '%q ' "$ENVFLOW" -C "$B" validate --no-cache)" /dev/null \
    </dev/null >"$TEST_ROOT/tty.out" 2>&1 && RC=0 || RC=$?
  expect_eq "$RC" 0 "exit of validate on a terminal"
  if grep -q 'validating: [0-9]* of [0-9]* files ([0-9]*%)' "$TEST_ROOT/tty.out"; then pass; else
    fail "no progress line on a terminal: $(od -c "$TEST_ROOT/tty.out" | head -5)"; fi
  if grep -q $'validating: [0-9]* of [0-9]* files (100%)\r *\r' "$TEST_ROOT/tty.out"; then pass; else
    fail "the progress line is not cleared at the end: $(tail -c 300 "$TEST_ROOT/tty.out" | od -c)"; fi
  if tail -1 "$TEST_ROOT/tty.out" | grep -q "files valid"; then pass; else fail "no report after the line"; fi
  # CI set, or --format json: never.
  CI=true script -qec "$(printf '%q ' "$ENVFLOW" -C "$B" validate --no-cache)" /dev/null \
    </dev/null >"$TEST_ROOT/ci.out" 2>&1 || true
  if grep -q validating "$TEST_ROOT/ci.out"; then fail "a progress line under CI"; else pass; fi
  env -u CI script -qec "$(printf '%q ' "$ENVFLOW" -C "$B" --format json validate --no-cache)" /dev/null \
    </dev/null >"$TEST_ROOT/json.out" 2>&1 || true
  if grep -q validating "$TEST_ROOT/json.out"; then fail "a progress line under --format json"; else pass; fi
  # A small workspace: nothing to wait for, no line.
  env -u CI script -qec "$(printf '%q ' "$ENVFLOW" -C "$R" validate --no-cache)" /dev/null \
    </dev/null >"$TEST_ROOT/small.out" 2>&1 || true
  if grep -q validating "$TEST_ROOT/small.out"; then fail "a progress line for a small workspace"; else pass; fi
else
  echo "script(1) not found: the terminal side of the progress line is not checked"
fi

finish
