#!/usr/bin/env bash
# End-to-end: auto-promotion (issue 7). `envflow sync --auto` on a repository
# from `envflow init` with `auto: true` set through `config edit`: usage
# errors, nothing to do, --dry-run, dev -> test -> uat and a stop at staging
# (not auto), JSON, a stop at missing approvals that names who must approve
# and goes on after `envflow approve`, invalid content (exit 1, nothing
# moved), and holds: publish + rollback holds production, `sync --auto` stops
# there with the hold, `hold list` shows it, a sync by hand notes it,
# `hold release` clears it (audited, in `envflow log`), then auto promotes;
# `hold set`; concurrent `sync --auto` runs never move an environment twice.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

ENVS=(dev test uat staging production)

all_refs() { refs_line "$R" "${ENVS[@]}" envflow/audit envflow/live; }

# records OP: how many `op: OP` records the audit trail holds.
records() { git -C "$R" log --format=%B refs/envflow/audit | grep -c "^op: $1\$" || true; }

head_of() { ref_of "$R" "refs/heads/$1"; }

N=0
# commit_dev: a valid change on dev (the pre-commit hook runs).
commit_dev() {
  N=$((N + 1))
  sed -i "s/^description: .*/description: Change $N/" variables/max_turns.yaml
  git -C "$R" add -A && git -C "$R" commit -q -m "Change $N"
}

R=$(new_repo pipeline)
cd "$R"
grep -q '^description:' variables/max_turns.yaml || { echo "starter variable changed: fix commit_dev" >&2; exit 1; }

# ---------------------------------------------------------------------------
test_case "usage: --auto takes no ENV and no --rev; sync without ENV or --auto"
run envflow sync --auto dev
expect_rc 2
expect_err "--auto walks the whole pipeline"
run envflow sync --auto --rev HEAD
expect_rc 2
run envflow sync
expect_rc 2
expect_err "sync needs ENV"

test_case "auto: true set on test and uat through config edit"
edit_config "t = set_auto(set_auto(t, 'test'), 'uat')"
run envflow config show --format json
expect_json "[e.get('auto', False) for e in data['environments']] == [False, True, True, False, False]"

test_case "nothing waiting: every environment in sync, exit 0"
BEFORE=$(all_refs)
run envflow sync --auto
expect_rc 0
expect_out "test is in sync with dev"
expect_out "production is in sync with staging"
expect_unchanged "$BEFORE"

test_case "dry run: the whole walk planned, nothing moved"
commit_dev
C1=$(head_of dev)
BEFORE=$(all_refs)
run envflow sync --auto --dry-run
expect_rc 0
expect_out "test would be synced from dev"
expect_out "uat would be synced from test"
expect_out "staging is not auto-promoted: 1 commit of uat waits for a person (promote groups: release-managers) to run envflow sync uat"
expect_out "dry run: nothing changed"
expect_unchanged "$BEFORE"

test_case "sync --auto: dev -> test -> uat, stops at staging (not auto)"
run envflow sync --auto
expect_rc 0
expect_out "test synced from dev"
expect_out "uat synced from test"
expect_out "staging is not auto-promoted"
expect_eq "$(head_of test)" "$C1" "test"
expect_eq "$(head_of uat)" "$C1" "uat"
expect_eq "$(head_of staging)" "$(head_of production)" "staging untouched"
expect_eq "$(records sync)" 2 "sync records"

test_case "JSON: promoted, in_sync, stopped_at"
commit_dev
run envflow --format json sync --auto --dry-run
expect_rc 0
expect_json \
  "data['auto'] and data['dry_run'] and [p['target'] for p in data['promoted']] == ['test', 'uat'] and not data['promoted'][0]['moved']" \
  "data['stopped_at']['env'] == 'staging' and data['stopped_at']['reason'] == 'not-auto' and data['stopped_at']['source'] == 'uat' and data['stopped_at']['waiting_commits'] == 2" \
  "data['stopped_at']['waiting_for'] == {'groups': ['release-managers'], 'command': 'envflow sync uat', 'approvals_required': 0, 'approvals': []} and data['stopped_at']['hold'] is None"
run envflow --format json sync --auto
expect_rc 0
expect_json "[p['target'] for p in data['promoted']] == ['test', 'uat'] and data['promoted'][0]['moved'] and len(data['promoted'][0]['commits']) == 1 and data['in_sync'] == []"
run envflow --format json sync --auto
expect_json "data['promoted'] == [] and data['in_sync'] == ['test', 'uat'] and data['stopped_at']['env'] == 'staging'"

