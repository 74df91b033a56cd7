#!/usr/bin/env bash
# envflow diff people can read (issue 19): old → new values aligned per item,
# long text as a unified diff cut on the terminal (--full, JSON whole),
# documents diffed as text, repository text escaped; renames made with plain
# `git mv` reported as renames, not breaking when every reference moved with
# them, and `publish --bump auto` making such a rename a minor release.
. "$(dirname "$0")/lib.sh"

# commit_all MESSAGE: commit every change of $R with plain git (hook skipped:
# diff describes content whether or not it validates).
commit_all() {
  git -C "$R" add -A
  git -C "$R" commit -q --no-verify -m "$1"
}

R=$(new_repo readable)
cd "$R"
edit_config 't = t.replace("release:\n  sign: true", "release:\n  sign: false")'
run envflow publish --no-sign
expect_rc 0
expect_out "published v1.0.0"
git checkout -q dev

test_case "a rename with every reference updated, made with plain git"
git mv agents/triage.yaml agents/router.yaml
sed -i 's/^name: triage$/name: router/' agents/router.yaml
sed -i 's/^    agent: triage$/    agent: router/' workflows/support-request.yaml
commit_all "triage is now router"
expect_eq "$(git diff --name-status -M HEAD~1 HEAD | grep -c $'^R[0-9]*\tagents/triage.yaml\tagents/router.yaml$')" \
  "1" "git sees a rename too"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_out "diff HEAD~1..HEAD (2 items: 1 changed, 1 renamed)"
expect_out "Agent: 1 renamed"
expect_out "  R Agent triage → router"
expect_out "  ~ Workflow support-request: steps[0].agent, steps[4].agent"
expect_out '      steps[0].agent  "triage" → "router"'
expect_no_out "BREAKING"
expect_no_out "+ Agent router"
expect_no_out "- Agent triage"
run envflow diff HEAD~1 HEAD --format json
expect_rc 0
expect_eq "$(json_get 'd["breaking"], d["counts"]["renamed"], d["counts"]["added"], d["counts"]["removed"]')" \
  "(False, 1, 1, 1)" "counts"
expect_eq "$(json_get '[(r["kind"], r["from"]["name"], r["to"]["path"], r["breaking"]) for r in d["renames"]]')" \
  "[('Agent', 'triage', 'agents/router.yaml', False)]" "renames"
expect_eq "$(json_get '[(i["name"], i["change"], i.get("renamed_to", {}).get("name"), i.get("renamed_from", {}).get("name")) for i in d["items"] if i["kind"] == "Agent"]')" \
  "[('router', 'added', None, 'triage'), ('triage', 'removed', 'router', None)]" "linked items"

test_case "publish --bump auto: a rename with references updated is minor"
git branch -q renamed HEAD
# Promote the rename to production (it validates: every reference moved).
# Each sync lists the rename as one line, and counts it once.
for env in dev test uat staging; do
  run envflow sync "$env"
  expect_rc 0
  expect_out "changes: 1 changed, 1 renamed"
  expect_out "  R Agent triage → router"
  expect_out "  ~ Workflow support-request: steps[0].agent, steps[4].agent"
  expect_no_out "Agent router"
done
run envflow publish --no-sign --dry-run --format json
expect_rc 0
expect_eq "$(json_get 'd["bump"], d["tag"]')" "('minor', 'v1.1.0')" "minor, not major"

test_case "the release notes name the rename once"
run envflow publish --no-sign
expect_rc 0
expect_out "published v1.1.0"
expect_out "  R Agent triage → router"
NOTES=$(git tag -l --format='%(contents)' v1.1.0)
expect_eq "$(grep -A3 '^Changes since' <<<"$NOTES")" "Changes since v1.0.0: 1 changed, 1 renamed
  R Agent triage → router
  ~ Workflow support-request: steps[0].agent, steps[4].agent" "the notes in the tag message"

test_case "a rename the references did not follow is breaking"
git checkout -q -b stale renamed~1
git mv agents/triage.yaml agents/router.yaml
sed -i 's/^name: triage$/name: router/' agents/router.yaml
commit_all "rename, references forgotten"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_out "  R Agent triage → router  BREAKING: agent 'triage' renamed to 'router'; still referenced by workflows/support-request.yaml (steps[0].agent, steps[4].agent)"

