#!/usr/bin/env bash
# End-to-end: `envflow status` (text and JSON) before and after syncs, waiting
# commits / semantic changes / approvals, a broken invariant flagged, NO_COLOR;
# `envflow config show` / `config edit --file` (admins only, validated with
# file:line:col, nothing changed on refusal, audited); a plain `git clone`
# reading the server's view, and `envflow setup` making it permanent.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }
shopt -s extglob

# row ENV: the status text row of ENV (from $OUT), cells separated by '|': a
# cell is words joined by single spaces, cells are apart by two or more (in
# the shell: one row per check, no process).
row() {
  local line cells
  while IFS= read -r line; do
    cells=${line##+( )}
    cells=${cells%%+( )}
    cells=${cells//  *( )/|}
    [ "${cells%%|*}" != "$1" ] || printf '%s\n' "$cells"
  done <<<"$OUT"
}
# expect_row ENV CELLS: the row of ENV is exactly CELLS ('|'-separated).
expect_row() { expect_eq "$(row "$1")" "$2" "status row of $1"; }

# expect_aligned: every table row's cells start at the header's column offsets
# (display columns: '→' is one column).
expect_aligned() {
  local verdict
  verdict=$(python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
header = lines[0]
starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", header)]
names = re.findall(r"\S+(?: \S+)*", header)
bad = []
for line in lines[1:]:
    if not line.strip():
        break
    cells = [m.start() for m in re.finditer(r"\S+(?: \S+)*", line)]
    if len(cells) < len(starts) - 1 or cells != starts[:len(cells)]:
        bad.append(repr(line))
print("ok" if names[:3] == ["ENV", "BRANCH", "HEAD"] and not bad else "misaligned: " + " / ".join(bad))
' <<<"$OUT")
  expect_eq "$verdict" "ok" "table alignment"$'\n'"$OUT"
}

# the JSON status row of ENV, as Python: `env("test")["waiting"]["commits"]`.
JSON_ENV='(lambda n: [e for e in data["environments"] if e["name"] == n][0])'

no_escapes() {
  if grep -q $'\033' <<<"$1"; then fail "escape codes in output: $(cat -v <<<"$1")"; else pass; fi
}

R=$(new_repo pipeline)
cd "$R"
BASE=$(ref_of "$R" refs/heads/dev)
B=${BASE:0:7}

# ---------------------------------------------------------------------------
test_case "status: a fresh pipeline, everything in sync"
run envflow status
expect_rc 0
expect_eq "$(head -1 <<<"$OUT" | tr -s ' ')" "ENV BRANCH HEAD WAITING CHANGES APPROVALS NOTES" "header"
expect_eq "$(grep -c . <<<"$OUT")" 6 "header + 5 rows"
expect_row dev "dev|dev|$B|in sync|-|-"
expect_row test "test|test|$B|in sync|-|-"
expect_row uat "uat|uat|$B|in sync|-|-"
expect_row staging "staging|staging|$B|in sync|-|-"
expect_row production "production|production|$B|-|-|-"
expect_aligned
no_escapes "$OUT"
expect_no_out "broken"

test_case "status --format json: a fresh pipeline"
run envflow status --format json
expect_rc 0
expect_json \
  "[e['name'] for e in data['environments']] == ['dev', 'test', 'uat', 'staging', 'production']" \
  "[e['branch'] for e in data['environments']] == ['dev', 'test', 'uat', 'staging', 'production']" \
  "all(e['head'] == '$BASE' and e['problems'] == [] for e in data['environments'])" \
  "[e['next'] for e in data['environments']] == ['test', 'uat', 'staging', 'production', None]" \
  "all(e['waiting'] == {'commits': 0, 'added': 0, 'removed': 0, 'changed': 0, 'breaking': False} for e in data['environments'][:4])" \
  "all(e['approvals'] == {'required': 0, 'have': 0} for e in data['environments'][:4])" \
  "'waiting' not in data['environments'][4]" \
  "data['live'] is None and data['open_backports'] == 0"

# ---------------------------------------------------------------------------
test_case "status: changes waiting on dev"
sed -i 's/temperature: 0.3/temperature: 0.5/' agents/support.yaml
git commit -q -am "Tune the support agent"
variable_yaml greeting string Hello! "First line the widget shows." >variables/greeting.yaml
git add variables/greeting.yaml
git commit -q -m "Add a greeting variable"
DEV1=$(ref_of "$R" refs/heads/dev)
run envflow status
expect_rc 0
expect_row dev "dev|dev|${DEV1:0:7}|2 → test|+1 ~1 -0|-"
expect_row test "test|test|$B|in sync|-|-"
expect_aligned
run envflow status --format json
expect_json \
  "$JSON_ENV('dev')['waiting'] == {'commits': 2, 'added': 1, 'removed': 0, 'changed': 1, 'breaking': False}" \
  "$JSON_ENV('dev')['head'] == '$DEV1' and $JSON_ENV('dev')['summary'] == 'Add a greeting variable'" \
  "$JSON_ENV('test')['waiting']['commits'] == 0"

test_case "status after syncs: the wave moves down the pipeline"
envflow sync dev >/dev/null
run envflow status
expect_row dev "dev|dev|${DEV1:0:7}|in sync|-|-"
expect_row test "test|test|${DEV1:0:7}|2 → uat|+1 ~1 -0|-"
expect_row uat "uat|uat|$B|in sync|-|-"
expect_aligned
envflow sync test >/dev/null
envflow sync uat >/dev/null
run envflow status
expect_row test "test|test|${DEV1:0:7}|in sync|-|-"
expect_row staging "staging|staging|${DEV1:0:7}|2 → production|+1 ~1 -0|-"
expect_row production "production|production|$B|-|-|-"
expect_aligned
run envflow status --format json
expect_json \
  "[e['head'] for e in data['environments']] == ['$DEV1'] * 4 + ['$BASE']" \
  "[e['waiting']['commits'] for e in data['environments'][:4]] == [0, 0, 0, 2]"
envflow sync staging >/dev/null
run envflow status --format json
expect_json "all(e['head'] == '$DEV1' for e in data['environments'])"

test_case "status: a breaking change waiting is flagged"
sed -i 's/^type: string/type: number/; s/^default: Hello!/default: 3/' variables/greeting.yaml
git commit -q -am "Retype greeting"
DEV2=$(ref_of "$R" refs/heads/dev)
run envflow status
expect_row dev "dev|dev|${DEV2:0:7}|1 → test|+0 ~1 -0 breaking|-"
expect_aligned
run envflow status --format json
expect_json "$JSON_ENV('dev')['waiting'] == {'commits': 1, 'added': 0, 'removed': 0, 'changed': 1, 'breaking': True}"
envflow sync dev >/dev/null

# ---------------------------------------------------------------------------
test_case "status: pending approvals"
edit_config "t = qa_approves(t, 'uat', 2, ['bob@example.com', 'carol@example.com'])"
run envflow status
expect_row test "test|test|${DEV2:0:7}|1 → uat|+0 ~1 -0 breaking|0 approvals of 2 needed"
expect_aligned
envflow approve uat --actor bob@example.com >/dev/null
run envflow status
expect_row test "test|test|${DEV2:0:7}|1 → uat|+0 ~1 -0 breaking|1 approval of 2 needed"
run envflow status --format json
expect_json \
  "$JSON_ENV('test')['approvals'] == {'required': 2, 'have': 1}" \
  "$JSON_ENV('dev')['approvals'] == {'required': 0, 'have': 0}"
envflow approve uat --actor carol@example.com >/dev/null
run envflow status --format json
expect_json "$JSON_ENV('test')['approvals'] == {'required': 2, 'have': 2}"
envflow sync test >/dev/null
run envflow status
expect_row test "test|test|${DEV2:0:7}|in sync|-|-"

# ---------------------------------------------------------------------------
test_case "status: a broken invariant (test moved by hand off dev's history)"
TEST_HEAD=$(ref_of "$R" refs/heads/test)
HAND=$(git commit-tree -p "$TEST_HEAD" -m "Edited straight on test" "$TEST_HEAD^{tree}")
git update-ref refs/heads/test "$HAND" "$TEST_HEAD"
run envflow status
expect_out "BROKEN"
expect_eq "$(row test | cut -d'|' -f1-3)" "test|test|${HAND:0:7}" "test row"
expect_out "broken: test: not an ancestor of dev"
expect_out "envflow doctor"
expect_no_out "broken: dev"
no_escapes "$OUT"
run envflow status --format json
expect_json \
  "len($JSON_ENV('test')['problems']) == 1 and 'not an ancestor of dev' in $JSON_ENV('test')['problems'][0]" \
  "all(e['problems'] == [] for e in data['environments'] if e['name'] != 'test')" \
  "$JSON_ENV('test')['head'] == '$HAND'"

test_case "NO_COLOR and terminals"
run env -u NO_COLOR envflow status
no_escapes "$OUT"
if command -v script >/dev/null && script -qc true /dev/null >/dev/null 2>&1; then
  TTY_OUT=$(NO_COLOR=1 script -qc "envflow status" /dev/null </dev/null || true)
  no_escapes "$TTY_OUT"
  if grep -qF "broken:" <<<"$TTY_OUT"; then pass; else fail "status on a TTY lacks the broken line: $TTY_OUT"; fi
  TTY_OUT=$(env -u NO_COLOR TERM=xterm script -qc "envflow status" /dev/null </dev/null || true)
  if grep -qF $'\033[31mbroken:' <<<"$TTY_OUT"; then pass; else
    fail "a broken invariant is not flagged in red on a terminal: $(cat -v <<<"$TTY_OUT")"
  fi
  TTY_OUT=$(env -u NO_COLOR TERM=dumb script -qc "envflow status" /dev/null </dev/null || true)
  no_escapes "$TTY_OUT"
else
  echo "script(1) unavailable: TTY checks skipped"
fi
git update-ref refs/heads/test "$TEST_HEAD" "$HAND"
run envflow status
expect_no_out "BROKEN"
expect_no_out "broken"

test_case "status outside a pipeline"
mkdir -p "$TEST_ROOT/plain" && git -C "$TEST_ROOT/plain" init -q
run envflow -C "$TEST_ROOT/plain" status
expect_rc 1
expect_err "envflow init"

# ---------------------------------------------------------------------------
test_case "config show: text and JSON"
run envflow config show
expect_rc 0
expect_out "version: 1"
expect_out "  - name: production"
expect_out 'qa: ["bob@example.com", "carol@example.com"]'
expect_eq "$OUT" "$(git show refs/envflow/config:envflow.yaml)" "config show is the stored file"
run envflow config show --format json
expect_rc 0
expect_json \
  "data['version'] == 1 and [e['name'] for e in data['environments']] == ['dev', 'test', 'uat', 'staging', 'production']" \
  "data['groups']['qa'] == ['bob@example.com', 'carol@example.com']"

CFG_REFS() { echo "$(ref_of "$R" refs/envflow/config) $(ref_of "$R" refs/envflow/audit)"; }

test_case "config edit by a non-admin is refused, nothing changed"
envflow config show | sed 's/approvals: 2/approvals: 0/' >"$TEST_ROOT/lax.yaml"
BEFORE=$(CFG_REFS)
run envflow config edit --file "$TEST_ROOT/lax.yaml" --actor bob@example.com
expect_rc 1
expect_err "bob@example.com may not change the pipeline config"
expect_err "admins"
expect_eq "$(CFG_REFS)" "$BEFORE" "config and audit refs"
ENVFLOW_ACTOR=mallory@example.com run envflow config edit --file "$TEST_ROOT/lax.yaml"
expect_rc 1
expect_eq "$(CFG_REFS)" "$BEFORE" "config and audit refs"

# check_invalid FILE LINE COL WHAT: config edit --file FILE is refused naming
# envflow.yaml:LINE:COL (COL '*': any column) and WHAT; nothing changed.
check_invalid() {
  local before
  before=$(CFG_REFS)
  run envflow config edit --file "$1"
  expect_rc 1
  expect_err "the config is invalid:"
  if [ "$3" = "*" ]; then
    if grep -qE "envflow\.yaml:$2:[0-9]+: error:" <<<"$ERR"; then pass; else
      fail "stderr lacks envflow.yaml:$2:<col>"$'\n'"stderr: $ERR"
    fi
  else
    expect_err "envflow.yaml:$2:$3: error:"
  fi
  expect_err "$4"
  expect_eq "$(CFG_REFS)" "$before" "config and audit refs after an invalid edit"
}

# line_of TEXT FILE [NTH]: the line number of the NTH (default 1st) line containing TEXT.
line_of() { grep -nF -- "$1" "$2" | sed -n "${3:-1}p" | cut -d: -f1; }

# good_but ENV FROM TO OUT: good.yaml with the first FROM at or after
# ENV's entry replaced by TO, written to OUT.
good_but() {
  python3 - "$TEST_ROOT/good.yaml" "$@" <<'EOF'
import sys
t = open(sys.argv[1]).read()
env, old, new, out = sys.argv[2:6]
i = t.index("  - name: " + env)
t = t[:i] + t[i:].replace(old, new, 1)
open(out, "w").write(t)
EOF
}

test_case "invalid config: schema error, file:line:col"
envflow config show >"$TEST_ROOT/good.yaml"
good_but staging "approvals: 0" "approvals: -1" "$TEST_ROOT/bad1.yaml"
check_invalid "$TEST_ROOT/bad1.yaml" "$(line_of 'approvals: -1' "$TEST_ROOT/bad1.yaml")" 16 "environments[3].approvals"

test_case "invalid config: unknown field"
sed 's/^version: 1$/version: 1\nbogus: true/' "$TEST_ROOT/good.yaml" >"$TEST_ROOT/bad2.yaml"
check_invalid "$TEST_ROOT/bad2.yaml" "$(line_of 'bogus: true' "$TEST_ROOT/bad2.yaml")" 1 "unknown field 'bogus'"

test_case "invalid config: YAML syntax error"
printf 'version: 1\nenvironments:\n  - name: dev\n    branch: dev\n  - {name: [\n' >"$TEST_ROOT/bad3.yaml"
before=$(CFG_REFS)
run envflow config edit --file "$TEST_ROOT/bad3.yaml"
expect_rc 1
expect_err "invalid YAML"
if grep -qE 'envflow\.yaml:[0-9]+:[0-9]+: error:' <<<"$ERR"; then pass; else fail "no file:line:col: $ERR"; fi
expect_eq "$(CFG_REFS)" "$before" "config and audit refs"

test_case "invalid config: fewer than two environments"
python3 - "$TEST_ROOT/good.yaml" "$TEST_ROOT/bad4.yaml" <<'EOF'
import sys
t = open(sys.argv[1]).read()
i, j = t.index("  - name: test"), t.index("# Groups of actors")
open(sys.argv[2], "w").write(t[:i] + "\n" + t[j:])
EOF
check_invalid "$TEST_ROOT/bad4.yaml" "$(line_of '  - name: dev' "$TEST_ROOT/bad4.yaml")" 3 "needs at least 2"

# Semantic errors must point at the offending entry too ("Errors name the
# file, line and column where there is one", docs/commands/README.md).
test_case "invalid config: a group that does not exist, located at its use"
good_but production 'promote: ["release-managers"]' 'promote: ["ghosts"]' "$TEST_ROOT/bad5.yaml"
check_invalid "$TEST_ROOT/bad5.yaml" "$(line_of 'promote: ["ghosts"]' "$TEST_ROOT/bad5.yaml")" '*' \
  "environment 'production' names group 'ghosts', which is not defined"

test_case "invalid config: an environment listed twice, located at the second"
python3 - "$TEST_ROOT/good.yaml" "$TEST_ROOT/bad6.yaml" <<'EOF'
import sys
t = open(sys.argv[1]).read()
t = t.replace("  - name: uat\n", "  - name: test\n", 1)
open(sys.argv[2], "w").write(t)
EOF
check_invalid "$TEST_ROOT/bad6.yaml" "$(line_of '  - name: test' "$TEST_ROOT/bad6.yaml" 2)" '*' \
  "environment 'test' is listed twice"

test_case "config edit: no change, then a valid change, audited"
N=$(git rev-list --count refs/envflow/audit)
run envflow config edit --file "$TEST_ROOT/good.yaml"
expect_rc 0
expect_out "no change"
expect_eq "$(git rev-list --count refs/envflow/audit)" "$N" "no record for no change"
OLD_CFG=$(ref_of "$R" refs/envflow/config)
run envflow config edit --file "$TEST_ROOT/lax.yaml"
expect_rc 0
expect_out "pipeline config updated"
NEW_CFG=$(ref_of "$R" refs/envflow/config)
expect_eq "$(git rev-parse "$NEW_CFG^")" "$OLD_CFG" "config history is linear"
expect_eq "$(git rev-list --count refs/envflow/audit)" $((N + 1)) "one record"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep -E '^(op|actor|commit|move): ' | tr '\n' ' ')" \
  "op: config actor: alice@example.com move: refs/envflow/config $OLD_CFG $NEW_CFG " "the record"
run envflow config show
expect_eq "$OUT" "$(cat "$TEST_ROOT/lax.yaml")" "config show after edit"
run envflow config edit --file - <"$TEST_ROOT/good.yaml"
expect_rc 0
expect_out "pipeline config updated"
run envflow status --format json
expect_json "$JSON_ENV('test')['approvals']['required'] == 2"

# ---------------------------------------------------------------------------
test_case "setup: a plain git clone reads the server's view; setup makes it permanent"
envflow var set --env test max_turns 9 >/dev/null
sed -i 's/temperature: 0.5/temperature: 0.55/' agents/support.yaml
git commit -q -am "Nudge temperature"
envflow sync dev >/dev/null
C="$TEST_ROOT/clone"
git clone -q "$R" "$C"
expect_eq "$(git -C "$C" for-each-ref --format='%(refname)' refs/envflow | wc -l)" 0 "envflow refs before setup"
# A clone without a pipeline of its own reads origin's, and says so.
run envflow -C "$C" status
expect_rc 0
expect_err "read the pipeline from origin (this clone has none of its own; envflow setup makes this permanent)"
expect_eq "$(git -C "$C" for-each-ref --format='%(refname)' refs/envflow | wc -l)" 0 "reading writes no refs/envflow/*"
run envflow -C "$C" setup
expect_rc 0
expect_eq "$(git -C "$C" config envflow.remote)" origin "envflow.remote"
# The server's refs are read under tracking names, never as the clone's own.
for ref in config audit local/test; do
  expect_eq "$(ref_of "$C" "refs/envflow-remote/origin/envflow/$ref")" "$(ref_of "$R" "refs/envflow/$ref")" "$ref in the clone's view"
done
expect_eq "$(git -C "$C" for-each-ref --format='%(refname)' refs/envflow | wc -l)" 0 "no local refs/envflow/* after setup"
for env in dev test uat staging production; do
  expect_eq "$(ref_of "$C" "refs/remotes/origin/$env")" "$(ref_of "$R" "refs/heads/$env")" "origin/$env in the clone"
done
# Only the first environment gets a local branch: that is where people commit.
expect_eq "$(git -C "$C" rev-parse --abbrev-ref dev@{upstream})" "origin/dev" "dev tracks origin/dev"
expect_eq "$(ref_of "$C" refs/heads/test)" none "no local branch for test"
run envflow -C "$R" status --format json
ORIGIN_STATUS=$(python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("session",None); print(json.dumps(d, sort_keys=True))' <<<"$OUT")
run envflow -C "$C" status --format json
expect_rc 0
expect_json "data['session']['route'] != 'local' and data['session']['remote'] == 'origin'"
expect_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("session",None); print(json.dumps(d, sort_keys=True))' <<<"$OUT")" \
  "$ORIGIN_STATUS" "status in the clone equals the origin's (but for the session)"
run envflow -C "$C" status
expect_rc 0
expect_row test "test|test|$(ref_of "$R" refs/heads/test | cut -c1-7)|1 → uat|+0 ~1 -0|0 approvals of 2 needed"
run envflow -C "$C" setup
expect_rc 0
expect_eq "$(git -C "$C" config --get-all remote.origin.fetch | grep -c 'refs/envflow/' || true)" 1 "refspec added once"
run envflow -C "$C" doctor
expect_rc 0
run envflow -C "$C" setup nowhere
expect_rc 2
expect_err "no remote named 'nowhere'"

test_case "setup: later fetches bring envflow's refs along"
envflow approve uat --actor bob@example.com >/dev/null
git -C "$C" fetch -q origin
expect_eq "$(ref_of "$C" refs/envflow-remote/origin/envflow/audit)" "$(ref_of "$R" refs/envflow/audit)" "audit after git fetch"
run envflow -C "$C" status --format json
expect_json "$JSON_ENV('test')['approvals'] == {'required': 2, 'have': 1}"

test_case "doctor clean at the end"
run envflow doctor
expect_rc 0

finish