test_case "invalid content on dev (--no-verify): exit 1, the reason, nothing moved"
cat >agents/broken.yaml <<'EOF'
kind: Agent
name: other
EOF
git add agents/broken.yaml
git commit -q --no-verify -m "Broken agent"
BEFORE=$(all_refs)
run envflow sync --auto
expect_rc 1
expect_out "test not synced: a gate refused"
expect_err "sync --auto stopped at test: the content of"
expect_err "does not validate"
expect_unchanged "$BEFORE"
run envflow --format json sync --auto
expect_rc 1
expect_json "data['stopped_at']['reason'] == 'refused' and data['stopped_at']['waiting_for'] is None and data['promoted'] == []"
# A fix on top hides nothing: every commit entering an environment validates,
# so the broken commit still stops the walk (a CI job stays red).
git rm -q agents/broken.yaml
git commit -q -m "Remove the broken agent"
BEFORE=$(all_refs)
run envflow sync --auto
expect_rc 1
expect_err "Broken agent"
expect_err "a later commit that fixes it does not hide it: every commit entering test must validate"
expect_unchanged "$BEFORE"
# Mended as it must be: the broken commit taken out of dev's history (dev is
# the repository's own branch here; a server's hooks refuse it at the push).
git reset -q --hard HEAD~2
run envflow sync --auto
expect_rc 0
expect_eq "$(head_of uat)" "$(head_of dev)" "uat after the fix"

test_case "approvals on uat: stops and says who must approve; goes on after approve"
edit_config "t = env_block(t, 'uat', lambda b: b.replace('approvals: 0', 'approvals: 2').replace('approvers: [\"release-managers\"]', 'approvers: [\"qa\"]'))
t = t.replace('\ngroups:\n', '\ngroups:\n  qa: [\"bob@example.com\", \"carol@example.com\"]\n')"
commit_dev
C2=$(head_of dev)
UAT=$(head_of uat)
run envflow sync --auto
expect_rc 0
expect_out "test synced from dev"
expect_out "promoting ${C2:0:7} into uat needs 2 approvals from qa (not counting alice@example.com); it has 0 approvals of 2 needed; approvers run: envflow approve uat --rev ${C2:0:7}"
expect_eq "$(head_of uat)" "$UAT" "uat before approvals"
run envflow --actor bob@example.com approve uat
expect_rc 0
run envflow --format json sync --auto
expect_rc 0
expect_json "data['stopped_at']['reason'] == 'approvals' and data['stopped_at']['waiting_for']['approvals'] == ['bob@example.com'] and data['stopped_at']['waiting_for']['approvals_required'] == 2 and data['stopped_at']['waiting_for']['groups'] == ['qa']"
run envflow sync --auto
expect_out "promoting ${C2:0:7} into uat needs 2 approvals from qa (not counting alice@example.com); it has 1 approval of 2 needed (bob@example.com)"
run envflow --actor carol@example.com approve uat
expect_rc 0
run envflow sync --auto
expect_rc 0
expect_out "test is in sync with dev"
expect_out "uat synced from test"
expect_out "staging is not auto-promoted"
expect_eq "$(head_of uat)" "$C2" "uat after approvals"

# --- holds -------------------------------------------------------------------
test_case "every environment auto, unsigned releases: sync --auto reaches production"
edit_config "t = env_block(t, 'uat', lambda b: b.replace('approvals: 2', 'approvals: 0'))
t = set_auto(set_auto(t, 'staging'), 'production')
t = t.replace('release:\n  sign: true\n', 'release:\n  sign: false\n')"
run envflow sync --auto
expect_rc 0
expect_out "production synced from staging"
expect_eq "$(head_of production)" "$C2" "production"
run envflow publish --no-sign --version v1.0.0
expect_rc 0
commit_dev
run envflow sync --auto
expect_rc 0
run envflow publish --no-sign --version v1.1.0
expect_rc 0
run envflow hold list
expect_rc 0
expect_out "no holds on auto-promotion"

test_case "a rollback holds production"
run envflow rollback v1.0.0
expect_rc 0
expect_out "auto-promotion into production is held until envflow hold release production"
run envflow hold list
expect_rc 0
expect_out "production"
expect_out "rollback"
expect_out "alice@example.com"
expect_out "live v1.1.0 -> v1.0.0"
run envflow --format json hold list
expect_json "len(data['holds']) == 1 and data['holds'][0]['env'] == 'production' and data['holds'][0]['kind'] == 'rollback' and data['holds'][0]['auto'] and data['holds'][0]['reason'] == 'live v1.1.0 -> v1.0.0'"
run envflow status
expect_out "HELD (rollback"
run envflow --format json status
expect_json "data['environments'][4]['hold']['kind'] == 'rollback' and data['environments'][3]['hold'] is None and data['environments'][4]['auto']"

