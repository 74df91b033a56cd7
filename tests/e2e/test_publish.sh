#!/usr/bin/env bash
# End-to-end: releases (issue 4, publish / verify / releases / rollback) with
# the real git CLI and real keys generated here, for both signature formats.
#
# ssh (ed25519 from ssh-keygen, git's gpg.format/user.signingKey): publish,
# the tag and its manifest, stock `git verify-tag` and `envflow verify` pass;
# auto bumps (changed field -> patch, added agent -> minor, removed variable
# -> major), --bump, --version, the no-op publish, --no-sign refused by the
# default policy and allowed once release.sign is false, a non-publisher
# refused with nothing moved; `envflow verify` fails (exit 1, each problem
# named) for a tampered manifest (re-signed with the same key, or keeping the
# original signature), a good signature by a key outside the allowed
# signers, an unsigned tag; rollback (live moved, status "head ahead of
# live", publish refused without --force --reason, then re-pointed);
# releases text and JSON with the live marker; exactly one audit record per
# publish/rollback and none per refusal; doctor and git fsck clean.
#
# openpgp (gpg ed25519 key in a short temporary GNUPGHOME, selected through
# envflow.yaml release.format/release.signing_key): publish, `git verify-tag`
# and `envflow verify` pass; tampered manifest, unknown key (a key gpg itself
# trusts, but not in the policy keyring) and unsigned tag fail.
. "$(dirname "$0")/lib.sh"

requires python3 ssh-keygen

ENVS=(dev test uat staging production)

# all_refs: every ref a release operation may move, one line.
all_refs() { refs_line "$R" "${ENVS[@]}" envflow/live envflow/audit envflow/config tags; }
expect_unchanged() { expect_eq "$(all_refs)" "$1" "refs after a refusal"; }

# records OP: how many `op: OP` records the audit trail holds.
records() { git -C "$R" log --format=%B refs/envflow/audit | grep -c "^op: $1\$" || true; }

# live_tag: the tag object live points at (not peeled).
live_tag() { git -C "$R" rev-parse -q --verify refs/envflow/live || echo none; }
# tag_obj TAG: the tag object id of TAG (not peeled).
tag_obj() { git -C "$R" rev-parse -q --verify "refs/tags/$1" || echo none; }

commit_all() { git -C "$R" add -A && git -C "$R" commit -q -m "$1"; }

# promote: dev's head all the way to production; every sync must succeed.
promote() {
  local env
  for env in dev test uat staging; do
    run envflow sync "$env"
    expect_rc 0
  done
}

# tag_message TAG >FILE: the message of TAG, signature block removed.
tag_message() {
  git -C "$R" cat-file tag "$1" | sed '1,/^$/d' |
    sed '/^-----BEGIN \(PGP\|SSH\) SIGNATURE-----$/,$d'
}

# forge_tag NAME COMMIT MSGFILE SIGNER: a tag object written by hand with
# `git mktag` (tagger alice), refs/tags/NAME pointed at it. SIGNER is
# ssh:KEYFILE, gpg:KEYID or none.
forge_tag() {
  local name=$1 commit=$2 msg=$3 signer=$4 f="$TEST_ROOT/forged-$1" id
  {
    printf 'object %s\ntype commit\ntag %s\ntagger Alice Dev <alice@example.com> 1767225600 +0000\n\n' \
      "$commit" "$name"
    cat "$msg"
  } >"$f"
  case $signer in
  ssh:*)
    rm -f "$f.sig"
    ssh-keygen -q -Y sign -n git -f "${signer#ssh:}" "$f" 2>/dev/null
    cat "$f.sig" >>"$f"
    ;;
  gpg:*)
    gpg --batch --quiet --armor --detach-sign -u "${signer#gpg:}" -o - "$f" >"$f.asc"
    cat "$f.asc" >>"$f"
    ;;
  esac
  id=$(git -C "$R" mktag <"$f")
  git -C "$R" update-ref "refs/tags/$name" "$id"
}

# verify_fails TAG TEXT...: envflow verify TAG exits 1, names every TEXT on
# stdout, says "does not verify" on stderr; the JSON form says not ok.
verify_fails() {
  local tag=$1 text
  shift
  run envflow verify "$tag"
  expect_rc 1
  expect_err "$tag does not verify"
  for text in "$@"; do expect_out "$text"; done
  run envflow verify "$tag" --format json
  expect_rc 1
  expect_json 'data["ok"] is False and len(data["problems"]) >= 1'
}

# ===========================================================================
# Part 1: ssh signatures
# ===========================================================================
R=$(new_repo ssh)
cd "$R"

