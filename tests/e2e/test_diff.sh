#!/usr/bin/env bash
# envflow diff: environments and revisions as sides, text and JSON output,
# breaking changes flagged, unknown sides refused with exit 2.
. "$(dirname "$0")/lib.sh"

# commit_all REPO MESSAGE: commit every change on the current branch. The
# pre-commit hook is skipped on purpose: diff must describe content whether or
# not it validates.
commit_all() {
  git -C "$1" add -A
  git -C "$1" commit -q --no-verify -m "$2"
}

R=$(new_repo diff-repo)
git -C "$R" checkout -q dev

test_case "a fresh pipeline has no differences"
run envflow -C "$R" diff dev test
expect_rc 0
expect_out "diff dev..test: no semantic differences"

test_case "identical revisions in JSON"
run envflow -C "$R" diff dev test --format json
expect_rc 0
expect_eq "$(json_get 'd["empty"], d["breaking"], d["items"], d["counts"]["items"]')" \
  "(True, False, [], 0)" "empty diff JSON"

# Change dev: add an agent, retune another, retype a variable, remove a used
# variable, edit a knowledge document, touch files that are not content.
cat >"$R/agents/billing.yaml" <<'EOF'
kind: Agent
name: billing
description: Answers billing questions.
instructions: Explain invoices.
EOF
sed -i 's/temperature: 0.3/temperature: 0.5/' "$R/agents/support.yaml"
sed -i 's/^type: string/type: url/' "$R/variables/support_email.yaml"
git -C "$R" rm -q variables/max_turns.yaml
printf '\nExchanges are free.\n' >>"$R/knowledge/product-faq/returns.md"
echo "# notes" >"$R/NOTES.md"
mkdir -p "$R/ci" && echo "stages: [test]" >"$R/ci/pipeline.yaml"
commit_all "$R" "billing agent, warmer support, url email, no max_turns"
DEV=$(git -C "$R" rev-parse dev)
TEST=$(git -C "$R" rev-parse test)

test_case "text: environments as sides"
run envflow -C "$R" diff test dev
expect_rc 0
expect_out "diff test..dev (5 items: 1 added, 1 removed, 3 changed, 2 breaking)"
expect_out "Agent: 1 added, 1 changed"
expect_out "  + Agent billing"
expect_out "  ~ Agent support: model.temperature"
expect_out "  ~ Document product-faq/returns.md"
expect_out "  - Variable max_turns  BREAKING: variable 'max_turns' removed; referenced by agents/triage.yaml (instructions)"
expect_out "  ~ Variable support_email: type  BREAKING: variable 'support_email' retyped from string to url"
expect_no_out "NOTES"
expect_no_out "pipeline"
expect_no_out $'\033'

test_case "text: items grouped by kind in a stable order"
order=$(grep -E '^[A-Za-z]+:' <<<"$OUT" | cut -d: -f1 | tr '\n' ' ')
expect_eq "$order" "Agent Document Variable " "kind order"

test_case "json: fields, counts and breaking"
run envflow -C "$R" diff test dev --format json
expect_rc 0
expect_eq "$(json_get 'd["from"] == "'"$TEST"'" and d["to"] == "'"$DEV"'"')" "True" "commit ids"
expect_eq "$(json_get 'd["from_rev"], d["to_rev"]')" "('test', 'dev')" "sides as given"
expect_eq "$(json_get 'd["empty"], d["breaking"]')" "(False, True)" "flags"
expect_eq "$(json_get '[d["counts"][k] for k in ("items", "added", "removed", "changed", "breaking")]')" \
  "[5, 1, 1, 3, 2]" "counts"
expect_eq "$(json_get 'd["by_kind"]["Agent"]["added"], d["by_kind"]["Variable"]["breaking"]')" \
  "(1, 2)" "counts per kind"
expect_eq "$(json_get '[(i["kind"], i["name"], i["change"]) for i in d["items"]]')" \
  "[('Agent', 'billing', 'added'), ('Agent', 'support', 'changed'), ('Document', 'product-faq/returns.md', 'changed'), ('Variable', 'max_turns', 'removed'), ('Variable', 'support_email', 'changed')]" \
  "items"
expect_eq "$(json_get '[i["fields"] for i in d["items"] if i["name"] == "support"][0]')" \
  "['model.temperature']" "changed fields"
expect_eq "$(json_get '[i["path"] for i in d["items"] if i["breaking"]]')" \
  "['variables/max_turns.yaml', 'variables/support_email.yaml']" "breaking items"
expect_eq "$(json_get '[i["reason"] for i in d["items"] if i["name"] == "max_turns"][0]')" \
  "variable 'max_turns' removed; referenced by agents/triage.yaml (instructions)" "reason"
expect_eq "$(json_get '[i["reason"] for i in d["items"] if not i["breaking"]]')" \
  "['', '', '']" "no reason when not breaking"