test_case "sync --auto stops at held production with the hold"
commit_dev
C3=$(head_of dev)
PROD=$(head_of production)
run envflow sync --auto
expect_rc 0
expect_out "staging synced from uat"
expect_out "production is held (rollback by alice@example.com at"
expect_out "live v1.1.0 -> v1.0.0): auto-promotion stops here; release the hold with envflow hold release production, or a person promotes by hand (envflow sync staging)"
expect_out "envflow hold release production"
expect_eq "$(head_of staging)" "$C3" "staging"
expect_eq "$(head_of production)" "$PROD" "production held"
run envflow --format json sync --auto
expect_json "data['stopped_at']['reason'] == 'held' and data['stopped_at']['hold']['kind'] == 'rollback' and data['stopped_at']['waiting_for']['command'] == 'envflow hold release production'"

test_case "a sync by hand into held production goes ahead with a note"
run envflow sync staging --dry-run
expect_rc 0
expect_out "note: production is held for auto-promotion (rollback by alice@example.com"

test_case "hold release: who may, the audit record, then auto promotes"
BEFORE=$(all_refs)
run envflow --actor mallory@example.com hold release production
expect_rc 1
expect_err "mallory@example.com may not release the hold on production"
expect_unchanged "$BEFORE"
run envflow hold release production --reason "v1.0.1 fixes it"
expect_rc 0
expect_out "released the hold on production (rollback by alice@example.com"
expect_eq "$(records hold-release)" 1 "hold-release records"
run envflow log --op hold-release
expect_rc 0
expect_out "hold-release"
expect_out "production"
expect_out "v1.0.1 fixes it"
run envflow hold release production
expect_rc 0
expect_out "production is not held: nothing to release"
expect_eq "$(records hold-release)" 1 "hold-release records after a no-op"
run envflow hold list
expect_out "no holds on auto-promotion"
run envflow sync --auto
expect_rc 0
expect_out "production synced from staging"
expect_eq "$(head_of production)" "$C3" "production after the release"

test_case "hold set: a manual hold stops sync --auto; usage errors"
run envflow hold set dev --reason x
expect_rc 2
run envflow hold set uat
expect_rc 2
run envflow hold set uat --reason "UAT freeze for the audit"
expect_rc 0
expect_out "held uat: UAT freeze for the audit"
commit_dev
run envflow sync --auto
expect_rc 0
expect_out "test synced from dev"
expect_out "uat is held (held by alice@example.com at"
expect_out "UAT freeze for the audit"
run envflow hold release uat
expect_rc 0
run envflow sync --auto
expect_rc 0
expect_eq "$(head_of production)" "$(head_of dev)" "production after the manual hold"

test_case "concurrent sync --auto runs never move an environment twice"
RACE="$TEST_ROOT/race"
for round in 1 2 3 4 5; do
  commit_dev
  SYNCS=$(records sync)
  race_run "$RACE" "envflow sync --auto" "envflow sync --auto" "envflow sync --auto"
  expect_eq "$(records sync)" "$((SYNCS + 4))" "round $round: one sync record per environment"
  expect_eq "$(head_of production)" "$(head_of dev)" "round $round: production"
  ok=0
  for i in 0 1 2; do
    rc=$(cat "$RACE/$i.rc")
    if [ "$rc" = 0 ]; then ok=$((ok + 1)); elif grep -qF "run it again" "$RACE/$i.err"; then :; else
      fail "round $round racer $i: exit $rc: $(cat "$RACE/$i.err")"
    fi
  done
  if [ "$ok" -ge 1 ]; then pass; else fail "round $round: no racer succeeded"; fi
done
run envflow doctor
expect_rc 0

test_case "an open back-port stops sync --auto before production (exit 0), until applied"
run envflow hotfix start quick-fix
expect_rc 0
sed -i "s/^tone: .*/tone: friendly/" agents/support.yaml
git -C "$R" add -A && git -C "$R" commit -q -m "Hotfix: friendly tone"
run envflow hotfix finish --no-sign -m "Quick fix"
expect_rc 0
git -C "$R" switch -q dev
git -C "$R" checkout -q -- . 2>/dev/null || true
HOTFIX_HEAD=$(head_of production)
sed -i "s/^default: .*/default: 7/" variables/max_turns.yaml
git -C "$R" add -A && git -C "$R" commit -q -m "Another change on dev"
run envflow --format json sync --auto
expect_rc 0
expect_json \
  "data['stopped_at']['env'] == 'production' and data['stopped_at']['reason'] == 'backport' and data['stopped_at']['waiting_for']['command'] == 'envflow backport list'" \
  "[p['target'] for p in data['promoted']] == ['test', 'uat', 'staging']"
expect_eq "$(head_of production)" "$HOTFIX_HEAD" "production untouched while the back-port is open"
run envflow sync --auto
expect_rc 0
expect_out "promoting into production is refused until it is back-ported"
expect_out "run envflow backport apply 1"
run envflow backport apply 1
expect_rc 0
run envflow sync --auto
expect_rc 0
expect_eq "$(head_of production)" "$(head_of dev)" "production after the back-port"
run envflow doctor
expect_rc 0

finish