ssh-keygen -q -t ed25519 -N '' -C alice -f "$TEST_ROOT/signing_key"
ssh-keygen -q -t ed25519 -N '' -C rogue -f "$TEST_ROOT/rogue_key"
git config --global gpg.format ssh
git config --global user.signingKey "$TEST_ROOT/signing_key"
echo "alice@example.com namespaces=\"git\" $(cat "$TEST_ROOT/signing_key.pub")" \
  >"$TEST_ROOT/allowed_signers"

test_case "no releases yet"
run envflow releases
expect_rc 0
expect_out "no releases yet"
run envflow releases --format json
expect_rc 0
expect_json 'data == []'

test_case "verify without allowed signers in the policy fails"
run envflow publish
expect_rc 0
expect_out "published v1.0.0"
run envflow verify v1.0.0
expect_rc 1
expect_out "the policy names no allowed signers"

test_case "allowed signers stored on the config ref"
run envflow config put allowed_signers "$TEST_ROOT/allowed_signers"
expect_rc 0
edit_config "t = t.replace('release:\n  sign: true\n', 'release:\n  sign: true\n  allowed_signers: allowed_signers\n')"
expect_eq "$(git show refs/envflow/config:allowed_signers)" "$(cat "$TEST_ROOT/allowed_signers")" \
  "allowed signers on the config ref"

test_case "first publish: v1.0.0 on production's head, live moved, one audit record"
PROD0=$(ref_of "$R" refs/heads/production)
expect_eq "$(git cat-file -t v1.0.0)" "tag" "v1.0.0 object type"
expect_eq "$(ref_of "$R" v1.0.0)" "$PROD0" "v1.0.0 target"
expect_eq "$(live_tag)" "$(tag_obj v1.0.0)" "live after the first publish"
expect_eq "$(records publish)" 1 "publish records"
V100_OBJ=$(tag_obj v1.0.0)

test_case "v1.0.0 manifest: commit, version, bump, hotfix, one item per promoted file"
tag_message v1.0.0 >"$TEST_ROOT/v100.msg"
OUT=$(cat "$TEST_ROOT/v100.msg") ERR=""
expect_out "Release v1.0.0 (production)"
expect_out "Initial release."
expect_out "envflow-manifest:"
expect_out "commit: $PROD0"
expect_out "version: v1.0.0"
expect_out "previous: none"
expect_out "bump: initial"
expect_out "hotfix: false"
expect_out "item: $(git rev-parse "$PROD0:agents/support.yaml") agents/support.yaml"
expect_out "item: $(git rev-parse "$PROD0:workspace.yaml") workspace.yaml"
expect_out "item: $(git rev-parse "$PROD0:knowledge/product-faq/returns.md") knowledge/product-faq/returns.md"
expect_eq "$(grep -c '^item: ' "$TEST_ROOT/v100.msg")" \
  "$(git ls-tree -r --name-only "$PROD0" | grep -cE '^(workspace\.yaml|(agents|workflows|knowledge|integrations|channels|variables)/)')" \
  "manifest items = promoted files"

test_case "ssh: stock git verify-tag accepts v1.0.0"
run git -c gpg.ssh.allowedSignersFile="$TEST_ROOT/allowed_signers" verify-tag v1.0.0
expect_rc 0
expect_err 'Good "git" signature for alice@example.com'

test_case "ssh: envflow verify v1.0.0 passes"
run envflow verify v1.0.0
expect_rc 0
expect_out "verified v1.0.0: good signature by alice@example.com; manifest matches the tagged tree"
run envflow verify v1.0.0 --format json
expect_rc 0
expect_json 'data["ok"] is True and data["signature_ok"] is True and data["manifest_ok"] is True and data["signer"] == "alice@example.com" and data["problems"] == []'

test_case "verify: an unknown tag is a usage error"
run envflow verify v42.0.0
expect_rc 2
expect_err "no release tag 'v42.0.0'"

test_case "no-op publish: nothing to publish, nothing moved, no record"
BEFORE=$(all_refs)
run envflow publish
expect_rc 0
expect_out "nothing to publish: v1.0.0"
expect_unchanged "$BEFORE"
run envflow publish --format json
expect_rc 0
expect_json 'data["outcome"] == "nothing" and data["tag"] == "v1.0.0"'
expect_eq "$(records publish)" 1 "publish records after no-ops"