test_case "the global --format json before the command"
run envflow -C "$R" --format json diff test dev
expect_rc 0
expect_eq "$(json_get 'd["counts"]["items"]')" "5" "global format"

test_case "the other direction"
run envflow -C "$R" diff dev test
expect_rc 0
expect_out "  - Agent billing"
expect_out "  + Variable max_turns"
expect_out "  ~ Variable support_email: type  BREAKING: variable 'support_email' retyped from url to string"
expect_no_out "Agent billing  BREAKING"

test_case "revisions as sides: ids, HEAD~N, tags"
git -C "$R" tag v-before "$TEST"
run envflow -C "$R" diff "$TEST" "$DEV"
expect_rc 0
expect_out "diff $TEST..$DEV (5 items"
run envflow -C "$R" diff HEAD~1 HEAD
expect_rc 0
expect_out "(5 items: 1 added, 1 removed, 3 changed, 2 breaking)"
run envflow -C "$R" diff v-before dev --format json
expect_rc 0
expect_eq "$(json_get 'd["from"] == "'"$TEST"'"')" "True" "tag side"
run envflow -C "$R" diff "${DEV:0:8}" dev
expect_rc 0
expect_out "no semantic differences"

test_case "removed workflow and referenced agent are breaking"
git -C "$R" rm -q workflows/support-request.yaml agents/triage.yaml
commit_all "$R" "drop the workflow and the triage agent"
run envflow -C "$R" diff HEAD~1 HEAD
expect_rc 0
expect_out "  - Workflow support-request  BREAKING: workflow 'support-request' removed; referenced by channels/web-widget.yaml (workflow)"
expect_out "  - Agent triage  BREAKING: agent 'triage' removed; referenced by workflows/support-request.yaml (steps[0].agent, steps[4].agent)"

test_case "a file that does not parse"
printf 'kind: Agent\nname: [billing\n' >"$R/agents/billing.yaml"
commit_all "$R" "break billing"
run envflow -C "$R" diff HEAD~1 HEAD
expect_rc 0
expect_out "  ~ Agent billing: (unparsed)"

test_case "formatting-only changes are not semantic"
printf '# Billing\nkind: "Agent"\nname: billing\n' >"$R/agents/billing.yaml"
commit_all "$R" "fix billing"
printf '# Billing agent\nkind: Agent\nname:   "billing"\n' >"$R/agents/billing.yaml"
commit_all "$R" "reformat billing"
run envflow -C "$R" diff HEAD~1 HEAD
expect_rc 0
expect_out "no semantic differences"

test_case "unknown sides exit 2"
run envflow -C "$R" diff nope dev
expect_rc 2
expect_err "envflow: error: unknown environment or revision 'nope'"
run envflow -C "$R" diff dev nope --format json
expect_rc 2
expect_err "unknown environment or revision 'nope'"
# Under --format json the error is also a JSON object on stdout (docs/json.md).
expect_eq "$(json_get 'sorted(d) == ["error"] and d["error"]["kind"] == "usage" and d["error"]["exit"] == 2 and d["error"]["message"].startswith("unknown environment or revision \x27nope\x27")')" True "the JSON error on stdout"
run envflow -C "$R" diff dev
expect_rc 2

test_case "a clone diffs the server's environments, not its own stale branches"
C="$TEST_ROOT/clone"
git clone -q "$R" "$C"
OLD_TEST=$(ref_of "$R" refs/heads/test)
git -C "$C" branch -q test origin/test
# The server's test moves on; the clone's local branch stays behind.
NEW_TEST=$(ref_of "$R" refs/heads/dev~1)
git -C "$R" update-ref refs/heads/test "$NEW_TEST" "$OLD_TEST"
run envflow -C "$C" diff test dev --format json
expect_rc 0
expect_eq "$(json_get 'd["from"]')" "$NEW_TEST" "the side test in the clone is the server's test"
expect_eq "$(json_get 'd["to"]')" "$(ref_of "$R" refs/heads/dev)" "the side dev in the clone is the server's dev"
expect_eq "$(ref_of "$C" refs/heads/test)" "$OLD_TEST" "the clone's own branch is untouched"
run envflow -C "$C" diff test dev
expect_rc 0
expect_err "read the pipeline from origin"
expect_out "diff test..dev"
# A revision is still any revision of the clone.
run envflow -C "$C" diff "refs/heads/test" dev --format json
expect_rc 0
expect_eq "$(json_get 'd["from"]')" "$OLD_TEST" "a full ref name is a revision"
git -C "$R" update-ref refs/heads/test "$OLD_TEST" "$NEW_TEST"

test_case "a bare clone without the pipeline config: revisions still work"
git clone -q --bare "$R" "$TEST_ROOT/bare.git"
run envflow -C "$TEST_ROOT/bare.git" diff test dev
expect_rc 0
expect_out "diff test..dev ("
expect_out "  + Agent billing"

finish
