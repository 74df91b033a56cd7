#!/usr/bin/env bash
# End-to-end: an attacker with plain git against a real smart-HTTP server
# (issue 12, "forged records"). The server alone writes the audit trail;
# holds and approvals are refs only the people the policy names may set or
# remove; live moves back only with a hold; release tags never move. Every
# attempt is a raw `git push` of hand-made commits and refs, and every
# result is checked on the server with plain git: nothing moved.
. "$(dirname "$0")/lib.sh"

team_policy >"$TEST_ROOT/policy.yaml"
team_server "$TEST_ROOT/policy.yaml" alice bob dave

B="$TEST_ROOT/bob"
D="$TEST_ROOT/dave"
team_clones bob dave
EMPTY=$(git -C "$D" hash-object -t tree /dev/null)
HEAD_DEV=$(git -C "$SRV" rev-parse refs/heads/dev)

# refused WHAT PUSH-ARGS...: dave's raw push is refused by the server's
# hook (not lost on the way) and moves nothing. refused_as USER WHAT
# PUSH-ARGS...: the same push from dave's clone, authenticated as USER.
# bob_refused DIR WHAT REFSPEC: bob's push of REFSPEC from the clone DIR is
# refused and the server's refs stay as they were.
bob_refused() {
  local before
  before=$(server_refs)
  run git -C "$1" push "$(url bob)" "$3"
  if [ "$RC" -ne 0 ] && [ "$(server_refs)" = "$before" ]; then pass; else
    fail "$2: rc $RC: $ERR"
  fi
}
refused() { refused_as dave "$@"; }
refused_as() {
  local who=$1 what=$2
  shift 2
  local before
  before=$(server_refs)
  run git -C "$D" push "$(url "$who")" "$@"
  if [ "$RC" -ne 0 ] && [ "$(server_refs)" = "$before" ] &&
    grep -qF "remote: envflow: push rejected, nothing was changed" <<<"$ERR"; then pass; else
    fail "$what: rc $RC, server refs $( [ "$(server_refs)" = "$before" ] && echo unchanged || echo CHANGED): $ERR"
  fi
}

# bob publishes v1.0.0 the normal way, so there is a live release (unsigned:
# the policy says release.sign: false and bob has no signing key).
"$ENVFLOW" -C "$B" sync dev --push >/dev/null
"$ENVFLOW" -C "$B" sync test --push >/dev/null
"$ENVFLOW" -C "$B" publish --no-sign --push >/dev/null
git -C "$D" fetch -q

test_case "a hand-made audit record cannot be pushed (hold-release, merge, big tree)"
REC=$(printf 'op: hold-release\nenv: production\nactor: bob\n' | git -C "$D" commit-tree "$EMPTY" -p "$(git -C "$SRV" rev-parse refs/envflow/audit)")
refused "forged hold-release record" "$REC:refs/envflow/audit"
expect_err "refs/envflow/audit is written by the server itself"
MERGE=$(printf 'op: push\n' | git -C "$D" commit-tree "$EMPTY" -p "$(git -C "$SRV" rev-parse refs/envflow/audit)" -p "$HEAD_DEV")
refused "merge on the trail" "$MERGE:refs/envflow/audit"
head -c 3000000 /dev/urandom >"$TEST_ROOT/big"
BLOB=$(git -C "$D" hash-object -w "$TEST_ROOT/big")
BIGTREE=$(printf '100644 blob %s\tjunk\n' "$BLOB" | git -C "$D" mktree)
BIG=$(printf 'op: push\n' | git -C "$D" commit-tree "$BIGTREE" -p "$(git -C "$SRV" rev-parse refs/envflow/audit)")
refused "3 MB record" "$BIG:refs/envflow/audit"
refused "the pending journal" "$BIG:refs/envflow/pending"
expect_err "it never goes to the server"

test_case "a developer cannot set or release a hold"
HOLD=$(printf 'envflow hold production\n\nenv: production\nkind: manual\nactor: dave\ntime: 2026-01-01T00:00:00Z\nreason: freeze\n' |
  git -C "$D" commit-tree "$EMPTY")