test_case "auto bump: a changed field is a patch (v1.0.1)"
sed -i 's/temperature: 0.3/temperature: 0.4/' agents/support.yaml
commit_all "Warmer support agent"
promote
run envflow publish --format json
expect_rc 0
expect_json \
  'data["outcome"] == "published" and data["tag"] == "v1.0.1" and data["previous_live"] == "v1.0.0"' \
  '"~ Agent support: model.temperature" in data["notes"]'
expect_eq "$(ref_of "$R" v1.0.1)" "$(ref_of "$R" refs/heads/production)" "v1.0.1 target"
expect_eq "$(live_tag)" "$(tag_obj v1.0.1)" "live after v1.0.1"
tag_message v1.0.1 >"$TEST_ROOT/v101.msg"
OUT=$(cat "$TEST_ROOT/v101.msg")
expect_out "Changes since v1.0.0:"
expect_out "previous: v1.0.0"
expect_out "bump: patch"
expect_out "item: $(git rev-parse production:agents/support.yaml) agents/support.yaml"

test_case "non-publisher refused, nothing moved, no record"
sed -i 's/temperature: 0.2/temperature: 0.25/' agents/triage.yaml
commit_all "Triage a bit warmer"
promote
BEFORE=$(all_refs)
run envflow --actor mallory@example.com publish
expect_rc 1
expect_err "mallory@example.com may not publish"
expect_unchanged "$BEFORE"
expect_eq "$(records publish)" 2 "publish records after a refused publish"

test_case "--no-sign refused by the default policy (release.sign: true)"
run envflow publish --no-sign
expect_rc 1
expect_err "the policy requires signed releases"
expect_unchanged "$BEFORE"

test_case "--bump minor overrides auto (a patch) and -m goes above the notes"
run envflow publish --bump minor -m "Tuning release"
expect_rc 0
expect_out "published v1.1.0"
expect_out "~ Agent triage: model.temperature"
OUT=$(tag_message v1.1.0)
expect_out "Tuning release"
expect_out "bump: minor"
run envflow verify v1.1.0
expect_rc 0

test_case "auto bump: an added agent is a minor (v1.2.0)"
sed 's/^name: triage$/name: billing/' agents/triage.yaml >agents/billing.yaml
commit_all "Add a billing agent"
promote
run envflow publish
expect_rc 0
expect_out "published v1.2.0"
expect_out "+ Agent billing"
OUT=$(tag_message v1.2.0)
expect_out "bump: minor"
expect_out "item: $(git rev-parse production:agents/billing.yaml) agents/billing.yaml"

test_case "auto bump: a removed variable (its uses removed too) is a major (v2.0.0)"
sed -i 's/{{ vars.support_email }}/support@example.com/g' agents/support.yaml workflows/support-request.yaml
git rm -q variables/support_email.yaml
commit_all "Drop the support_email variable"
run envflow validate --rev dev
expect_rc 0
promote
run envflow publish
expect_rc 0
expect_out "published v2.0.0"
expect_out "- Variable support_email"
expect_out "BREAKING"
OUT=$(tag_message v2.0.0)
expect_out "bump: major"
expect_no_out "variables/support_email.yaml"

test_case "--version: not after the latest release is refused, nothing moved"
sed -i 's/max_tokens: 800/max_tokens: 900/' agents/support.yaml
commit_all "Longer support answers"
promote
BEFORE=$(all_refs)
run envflow publish --version v2.0.0
expect_rc 2
expect_err "is not after the latest release v2.0.0"
expect_unchanged "$BEFORE"
run envflow publish --version 3.0
expect_rc 2
expect_err "--version takes vMAJOR.MINOR.PATCH"
expect_unchanged "$BEFORE"

test_case "--version v3.0.0: exact version"
run envflow publish --version v3.0.0
expect_rc 0
expect_out "published v3.0.0"
OUT=$(tag_message v3.0.0)
expect_out "bump: explicit"
expect_out "previous: v2.0.0"
V300_COMMIT=$(ref_of "$R" refs/heads/production)
expect_eq "$(records publish)" 6 "publish records after six publishes"

test_case "production override listed in the manifest"
run envflow var set --env production max_turns 6
expect_rc 0
sed -i 's/max_tokens: 400/max_tokens: 450/' agents/triage.yaml
commit_all "Longer triage answers"
promote
run envflow publish
expect_rc 0
expect_out "published v3.0.1"
OUT=$(tag_message v3.0.1)
expect_out "override: max_turns 6"
run envflow verify v3.0.1
expect_rc 0
HEAD_COMMIT=$(ref_of "$R" refs/heads/production)