test_case "an edit beside the rename: a removal and an addition"
git checkout -q -b edited renamed~1
git mv agents/triage.yaml agents/router.yaml
sed -i 's/^name: triage$/name: router/; s/^tone: friendly/tone: warm/' agents/router.yaml
sed -i 's/^    agent: triage$/    agent: router/' workflows/support-request.yaml
commit_all "rename and retone"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_out "  + Agent router"
expect_out "  - Agent triage  BREAKING: agent 'triage' removed; referenced by workflows/support-request.yaml"
expect_no_out "renamed"

test_case "back on dev for the values"
git checkout -q dev
expect_eq "$(git rev-parse HEAD)" "$(git rev-parse renamed)" "dev holds the rename"

test_case "changed scalars: old → new, field names in one column"
sed -i 's/temperature: 0.3/temperature: 0.5/; s/^tone: empathetic/tone: formal/' agents/support.yaml
commit_all "cooler, formal support"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_out "diff HEAD~1..HEAD (1 item: 1 changed)"
expect_out "  ~ Agent support: model.temperature, tone"
expect_out "      model.temperature  0.3 → 0.5"
expect_out '      tone               "empathetic" → "formal"'
run envflow diff HEAD~1 HEAD --no-values
expect_rc 0
expect_out "  ~ Agent support: model.temperature, tone"
expect_no_out "→"

test_case "a key removed or added reads (none)"
sed -i '/^tone: formal$/d' agents/support.yaml
commit_all "no tone"
run envflow diff HEAD~1 HEAD
expect_out '      tone  "formal" → (none)'

test_case "long text: a unified diff of the text"
python3 - agents/support.yaml <<'PY'
import sys
p = sys.argv[1]
t = open(p).read()
t = t.replace("  guessing.\n", "  guessing, and offer to open a ticket.\n")
open(p, "w").write(t)
PY
commit_all "offer a ticket"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_out "  ~ Agent support: instructions"
expect_out "      instructions"
expect_out "        @@ -2,7 +2,7 @@"
expect_out "         tools return. If the answer is not there, say so plainly instead of"
expect_out "        -guessing."
expect_out "        +guessing, and offer to open a ticket."
expect_no_out "more line"

test_case "long text is cut on the terminal, whole with --full and in JSON"
python3 - agents/support.yaml <<'PY'
import sys
p = sys.argv[1]
t = open(p).read()
extra = "".join("  - Rule number %d for this store.\n" % i for i in range(1, 31))
t = t.replace("  - Never ask for card numbers or passwords.\n",
              "  - Never ask for card numbers or passwords.\n" + extra)
open(p, "w").write(t)
PY
commit_all "thirty rules"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_out "        +- Rule number 1 for this store."
expect_no_out "Rule number 30 "
# 37 lines: the hunk header, 3 + 3 lines of context, 30 added; 20 shown.
expect_out "        … 17 more lines"
expect_out "(long text cut at 20 lines; \`envflow diff --full 'HEAD~1' HEAD\` or --format json --values shows all)"
run envflow diff --full HEAD~1 HEAD
expect_out "        +- Rule number 30 for this store."
expect_no_out "more lines"
run envflow diff HEAD~1 HEAD --format json --values
expect_rc 0
expect_eq "$(json_get 'd["items"][0]["values"][0]["text_diff"].count("\n+  - Rule number")')" "0" \
  "text_diff lines carry the text as it is"
expect_eq "$(json_get 'd["items"][0]["values"][0]["text_diff"].count("\n+- Rule number")')" "30" \
  "every added line in the JSON text_diff"
expect_eq "$(json_get '"Rule number 30" in d["items"][0]["values"][0]["after"]')" "True" \
  "the whole new value"
run envflow diff HEAD~1 HEAD --format json
expect_eq "$(json_get '"values" in d["items"][0]')" "False" "values only with --values"

test_case "a changed document: its text diffed"
printf '\nExchanges are free.\n' >>knowledge/product-faq/returns.md
commit_all "free exchanges"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_out "  ~ Document product-faq/returns.md"
expect_out "      (document)"
expect_out "        +Exchanges are free."

test_case "text from the repository is escaped"
printf 'tone: "\\e[2J\\e[31mred\\u202e"\n' >>agents/support.yaml
commit_all "a hostile tone"
run envflow diff HEAD~1 HEAD
expect_rc 0
expect_no_out $'\033'
expect_out 'tone  (none) → "\u001b[2J\u001b[31mred'

finish