refused "dave holds production" "$HOLD:refs/envflow/holds/production/$HOLD"
"$ENVFLOW" -C "$B" hold set production --reason "bob freezes" --push >/dev/null
BOBHOLD=$(git -C "$SRV" for-each-ref --format='%(refname)' refs/envflow/holds/production | head -1)
expect_eq "$([ -n "$BOBHOLD" ] && echo yes)" "yes" "bob's hold is on the server"
git -C "$D" fetch -q
refused "dave deletes bob's hold" ":$BOBHOLD"
JUNK=$(git -C "$D" commit-tree "$BIGTREE" -m junk)
refused "a hold ref to a big tree (even by name)" "$JUNK:refs/envflow/holds/test/$JUNK"

test_case "approvals: only by the person they name, for the commit they name"
TESTHEAD=$(git -C "$SRV" rev-parse refs/heads/test)
refused "dave approves as bob" "$TESTHEAD:refs/envflow/approvals/production/$TESTHEAD/bob"
expect_err "an approval is given by its author only"
refused "dave approves himself (not an approver)" "$TESTHEAD:refs/envflow/approvals/production/$TESTHEAD/dave"
expect_err "is not an approver for production"
refused_as bob "bob's approval pointing at another commit" "$(git -C "$D" commit-tree "$EMPTY" -m other):refs/envflow/approvals/production/$TESTHEAD/bob"
expect_err "must point at the commit it names"

test_case "live: never to a non-release, never back without a hold, tags never move"
refused "live to a commit" "$HEAD_DEV:refs/envflow/live"
refused "live deleted" ":refs/envflow/live"
refused "a release tag moved" "+$HEAD_DEV:refs/tags/v1.0.0"
refused "a release tag deleted" ":refs/tags/v1.0.0"

test_case "environment branches: no rewrite, no promotion by a developer"
# alice (a developer) writes dev, so dev is ahead of test: there is something to promote.
git -C "$D" fetch -q
git -C "$D" switch -q -C dev origin/dev
sed -i 's/^description: .*/description: A change of alice./' "$D/agents/support.yaml"
git -C "$D" commit -q -am "A change of alice"
run git -C "$D" push "$(url alice)" dev:dev
expect_rc 0
NEW_DEV=$(git -C "$SRV" rev-parse refs/heads/dev)
expect_eq "$NEW_DEV" "$(git -C "$D" rev-parse dev)" "alice's change on the server's dev"
refused "test promoted by a developer" "$NEW_DEV:refs/heads/test"
refused "dev rewound by a developer" "+$HEAD_DEV:refs/heads/dev"
refused "production deleted" ":refs/heads/production"
bob_refused "$D" "dev rewound by the release manager" "+$HEAD_DEV:refs/heads/dev"
expect_err "not a fast-forward"

test_case "live moves back only with a hold on production"
# bob releases alice's change as v1.0.1 and lifts his freeze; then live
# moved back by hand, with no hold on production, is refused: the next
# auto-promotion would bring the bad release straight back.
"$ENVFLOW" -C "$B" sync dev --push >/dev/null
"$ENVFLOW" -C "$B" sync test --push >/dev/null
run "$ENVFLOW" -C "$B" publish --no-sign --push
expect_rc 0
expect_eq "$(git -C "$SRV" rev-parse refs/envflow/live)" "$(git -C "$SRV" rev-parse -q --verify refs/tags/v1.0.1)" "live"
run "$ENVFLOW" -C "$B" hold release production --reason "freeze over" --push
expect_rc 0
expect_eq "$(git -C "$SRV" for-each-ref refs/envflow/holds/production)" "" "holds on production"
V100=$(git -C "$SRV" rev-parse refs/tags/v1.0.0)
git -C "$D" fetch -q
refused "live moved back by a developer" "+$V100:refs/envflow/live"
bob_refused "$B" "live moved back by the publisher without a hold" "+$V100:refs/envflow/live"
expect_err "is a rollback: it puts a hold on production"