test_case "every release verifies with envflow and with git"
for t in v1.0.0 v1.0.1 v1.1.0 v1.2.0 v2.0.0 v3.0.0 v3.0.1; do
  run envflow verify "$t"
  expect_rc 0
  run git -c gpg.ssh.allowedSignersFile="$TEST_ROOT/allowed_signers" verify-tag "$t"
  expect_rc 0
done

# --- verify failures ---------------------------------------------------------
test_case "ssh: tampered manifest re-signed with the publisher's key fails"
TRIAGE_BLOB=$(git rev-parse "$PROD0:agents/triage.yaml")
SUPPORT_BLOB=$(git rev-parse "$PROD0:agents/support.yaml")
sed -e "s/^version: v1.0.0\$/version: v8.0.0/" \
  -e "s/^item: $SUPPORT_BLOB agents\/support.yaml\$/item: $TRIAGE_BLOB agents\/support.yaml/" \
  "$TEST_ROOT/v100.msg" >"$TEST_ROOT/tampered.msg"
expect_eq "$(grep -c "^item: $TRIAGE_BLOB" "$TEST_ROOT/tampered.msg")" 2 "tampered digest in the message"
forge_tag v8.0.0 "$PROD0" "$TEST_ROOT/tampered.msg" "ssh:$TEST_ROOT/signing_key"
run git -c gpg.ssh.allowedSignersFile="$TEST_ROOT/allowed_signers" verify-tag v8.0.0
expect_rc 0 # the signature itself is good: only the manifest is wrong
verify_fails v8.0.0 "agents/support.yaml differs: manifest ${TRIAGE_BLOB:0:7}, tree ${SUPPORT_BLOB:0:7}"
expect_json 'data["signature_ok"] is True and data["manifest_ok"] is False and len(data["problems"]) == 1'

test_case "rollback to a tag that does not verify is refused, nothing moved"
BEFORE=$(all_refs)
run envflow rollback v8.0.0
expect_rc 1
expect_err "refusing to roll back to v8.0.0"
expect_unchanged "$BEFORE"
git tag -d v8.0.0 >/dev/null

test_case "ssh: a release tag replaced by an edited copy (original signature) fails"
V101_OBJ=$(tag_obj v1.0.1)
P101=$(ref_of "$R" v1.0.1)
B101=$(git rev-parse "$P101:agents/support.yaml")
git cat-file tag v1.0.1 | sed "s/^item: $B101 /item: $TRIAGE_BLOB /" >"$TEST_ROOT/v101-edited"
EDITED=$(git mktag <"$TEST_ROOT/v101-edited")
git update-ref refs/tags/v1.0.1 "$EDITED" "$V101_OBJ"
run git -c gpg.ssh.allowedSignersFile="$TEST_ROOT/allowed_signers" verify-tag v1.0.1
expect_rc 1
verify_fails v1.0.1 "ssh signature of v1.0.1 is not by an allowed signer" "agents/support.yaml differs"
expect_json 'data["signature_ok"] is False and data["manifest_ok"] is False and len(data["problems"]) == 2'
git update-ref refs/tags/v1.0.1 "$V101_OBJ" "$EDITED"
run envflow verify v1.0.1
expect_rc 0

test_case "ssh: a good signature by a key outside the allowed signers fails"
sed "s/^version: v1.0.0\$/version: v8.1.0/" "$TEST_ROOT/v100.msg" >"$TEST_ROOT/rogue.msg"
forge_tag v8.1.0 "$PROD0" "$TEST_ROOT/rogue.msg" "ssh:$TEST_ROOT/rogue_key"
echo "rogue@example.com namespaces=\"git\" $(cat "$TEST_ROOT/rogue_key.pub")" >"$TEST_ROOT/rogue_signers"
run git -c gpg.ssh.allowedSignersFile="$TEST_ROOT/rogue_signers" verify-tag v8.1.0
expect_rc 0 # a valid signature, just not by a publisher
verify_fails v8.1.0 "ssh signature of v8.1.0 is not by an allowed signer: the signing key is not among the allowed signers"
expect_json 'data["signature_ok"] is False and data["manifest_ok"] is True and len(data["problems"]) == 1'
git tag -d v8.1.0 >/dev/null

test_case "ssh: an unsigned tag with a correct manifest fails"
sed "s/^version: v1.0.0\$/version: v9.9.9/" "$TEST_ROOT/v100.msg" >"$TEST_ROOT/unsigned.msg"
git tag -a -F "$TEST_ROOT/unsigned.msg" v9.9.9 "$PROD0"
verify_fails v9.9.9 "v9.9.9 is not signed"
expect_json 'data["signature_ok"] is False and data["manifest_ok"] is True and len(data["problems"]) == 1'
git tag -d v9.9.9 >/dev/null

