#!/usr/bin/env bash
# End-to-end: `envflow validate` on the working tree and on commits (--rev,
# bare clones): one check per class of broken content with its exact
# path:line:col and rule, all problems in one sorted run, PATH filters,
# --format json, -C, and the exit codes 0/1/2/3.
. "$(dirname "$0")/lib.sh"

WS=$(new_repo ws)

# reset_ws: back to the committed starter workspace.
reset_ws() {
  git -C "$WS" reset -q --hard
  git -C "$WS" clean -qfdx
}

# validate_ws [ARGS...]: run `envflow validate` in the workspace.
validate_ws() { run "$ENVFLOW" -C "$WS" validate "$@"; }

# expect_diag WHERE [RULE]: stdout has a diagnostic line at WHERE, a full
# "path:line:col" (or a prefix of it ending in ':'), carrying [RULE] when given.
expect_diag() {
  local where="$1" rule="${2:-}" prefix lines
  if [[ "$where" == *: ]]; then prefix="$where"; else prefix="$where: error: "; fi
  lines=$(awk -v p="$prefix" 'index($0, p) == 1' <<<"$OUT")
  if [ -z "$lines" ]; then
    fail "no diagnostic at '$where'"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
    return
  fi
  if [ -n "$rule" ] && ! grep -qF -- " [$rule]" <<<"$lines"; then
    fail "no diagnostic at '$where' with [$rule]:"$'\n'"$lines"
    return
  fi
  pass
}

# diag_lines: the diagnostic lines of $OUT.
diag_lines() { grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning): ' <<<"$OUT" || true; }

# write FILE: stdin into the workspace file FILE (folders made).
write() {
  mkdir -p "$(dirname "$WS/$1")"
  cat >"$WS/$1"
}

# ---------------------------------------------------------------------------
test_case "starter workspace is valid"
validate_ws
expect_rc 0
expect_out "ok:"
expect_eq "$(diag_lines)" "" "no diagnostics"
run git -C "$WS" envflow validate
expect_rc 0