test_case "the server's trail is one record per accepted change, linear"
expect_eq "$(git -C "$SRV" rev-list --merges refs/envflow/audit | wc -l)" 0 "no merges"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c '^op: hold$')" 1 "one hold record"
run "$ENVFLOW" -C "$SRV" doctor
expect_rc 0
expect_out "audit-authority"

# Records written on the server itself, past the hooks (a shell on the
# server, a restored backup, an older envflow): doctor replays the trail
# and judges each record by the policy in force when it was made.
# forge MESSAGE: append a hand-made record to the server's trail.
forge() {
  local parent rec
  parent=$(git -C "$SRV" rev-parse refs/envflow/audit)
  rec=$(printf '%s' "$1" | git -C "$SRV" commit-tree "$EMPTY" -p "$parent")
  git -C "$SRV" update-ref refs/envflow/audit "$rec" "$parent"
  echo "$rec"
}
# doctor_says CHECK TEXT: doctor on the server exits 1 and has an error of
# CHECK whose message holds TEXT.
doctor_says() {
  run "$ENVFLOW" -C "$SRV" doctor --format json
  if [ "$RC" -eq 1 ] && python3 -c '
import json, sys
data = json.loads(sys.argv[1])
found = [f for f in data if f["check"] == sys.argv[2] and f["level"] == "error"
         and sys.argv[3] in f["message"] and f["mend"]]
sys.exit(0 if found else 1)' "$OUT" "$1" "$2"; then pass; else
    fail "doctor does not report $1 '$2': rc $RC: $OUT"
  fi
}
NOW=2026-01-02T00:00:00Z

test_case "doctor: a hold released by a developer, written on the server by hand"
"$ENVFLOW" -C "$B" hold set production --reason "bob freezes again" --push >/dev/null
HELD=$(git -C "$SRV" for-each-ref --format='%(refname) %(objectname)' refs/envflow/holds/production | head -1)
read -r HREF HID <<<"$HELD"
git -C "$SRV" update-ref -d "$HREF" "$HID"
FORGED=$(forge "envflow hold-release production

op: hold-release
env: production
actor: dave
time: $NOW
tool: by hand
move: $HREF $HID 0000000000000000000000000000000000000000
")
doctor_says audit-authority "${FORGED:0:7} (hold-release by dave)"
expect_out "may not release a hold on production"
git -C "$B" fetch -q
run "$ENVFLOW" -C "$B" doctor
expect_rc 1
expect_out "${FORGED:0:7} (hold-release by dave)"

test_case "doctor: the policy changed by a developer, on the server by hand"
CFG=$(git -C "$SRV" rev-parse refs/envflow/config)
NEWCFG=$(printf 'config by hand\n' | git -C "$SRV" commit-tree "$CFG^{tree}" -p "$CFG")
git -C "$SRV" update-ref refs/envflow/config "$NEWCFG" "$CFG"
FORGED=$(forge "envflow config

op: config
actor: alice
time: $NOW
tool: by hand
move: refs/envflow/config $CFG $NEWCFG
")
doctor_says audit-authority "${FORGED:0:7} (config by alice)"
expect_out "may not change the pipeline config"

test_case "doctor: a record that carries files, or a message far too long"
BIG=$(head -c 3000000 /dev/urandom | git -C "$SRV" hash-object -w --stdin)
BIGTREE=$(printf '100644 blob %s\tjunk\n' "$BIG" | git -C "$SRV" mktree)
parent=$(git -C "$SRV" rev-parse refs/envflow/audit)
REC=$(printf 'envflow note\n\nop: note\nactor: bob\ntime: %s\ntool: by hand\n' "$NOW" |
  git -C "$SRV" commit-tree "$BIGTREE" -p "$parent")
git -C "$SRV" update-ref refs/envflow/audit "$REC" "$parent"
doctor_says audit-chain "${REC:0:7} (note) is not one envflow writes: it carries files"
LONG=$(forge "envflow note

op: note
actor: bob
time: $NOW
tool: by hand
note: $(head -c 100000 /dev/zero | tr '\0' x)
")
doctor_says audit-chain "${LONG:0:7} (note) is not one envflow writes: its message is"

finish