# --- rollback ----------------------------------------------------------------
test_case "rollback: non-publisher refused, nothing moved"
BEFORE=$(all_refs)
run envflow --actor mallory@example.com rollback v1.0.0
expect_rc 1
expect_err "mallory@example.com may not roll back"
expect_unchanged "$BEFORE"

test_case "rollback to v1.0.0: live moved, one rollback record, production untouched"
run envflow rollback v1.0.0
expect_rc 0
expect_out "rolled back live: v3.0.1 -> v1.0.0"
expect_eq "$(live_tag)" "$V100_OBJ" "live after the rollback"
expect_eq "$(ref_of "$R" refs/heads/production)" "$HEAD_COMMIT" "production after the rollback"
expect_eq "$(records rollback)" 1 "rollback records"
run envflow rollback v1.0.0
expect_rc 0
expect_out "v1.0.0 is already live"
expect_eq "$(records rollback)" 1 "rollback records after a no-op rollback"

test_case "status after the rollback: head ahead of live"
run envflow status
expect_rc 0
expect_out "live v1.0.0 (head ahead of live)"

test_case "publish after the rollback needs --force and a reason"
BEFORE=$(all_refs)
run envflow publish
expect_rc 1
expect_err "was released as v3.0.1 and live was rolled back to v1.0.0"
expect_err "--force --reason"
expect_unchanged "$BEFORE"
run envflow publish --force
expect_rc 1
expect_unchanged "$BEFORE"
run envflow publish --force --reason "   "
expect_rc 1
expect_unchanged "$BEFORE"

test_case "publish --force --reason re-points live at the head's release"
run envflow publish --force --reason "incident 42 resolved"
expect_rc 0
expect_out "republished v3.0.1 is live again (was v1.0.0)"
expect_eq "$(live_tag)" "$(tag_obj v3.0.1)" "live after the forced publish"
expect_eq "$(git tag -l 'v*' | wc -l | tr -d ' ')" 7 "no new tag for a re-publish"
expect_eq "$(records publish)" 8 "publish records after the forced publish"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^note: ')" \
  "note: re-published v3.0.1 (incident 42 resolved)" "audit note"
run envflow status
expect_rc 0
expect_out "live v3.0.1"
expect_no_out "head ahead of live"

test_case "rollback to an intermediate release, then publish new content"
run envflow rollback v2.0.0
expect_rc 0
expect_eq "$(live_tag)" "$(tag_obj v2.0.0)" "live after rollback to v2.0.0"
expect_eq "$(records rollback)" 2 "rollback records"
sed -i 's/temperature: 0.4/temperature: 0.45/' agents/support.yaml
commit_all "Support agent a bit warmer"
promote
run envflow publish
expect_rc 0
expect_out "published v3.0.2"
expect_out "live: v2.0.0 -> v3.0.2"
expect_eq "$(live_tag)" "$(tag_obj v3.0.2)" "live after publishing new content"
# Notes and the manifest's previous compare with what end users had: the
# live release (v2.0.0), not the newest tag (v3.0.1).
OUT=$(tag_message v3.0.2)
expect_out "previous: v2.0.0"
expect_out "Changes since v2.0.0:"
expect_out "(Live was rolled back to v2.0.0; releases after it up to v3.0.1 are not part of this one.)"

# --- releases ----------------------------------------------------------------
test_case "releases: text with the live marker"
run envflow releases
expect_rc 0
expect_out "VERSION"
LIVE_ROWS=$(grep -E '^live ' <<<"$OUT" || true)
expect_eq "$(wc -l <<<"$LIVE_ROWS" | tr -d ' ')" 1 "rows marked live"
if grep -q ' v3.0.2 ' <<<"$LIVE_ROWS"; then pass; else fail "live row is not v3.0.2: $OUT"; fi
expect_eq "$(grep -cE ' v[0-9]+\.[0-9]+\.[0-9]+ ' <<<"$OUT")" 8 "release rows"
expect_eq "$(sed -n 2p <<<"$OUT" | grep -oE 'v[0-9]+\.[0-9]+\.[0-9]+' | head -1)" "v3.0.2" "newest first"
expect_no_out "(unsigned)"
expect_no_out "hotfix"