# ---------------------------------------------------------------------------
test_case "YAML syntax error"
reset_ws
write agents/triage.yaml <<'EOF'
kind: Agent
name: triage
instructions: [unclosed, flow
tone: friendly
EOF
validate_ws
expect_rc 1
expect_diag "agents/triage.yaml:4:5" yaml-syntax
expect_out "invalid:"

test_case "YAML syntax error: bad indentation"
reset_ws
write agents/triage.yaml <<'EOF'
kind: Agent
name: triage
instructions: Help.
behavior:
  max_turns: 3
 tone: friendly
EOF
validate_ws
expect_rc 1
expect_diag "agents/triage.yaml:6:" yaml-syntax

# write_dup_agent: agents/dup.yaml with the key `tone` twice.
write_dup_agent() {
  write agents/dup.yaml <<'EOF'
kind: Agent
name: dup
instructions: Say hello.
tone: friendly
tone: formal
EOF
}

test_case "duplicate key"
reset_ws
write_dup_agent
validate_ws
expect_rc 1
expect_diag "agents/dup.yaml:5:1" yaml-duplicate-key

test_case "wrong kind for the folder"
reset_ws
write agents/flow.yaml <<'EOF'
kind: Workflow
name: flow
trigger:
  type: message
steps:
  - id: one
    agent: triage
EOF
validate_ws
expect_rc 1
expect_diag "agents/flow.yaml:1:7" kind-mismatch
expect_out "workflows/"

test_case "unknown kind"
reset_ws
write agents/robot.yaml <<'EOF'
kind: Robot
name: robot
instructions: Beep.
EOF
validate_ws
expect_rc 1
expect_diag "agents/robot.yaml:1:7" unknown-kind

test_case "name does not match the file name"
reset_ws
write agents/helper.yaml <<'EOF'
kind: Agent
name: assistant
instructions: Help.
EOF
validate_ws
expect_rc 1
expect_diag "agents/helper.yaml:2:7" name-mismatch

test_case "schema: wrong type (max_turns: \"many\")"
reset_ws
sed -i 's/^  max_turns: 4$/  max_turns: "many"/' "$WS/agents/triage.yaml"
grep -qF 'max_turns: "many"' "$WS/agents/triage.yaml" || fail "fixture: sed did not apply"
LINE=$(grep -nF 'max_turns: "many"' "$WS/agents/triage.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "agents/triage.yaml:$LINE:14" schema

test_case "schema: YAML 1.2 typing (a quoted number is a string)"
reset_ws
sed -i 's/^  max_tokens: 400$/  max_tokens: "400"/' "$WS/agents/triage.yaml"
LINE=$(grep -nF 'max_tokens: "400"' "$WS/agents/triage.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "agents/triage.yaml:$LINE:15" schema

test_case "schema: temperature out of range"
reset_ws
sed -i 's/^  temperature: 0.2$/  temperature: 3.5/' "$WS/agents/triage.yaml"
LINE=$(grep -nF 'temperature: 3.5' "$WS/agents/triage.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "agents/triage.yaml:$LINE:16" schema

test_case "schema: unknown field"
reset_ws
printf 'colour: blue\n' >>"$WS/agents/triage.yaml"
LINE=$(grep -nF 'colour: blue' "$WS/agents/triage.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "agents/triage.yaml:$LINE:1" schema
expect_out "colour"

test_case "schema: enum"
reset_ws
sed -i 's/^tone: friendly$/tone: grumpy/' "$WS/agents/triage.yaml"
LINE=$(grep -nF 'tone: grumpy' "$WS/agents/triage.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "agents/triage.yaml:$LINE:7" schema

test_case "schema: missing required field"
reset_ws
write agents/empty.yaml <<'EOF'
kind: Agent
name: empty
EOF
validate_ws
expect_rc 1
expect_diag "agents/empty.yaml:1:1" schema
expect_out "instructions"

test_case "reference: workflow step to a missing agent"
reset_ws
sed -i 's/^    agent: support$/    agent: ghost/' "$WS/workflows/support-request.yaml"
LINE=$(grep -nF 'agent: ghost' "$WS/workflows/support-request.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "workflows/support-request.yaml:$LINE:12" ref-agent
expect_out "ghost"

test_case "reference: step to a missing integration"
reset_ws
sed -i '0,/^    integration: crm$/s//    integration: erp/' "$WS/workflows/support-request.yaml"
LINE=$(grep -nF 'integration: erp' "$WS/workflows/support-request.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "workflows/support-request.yaml:$LINE:18" ref-integration

test_case "reference: agent to a missing knowledge base"
reset_ws
sed -i 's/^  - product-faq$/  - shipping-faq/' "$WS/agents/support.yaml"
LINE=$(grep -nF -- '- shipping-faq' "$WS/agents/support.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "agents/support.yaml:$LINE:5" ref-knowledge

test_case "reference: {{ vars.nope }}"
reset_ws
write agents/greeter.yaml <<'EOF'
kind: Agent
name: greeter
instructions: Greet the customer and mention {{ vars.nope }}.
EOF
validate_ws
expect_rc 1
expect_diag "agents/greeter.yaml:3:" ref-variable
expect_out "nope"

test_case "variable default does not match its type"
reset_ws
write variables/retries.yaml <<'EOF'
kind: Variable
name: retries
type: number
default: lots
EOF
validate_ws
expect_rc 1
expect_diag "variables/retries.yaml:4:10" variable-default-type

test_case "literal secret in an integration"
reset_ws
# Built by concatenation so this repository holds no token-shaped literal.
FAKE_TOKEN="gh""p_""$(printf 'aB3dE5fG7h%.0s' 1 2 3 4)"
sed -i "s|^  secret: \${secrets.CRM_API_TOKEN}\$|  secret: $FAKE_TOKEN|" "$WS/integrations/crm.yaml"
grep -qF "$FAKE_TOKEN" "$WS/integrations/crm.yaml" || fail "fixture: token not written"
LINE=$(grep -nF "$FAKE_TOKEN" "$WS/integrations/crm.yaml" | cut -d: -f1)
validate_ws
expect_rc 1
expect_diag "integrations/crm.yaml:$LINE:11" secret-literal
# The diagnostic must not echo the whole secret.
expect_no_out "$FAKE_TOKEN"

test_case "literal AWS key anywhere in content"
reset_ws
AWS_KEY="AKIA""$(printf 'Q%.0s' 1 2 3 4 5 6 7 8)""23456789"
write integrations/aws.yaml <<EOF
kind: Integration
name: aws
base_url: https://aws.example.com
auth:
  type: none
endpoints:
  - name: list
    method: GET
    path: /list?key=$AWS_KEY
EOF
validate_ws
expect_rc 1
expect_diag "integrations/aws.yaml:9:" secret-literal

test_case "alias bomb: refused quickly"
reset_ws
{
  echo "kind: Agent"
  echo "name: bomb"
  echo "instructions: boom"
  echo "description: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"
  prev=a0
  for i in 1 2 3 4 5 6 7 8 9; do
    printf 'x%d: &a%d [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n' \
      "$i" "$i" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev" "$prev"
    prev="a$i"
  done
} | write agents/bomb.yaml
START=$(date +%s)
run timeout 20 "$ENVFLOW" -C "$WS" validate
END=$(date +%s)
expect_rc 1
expect_diag "agents/bomb.yaml:" yaml-limit
if [ $((END - START)) -le 5 ]; then pass; else fail "alias bomb took $((END - START)) s"; fi

test_case "binary file with NUL bytes"
reset_ws
printf 'kind: Agent\nname: bin\x00\x01\x02instructions: x\n' | write agents/bin.yaml
printf '%%PDF-1.4\n\x00\x00\x00binary' | write knowledge/product-faq/manual.pdf
validate_ws
expect_rc 1
expect_diag "agents/bin.yaml:1:1" file-binary
expect_diag "knowledge/product-faq/manual.pdf:1:1" file-binary

test_case "invalid UTF-8"
reset_ws
printf 'kind: Agent\nname: latin\ninstructions: caf\xe9\n' | write agents/latin.yaml
validate_ws
expect_rc 1
expect_diag "agents/latin.yaml:1:1" file-encoding

test_case "file over 1 MiB"
reset_ws
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' 'a' | write knowledge/product-faq/huge.md
validate_ws
expect_rc 1
expect_diag "knowledge/product-faq/huge.md:1:1" file-too-large
expect_out "MiB"

test_case "symlink in agents/ (dangling)"
reset_ws
ln -s ../templates/secret.yaml "$WS/agents/link.yaml"
validate_ws
expect_rc 1
expect_diag "agents/link.yaml:1:1" file-symlink

test_case "symlink in agents/ to a file outside the workspace"
reset_ws
echo "kind: Agent" >"$TEST_ROOT/outside.yaml"
ln -s "$TEST_ROOT/outside.yaml" "$WS/agents/outside.yaml"
validate_ws
expect_rc 1
expect_diag "agents/outside.yaml:1:1" file-symlink
validate_ws agents/outside.yaml
expect_rc 1
expect_diag "agents/outside.yaml:1:1" file-symlink

test_case "symlink in agents/ to another workspace file is reported under its own path"
reset_ws
ln -s triage.yaml "$WS/agents/alias.yaml"
validate_ws
expect_rc 1
expect_diag "agents/alias.yaml:1:1" file-symlink
if grep -qF "agents/triage.yaml:" <<<"$OUT"; then
  fail "the link's target is blamed: $(grep -F agents/triage.yaml: <<<"$OUT")"
else pass; fi

test_case "symlinked folder inside agents/"
reset_ws
ln -s ../workflows "$WS/agents/more"
validate_ws
expect_rc 1
expect_diag "agents/more:1:1" file-symlink

test_case "committed symlinks are refused with --rev"
reset_ws
ln -s "$TEST_ROOT/outside.yaml" "$WS/agents/outside.yaml"
ln -s triage.yaml "$WS/agents/alias.yaml"
git -C "$WS" add agents
git -C "$WS" commit -qm "links" --no-verify
validate_ws --rev HEAD
expect_rc 1
expect_diag "agents/alias.yaml:1:1" file-symlink
expect_diag "agents/outside.yaml:1:1" file-symlink
git -C "$WS" reset -q --hard HEAD~1

test_case "guardrails/ on a promoted branch"
reset_ws
write guardrails/no-pii.yaml <<'EOF'
kind: Guardrail
name: no-pii
type: pii
action: block
EOF
validate_ws
expect_rc 1
expect_diag "guardrails/no-pii.yaml:1:1" not-promoted
expect_out "refs/envflow/local"

test_case "evaluators/ on a promoted branch"
reset_ws
write evaluators/accuracy.yaml <<'EOF'
kind: Evaluator
name: accuracy
target:
  agent: support
metric: accuracy
EOF
validate_ws
expect_rc 1
expect_diag "evaluators/accuracy.yaml:1:1" not-promoted
expect_out "refs/envflow/local"

test_case "analytics/ and secrets/ folders"
reset_ws
echo '{"visits": 3}' | write analytics/2026-01.json
echo 'CRM_API_TOKEN=x' | write secrets/crm.env
validate_ws
expect_rc 1
expect_diag "analytics/2026-01.json:1:1" not-promoted
expect_diag "secrets/crm.env:1:1" not-promoted

test_case "unexpected files"
reset_ws
echo hi | write agents/notes.txt
printf 'kind: Agent\nname: deep\ninstructions: x\n' | write agents/sub/deep.yaml
validate_ws
expect_rc 1
expect_diag "agents/notes.txt:1:1" unexpected-file
expect_diag "agents/sub/deep.yaml:1:1" unexpected-file

test_case "missing workspace.yaml"
reset_ws
rm "$WS/workspace.yaml"
validate_ws
expect_rc 1
expect_diag "workspace.yaml:1:1" workspace-missing

# ---------------------------------------------------------------------------
test_case "all problems in one run, sorted"
reset_ws
write_dup_agent
write agents/helper.yaml <<'EOF'
kind: Agent
name: assistant
instructions: Help.
EOF
sed -i 's/^  max_turns: 4$/  max_turns: "many"/' "$WS/agents/triage.yaml"
sed -i 's/^    agent: support$/    agent: ghost/' "$WS/workflows/support-request.yaml"
echo '{}' | write analytics/x.json
write channels/zz.yaml <<'EOF'
kind: Channel
name: zz
type: fax
agent: triage
EOF
validate_ws
expect_rc 1
DIAGS=$(diag_lines)
expect_eq "$(wc -l <<<"$DIAGS" | tr -d ' ')" 6 "number of diagnostics"
SORTED=$(LC_ALL=C sort -t: -k1,1 -k2,2n -k3,3n <<<"$DIAGS")
expect_eq "$DIAGS" "$SORTED" "diagnostics sorted by path, line, column"
expect_out "invalid: 6 problems in 6 files"
for where in agents/dup.yaml agents/helper.yaml agents/triage.yaml analytics/x.json \
  channels/zz.yaml workflows/support-request.yaml; do
  grep -qF "$where:" <<<"$DIAGS" && pass || fail "no diagnostic for $where"
done

test_case "PATH arguments restrict reporting"
validate_ws agents/dup.yaml
expect_rc 1
expect_eq "$(diag_lines | cut -d: -f1 | sort -u)" "agents/dup.yaml" "only agents/dup.yaml"
validate_ws agents
expect_rc 1
expect_eq "$(diag_lines | cut -d: -f1 | sort -u | tr '\n' ' ')" \
  "agents/dup.yaml agents/helper.yaml agents/triage.yaml " "only agents/"
validate_ws agents/ workflows
expect_rc 1
expect_eq "$(diag_lines | wc -l | tr -d ' ')" 4 "agents/ and workflows"
validate_ws variables
expect_rc 0
expect_eq "$(diag_lines)" "" "variables/ is clean"
# A path relative to the current directory, from inside a folder.
run bash -c 'cd "$1/agents" && "$2" validate dup.yaml' _ "$WS" "$ENVFLOW"
expect_rc 1
expect_eq "$(diag_lines | cut -d: -f1 | sort -u)" "agents/dup.yaml" "relative path from agents/"

test_case "a path outside the workspace is a usage error"
mkdir -p "$TEST_ROOT/x"
run bash -c 'cd "$1" && "$2" validate ../x' _ "$WS" "$ENVFLOW"
expect_rc 2
expect_err "outside the workspace"
validate_ws /etc
expect_rc 2
validate_ws no/such/file.yaml
expect_rc 2

test_case "--format json"
validate_ws --format json
expect_rc 1
JSON_CHECK=$(python3 - "$OUT" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert isinstance(d, list) and len(d) == 6, d
for x in d:
    assert set(x) == {"path", "line", "column", "severity", "message", "rule"}, x
    assert isinstance(x["line"], int) and x["line"] >= 1, x
    assert isinstance(x["column"], int) and x["column"] >= 1, x
    assert x["severity"] == "error", x
keys = [(x["path"], x["line"], x["column"]) for x in d]
assert keys == sorted(keys), keys
dup = [x for x in d if x["path"] == "agents/dup.yaml"][0]
assert (dup["line"], dup["column"], dup["rule"]) == (5, 1, "yaml-duplicate-key"), dup
print("ok")
PY
) || true
expect_eq "$JSON_CHECK" ok "json array"
run "$ENVFLOW" --format json -C "$WS" validate agents/dup.yaml
expect_rc 1
expect_eq "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$OUT" 2>/dev/null)" 1 \
  "json with a path filter"
reset_ws
validate_ws --format json
expect_rc 0
expect_eq "$(python3 -c 'import json,sys; print(json.load(sys.stdin))' <<<"$OUT" 2>/dev/null)" "[]" \
  "json for a valid workspace"

test_case "-C DIR works from elsewhere"
run bash -c 'cd "$1" && "$2" -C "$3" validate' _ "$TEST_ROOT" "$ENVFLOW" "$WS"
expect_rc 0
run bash -c 'cd "$1" && "$2" -C ws validate' _ "$TEST_ROOT" "$ENVFLOW"
expect_rc 0
run bash -c 'cd "$1" && "$2" validate' _ "$WS/agents" "$ENVFLOW"
expect_rc 0
run "$ENVFLOW" -C "$TEST_ROOT/no-such-dir" validate
expect_rc 2

# ---------------------------------------------------------------------------
test_case "--rev on a commit and on HEAD~1"
reset_ws
GOOD=$(git -C "$WS" rev-parse HEAD)
write_dup_agent
git -C "$WS" add agents/dup.yaml
git -C "$WS" commit -qm "broken on purpose" --no-verify
BAD=$(git -C "$WS" rev-parse HEAD)
git -C "$WS" rm -q agents/dup.yaml
git -C "$WS" commit -qm "fixed" --no-verify
validate_ws --rev "$GOOD"
expect_rc 0
validate_ws --rev "$BAD"
expect_rc 1
expect_diag "agents/dup.yaml:5:1" yaml-duplicate-key
validate_ws --rev HEAD~1
expect_rc 1
expect_diag "agents/dup.yaml:5:1" yaml-duplicate-key
validate_ws --rev HEAD
expect_rc 0
validate_ws --rev "${BAD:0:10}" --format json
expect_rc 1
expect_out '"rule": "yaml-duplicate-key"'
# --rev reads the commit, not the working tree.
echo "garbage: [" >"$WS/agents/triage.yaml"
validate_ws --rev HEAD
expect_rc 0
validate_ws
expect_rc 1
reset_ws
# Paths with --rev are relative to the repository root.
validate_ws --rev "$BAD" workflows
expect_rc 0
validate_ws --rev "$BAD" agents
expect_rc 1
validate_ws --rev "$BAD" ../x
expect_rc 2

test_case "--rev in a bare clone"
BARE="$TEST_ROOT/clone.git"
git clone -q --bare "$WS" "$BARE"
run "$ENVFLOW" -C "$BARE" validate --rev "$GOOD"
expect_rc 0
run "$ENVFLOW" -C "$BARE" validate --rev "$BAD"
expect_rc 1
expect_diag "agents/dup.yaml:5:1" yaml-duplicate-key
run "$ENVFLOW" -C "$BARE" validate --rev dev~1
expect_rc 1
run "$ENVFLOW" -C "$BARE" validate --rev dev
expect_rc 0
run git -C "$BARE" envflow validate --rev "$BAD"
expect_rc 1
# A bare repository has no working tree to validate.
run "$ENVFLOW" -C "$BARE" validate
expect_rc 2
expect_err "--rev"

test_case "unknown --rev is a usage error"
validate_ws --rev no-such-branch
expect_rc 2
expect_err "no-such-branch"
validate_ws --rev 0123456789abcdef0123456789abcdef01234567
expect_rc 2

test_case "usage errors"
validate_ws --no-such-option
expect_rc 2
run "$ENVFLOW" --format yaml -C "$WS" validate
expect_rc 2

test_case "not a repository"
mkdir -p "$TEST_ROOT/plain"
run "$ENVFLOW" -C "$TEST_ROOT/plain" validate
expect_rc 3
if [ -n "$ERR" ]; then pass; else fail "no message for a missing repository"; fi
run "$ENVFLOW" -C "$TEST_ROOT/plain" validate --rev HEAD
expect_rc 3

finish