test_case "releases --format json"
run envflow releases --format json
expect_rc 0
expect_json \
  '[r["tag"] for r in data] == ["v1.0.0","v1.0.1","v1.1.0","v1.2.0","v2.0.0","v3.0.0","v3.0.1","v3.0.2"]' \
  '[r["tag"] for r in data if r["live"]] == ["v3.0.2"]' \
  'all(r["signed"] and not r["hotfix"] and r["tagger"] == "alice@example.com" for r in data)' \
  "[r['commit'] for r in data if r['tag'] == 'v3.0.0'] == ['$V300_COMMIT']" \
  "[r['tag_id'] for r in data if r['tag'] == 'v1.0.0'] == ['$V100_OBJ']"

# --- unsigned releases when the policy allows them ---------------------------
test_case "--no-sign allowed once release.sign is false"
edit_config "t = t.replace('release:\n  sign: true\n', 'release:\n  sign: false\n')"
sed -i 's/max_tokens: 450/max_tokens: 500/' agents/triage.yaml
commit_all "Even longer triage answers"
promote
run envflow publish --no-sign
expect_rc 0
expect_out "published v3.0.3"
if git cat-file tag v3.0.3 | grep -q -- '-----BEGIN'; then fail "v3.0.3 carries a signature"; else pass; fi
expect_eq "$(live_tag)" "$(tag_obj v3.0.3)" "live after the unsigned publish"
run envflow releases
expect_out "(unsigned)"
run envflow releases --format json
expect_json '[r["signed"] for r in data if r["tag"] == "v3.0.3"] == [False]'
verify_fails v3.0.3 "v3.0.3 is not signed"

test_case "rollback to an unsigned release: allowed without a signing policy, refused with one"
run envflow rollback v3.0.2
expect_rc 0
run envflow rollback v3.0.3
expect_rc 0
expect_eq "$(live_tag)" "$(tag_obj v3.0.3)" "live back at the unsigned release"
edit_config "t = t.replace('release:\n  sign: false\n', 'release:\n  sign: true\n')"
run envflow rollback v3.0.2
expect_rc 0
BEFORE=$(all_refs)
run envflow rollback v3.0.3
expect_rc 1
expect_err "refusing to roll back to v3.0.3"
expect_unchanged "$BEFORE"

test_case "--bump with an unknown value is a usage error"
BEFORE=$(all_refs)
run envflow publish --bump huge
expect_rc 2
expect_err "--bump takes auto, patch, minor or major"
expect_unchanged "$BEFORE"

test_case "an invalid production head (moved by hand) is never published"
GOOD_PROD=$(ref_of "$R" refs/heads/production)
GIT_INDEX_FILE="$TEST_ROOT/bad.idx" git read-tree production
BAD_BLOB=$(printf 'kind: Agent\nname: not-support\n' | git hash-object -w --stdin)
GIT_INDEX_FILE="$TEST_ROOT/bad.idx" git update-index --cacheinfo "100644,$BAD_BLOB,agents/support.yaml"
BAD_TREE=$(GIT_INDEX_FILE="$TEST_ROOT/bad.idx" git write-tree)
BAD=$(git commit-tree "$BAD_TREE" -p production -m "broken by hand")
git update-ref refs/heads/production "$BAD" "$GOOD_PROD"
BEFORE=$(all_refs)
run envflow publish
expect_rc 1
expect_err "does not validate"
expect_err "agents/support.yaml"
expect_unchanged "$BEFORE"
git update-ref refs/heads/production "$GOOD_PROD" "$BAD"

# --- the audit trail, doctor, fsck -------------------------------------------
test_case "audit: exactly one record per publish and per rollback"
# publishes: v1.0.0 v1.0.1 v1.1.0 v1.2.0 v2.0.0 v3.0.0 v3.0.1, forced v3.0.1, v3.0.2, v3.0.3,
# and live moved forward again to v3.0.3 (`rollback v3.0.3` from v3.0.2: a re-publish)
expect_eq "$(records publish)" 11 "publish records"
# rollbacks (live moved back): v1.0.0, v2.0.0, v3.0.2, v3.0.2
expect_eq "$(records rollback)" 4 "rollback records"
for t in v1.0.0 v1.0.1 v1.1.0 v1.2.0 v2.0.0 v3.0.0 v3.0.1 v3.0.2 v3.0.3; do
  expect_eq "$(git log --format=%B refs/envflow/audit | grep -c "^move: refs/tags/$t ")" 1 \
    "audit records moving $t"
done
run envflow log
expect_rc 0
expect_out "publish"
expect_out "rollback"

test_case "ssh: doctor and fsck clean"
run envflow doctor
expect_rc 0
expect_out "all checks pass"
if out=$(git fsck --strict --no-progress 2>&1); then pass; else fail "git fsck --strict: $out"; fi

# --- last in this repository: cases that publish further releases -----------
test_case "publish -m quoting an earlier manifest: the release still verifies"
# The -m text goes above the notes; envflow's own manifest block comes last
# and is the one that describes the release.
sed -i 's/max_tokens: 500/max_tokens: 550/' agents/triage.yaml
commit_all "Triage answers a bit longer"
promote
{
  echo "Same content as v3.0.2 plus the triage change; v3.0.2 was:"
  tag_message v3.0.2 | sed -n '/^envflow-manifest:$/,$p'
} >"$TEST_ROOT/quote.msg"
run envflow publish -m "$(cat "$TEST_ROOT/quote.msg")"
expect_rc 0
expect_out "published v3.0.4"
run envflow verify v3.0.4
expect_rc 0
expect_out "verified v3.0.4"
run envflow releases --format json
expect_json '[r["hotfix"] for r in data if r["tag"] == "v3.0.4"] == [False]'

test_case "a lightweight alias of a release tag is not a release"
# `git tag v7.0.0 v1.0.0` points refs/tags/v7.0.0 at v1.0.0's tag object (a
# lightweight tag; the object inside says "tag v1.0.0"); v6.0.0 aliases the
# live release v3.0.4 the same way. Neither is a release of its own: not
# listed, not a second live row, not the base of the next version and notes.
git tag v7.0.0 v1.0.0
git tag v6.0.0 v3.0.4
run envflow releases --format json
expect_rc 0
expect_json \
  '"v7.0.0" not in [r["tag"] for r in data] and "v6.0.0" not in [r["tag"] for r in data]' \
  '[r["tag"] for r in data if r["live"]] == ["v3.0.4"]'
run envflow releases
expect_eq "$(grep -cE '^live ' <<<"$OUT" || true)" 1 "rows marked live with an alias tag"
sed -i 's/max_tokens: 550/max_tokens: 600/' agents/triage.yaml
commit_all "Triage answers longer still"
promote
run envflow publish
expect_rc 0
expect_out "published v3.0.5"
expect_out "Changes since v3.0.4:"
expect_no_out "BREAKING"
git tag -d v7.0.0 v6.0.0 >/dev/null

# ===========================================================================
# Part 2: openpgp signatures
# ===========================================================================
if ! command -v gpg >/dev/null || ! command -v gpgconf >/dev/null; then
  echo "gpg not found: the openpgp half is skipped"
  finish
  exit $?
fi

GNUPGHOME=$(mktemp -d /tmp/g.XXXX)
export GNUPGHOME
chmod 700 "$GNUPGHOME"
gpg_cleanup() {
  gpgconf --kill gpg-agent >/dev/null 2>&1 || true
  rm -rf "$GNUPGHOME"
}
trap 'gpg_cleanup; cleanup_test_root' EXIT

gpg --batch --quiet --passphrase '' --quick-gen-key 'Rel Eng <rel@example.com>' ed25519 sign never 2>/dev/null
gpg --batch --quiet --passphrase '' --quick-gen-key 'Rogue <rogue@example.com>' ed25519 sign never 2>/dev/null
fpr_of() { gpg --batch --with-colons --list-keys "$1" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'; }
REL_FPR=$(fpr_of rel@example.com)
ROGUE_FPR=$(fpr_of rogue@example.com)
gpg --batch --armor --export "$REL_FPR" >"$TEST_ROOT/publishers.asc"

R=$(new_repo gpg)
cd "$R"

test_case "gpg: keyring on the config ref; format and key from envflow.yaml (git says ssh)"
run envflow config put publishers.asc "$TEST_ROOT/publishers.asc"
expect_rc 0
edit_config "t = t.replace('release:\n  sign: true\n', 'release:\n  sign: true\n  format: openpgp\n  signing_key: \"$REL_FPR\"\n  allowed_signers: publishers.asc\n')"
expect_eq "$(git config gpg.format)" "ssh" "git's own gpg.format (envflow.yaml must win)"

test_case "gpg: publish v1.0.0, stock git verify-tag and envflow verify pass"
GPROD0=$(ref_of "$R" refs/heads/production)
run envflow publish
expect_rc 0
expect_out "published v1.0.0"
if git cat-file tag v1.0.0 | grep -q -- '-----BEGIN PGP SIGNATURE-----'; then pass; else
  fail "v1.0.0 has no PGP signature: $(git cat-file tag v1.0.0)"
fi
run git verify-tag --raw v1.0.0
expect_rc 0
expect_err "VALIDSIG"
expect_err "$REL_FPR"
run envflow verify v1.0.0
expect_rc 0
expect_out "verified v1.0.0: good signature by $REL_FPR"
run envflow verify v1.0.0 --format json
expect_rc 0
expect_json "data['ok'] is True and data['signer'] == '$REL_FPR'"
tag_message v1.0.0 >"$TEST_ROOT/g100.msg"

test_case "gpg: a patch release verifies too"
sed -i 's/temperature: 0.3/temperature: 0.35/' agents/support.yaml
commit_all "Slightly warmer support agent"
promote
run envflow publish
expect_rc 0
expect_out "published v1.0.1"
run git verify-tag v1.0.1
expect_rc 0
run envflow verify v1.0.1
expect_rc 0

test_case "gpg: tampered manifest re-signed with the publisher's key fails"
GTRIAGE=$(git rev-parse "$GPROD0:agents/triage.yaml")
GSUPPORT=$(git rev-parse "$GPROD0:agents/support.yaml")
sed -e "s/^version: v1.0.0\$/version: v8.0.0/" \
  -e "s/^item: $GSUPPORT agents\/support.yaml\$/item: $GTRIAGE agents\/support.yaml/" \
  "$TEST_ROOT/g100.msg" >"$TEST_ROOT/gtampered.msg"
forge_tag v8.0.0 "$GPROD0" "$TEST_ROOT/gtampered.msg" "gpg:$REL_FPR"
run git verify-tag v8.0.0
expect_rc 0
verify_fails v8.0.0 "agents/support.yaml differs: manifest ${GTRIAGE:0:7}, tree ${GSUPPORT:0:7}"
expect_json 'data["signature_ok"] is True and data["manifest_ok"] is False'
git tag -d v8.0.0 >/dev/null

test_case "gpg: a release tag replaced by an edited copy (original signature) fails"
G101_OBJ=$(tag_obj v1.0.1)
GB101=$(git rev-parse "v1.0.1^{commit}:agents/support.yaml")
git cat-file tag v1.0.1 | sed "s/^item: $GB101 /item: $GTRIAGE /" >"$TEST_ROOT/g101-edited"
GEDITED=$(git mktag <"$TEST_ROOT/g101-edited")
git update-ref refs/tags/v1.0.1 "$GEDITED" "$G101_OBJ"
run git verify-tag v1.0.1
expect_rc 1
verify_fails v1.0.1 "openpgp signature of v1.0.1 is not by an allowed signer: bad signature" "agents/support.yaml differs"
git update-ref refs/tags/v1.0.1 "$G101_OBJ" "$GEDITED"

test_case "gpg: a good signature by a key outside the policy keyring fails"
sed "s/^version: v1.0.0\$/version: v8.1.0/" "$TEST_ROOT/g100.msg" >"$TEST_ROOT/grogue.msg"
forge_tag v8.1.0 "$GPROD0" "$TEST_ROOT/grogue.msg" "gpg:$ROGUE_FPR"
run git verify-tag v8.1.0
expect_rc 0 # the local keyring knows the rogue key; the policy does not
verify_fails v8.1.0 "openpgp signature of v8.1.0 is not by an allowed signer: the signing key is not in the policy's keyring"
expect_json 'data["signature_ok"] is False and data["manifest_ok"] is True'
git tag -d v8.1.0 >/dev/null

test_case "gpg: an unsigned tag fails"
sed "s/^version: v1.0.0\$/version: v9.9.9/" "$TEST_ROOT/g100.msg" >"$TEST_ROOT/gunsigned.msg"
git tag -a -F "$TEST_ROOT/gunsigned.msg" v9.9.9 "$GPROD0"
verify_fails v9.9.9 "v9.9.9 is not signed"
git tag -d v9.9.9 >/dev/null

test_case "gpg: rollback and forced re-publish"
run envflow rollback v1.0.0
expect_rc 0
run envflow publish
expect_rc 1
run envflow publish --force --reason "back to v1.0.1"
expect_rc 0
expect_eq "$(live_tag)" "$(tag_obj v1.0.1)" "live after the forced publish"
expect_eq "$(records publish)" 3 "gpg publish records"
expect_eq "$(records rollback)" 1 "gpg rollback records"

test_case "gpg: doctor and fsck clean"
run envflow doctor
expect_rc 0
expect_out "all checks pass"
if out=$(git fsck --strict --no-progress 2>&1); then pass; else fail "git fsck --strict: $out"; fi

finish
