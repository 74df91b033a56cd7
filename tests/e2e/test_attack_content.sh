#!/usr/bin/env bash
# End-to-end: content attacks over a real smart-HTTP server (issue 12).
# A developer whose policy allows only `dev` pushes hand-made trees with plain
# git (git hash-object, git mktree, git commit-tree, git commit --no-verify)
# to a server with envflow's hooks installed and identity.required: unsafe
# tree entries, secrets in YAML comments and knowledge documents, case and
# Unicode variants of content folders and files, YAML tags. Each push is
# refused, names the file and the rule, and moves nothing.
# Needs lighttpd (see lib.sh: installed when missing and running as root,
# else the suite is skipped).
. "$(dirname "$0")/lib.sh"

WEB="$TEST_ROOT/web"
mkdir -p "$WEB/repos"
SRV="$WEB/repos/shop.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare --envs dev,test,production "$SRV" >/dev/null
team_policy >"$TEST_ROOT/policy.yaml" # alice may write dev, and nothing more
ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
printf 'alice:alice-pw\nbob:bob-pw\n' >"$WEB/users"

test_case "install-hooks --server turns on git's checks of received objects"
run envflow install-hooks --server "$SRV"
expect_rc 0
expect_out "configured receive.fsckObjects true"
expect_eq "$(git -C "$SRV" config receive.fsckObjects)" "true" "receive.fsckObjects"
expect_eq "$(git -C "$SRV" config receive.fsck.hasDotgit)" "error" "receive.fsck.hasDotgit"
run envflow install-hooks --server "$SRV"
expect_rc 0 # idempotent

http_server_start "$WEB"
URL="http://alice:alice-pw@127.0.0.1:$HTTP_PORT/git/shop.git"

A="$TEST_ROOT/alice"
git clone -q "$URL" "$A"
(cd "$A" && envflow setup >/dev/null)
BASE=$(ref_of "$A" dev)

# Fake credentials, assembled so this file holds none.
KEY_LABEL="OPENSSH PRIVATE"" KEY"
openssh_key() { # PREFIX: a made-up OpenSSH private key, each line after PREFIX
  printf '%s-----%s-----\n' "$1" "BEGIN $KEY_LABEL"
  printf '%s%s%s\n' "$1" "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW" "QyNTUxOQAAACDx"
  printf '%s%s%s\n' "$1" "Qm9ndXNLZXlGb3JUZXN0c09ubHlOb3RBUmVhbEtleUF0QWxsMDEyMzQ1Njc4OWFiY2Rl" "ZmdoaWprbG1ub3A="
  printf '%s-----%s-----\n' "$1" "END $KEY_LABEL"
}
PASSWORD="q8Vn3L""mZ0pRt7w"

blob() { git -C "$A" hash-object -w --stdin; }

# with_files PATH=BLOB...: a commit on dev's head whose tree adds (or
# replaces) the given files; written through a scratch index, so any path
# git's index takes (a folder's case variant, an NFD name) works.
with_files() {
  local index="$TEST_ROOT/scratch-index" spec
  rm -f "$index"
  GIT_INDEX_FILE="$index" git -C "$A" read-tree "$BASE"
  for spec in "$@"; do
    GIT_INDEX_FILE="$index" git -C "$A" update-index --add --cacheinfo "100644,${spec#*=},${spec%%=*}"
  done
  git -C "$A" commit-tree "$(GIT_INDEX_FILE="$index" git -C "$A" write-tree)" -p "$BASE" -m "attack"
}

# with_entry NAME: a commit on dev's head whose root tree also holds a folder
# NAME with a file `config` in it, made with git mktree: names git's index
# refuses (`..`, `.git`) can only be made this way.
with_entry() {
  local sub tree
  sub=$(printf '100644 blob %s\tconfig\n' "$(printf '[core]\n\tworktree = /tmp\n' | blob)" |
        git -C "$A" mktree)
  tree=$( (git -C "$A" ls-tree "$BASE"; printf '040000 tree %s\t%s\n' "$sub" "$1") |
          git -C "$A" mktree)
  git -C "$A" commit-tree "$tree" -p "$BASE" -m "attack: $1"
}

# push_refused COMMIT: alice pushes COMMIT to dev over HTTP; it must be
# refused and change nothing on the server. ERR keeps the server's reasons.
push_refused() {
  local before
  before=$(server_refs)
  run git -C "$A" push origin "$1:refs/heads/dev"
  if [ "$RC" -ne 0 ]; then pass; else fail "the push of $1 was accepted"$'\n'"$ERR"; fi
  expect_eq "$(server_refs)" "$before" "server refs after the refused push"
  expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$BASE" "server dev"
}

# ---------------------------------------------------------------------------
test_case "unsafe tree entries: '..', '.git', '.GIT', 'git~1' refused by git's own checks"
for name in .. .git .GIT git~1 ".git."; do
  push_refused "$(with_entry "$name")"
  expect_err "hasDot"
done
sub=$(printf '100644 blob %s\tconfig\n' "$(echo x | blob)" | git -C "$A" mktree)
kb=$( (git -C "$A" ls-tree "$BASE:knowledge"; printf '040000 tree %s\t.Git\n' "$sub") |
      git -C "$A" mktree)
tree=$( (git -C "$A" ls-tree "$BASE" | grep -v "	knowledge$"; printf '040000 tree %s\tknowledge\n' "$kb") |
        git -C "$A" mktree)
push_refused "$(git -C "$A" commit-tree "$tree" -p "$BASE" -m "nested .Git")"
expect_err "hasDotgit"

test_case "unsafe tree entries: envflow's own rule refuses them where git's checks are off"
git -C "$SRV" config receive.fsckObjects false
push_refused "$(with_entry ..)"
expect_err "../config:1:1: error: '../config': the path has a component '..'"
expect_err "[path-unsafe]"
push_refused "$(with_entry .GIT)"
expect_err ".GIT/config:1:1: error:"
expect_err "that a checkout takes for the .git folder"
git -C "$SRV" config receive.fsckObjects true

test_case "a private key in a YAML comment"
C=$(with_files "agents/support.yaml=$( (git -C "$A" show "$BASE:agents/support.yaml"
                                       echo "# the old deploy key, for reference:"
                                       openssh_key "# ") | blob)")
push_refused "$C"
LINE=$(( $(git -C "$A" show "$BASE:agents/support.yaml" | wc -l) + 2 ))
expect_err "agents/support.yaml:$LINE:3: error: literal secret: a private key block"
expect_err "[secret-literal]"

test_case "a private key in a knowledge document, committed with --no-verify"
{ echo "# Server access"; echo; openssh_key ""; } >"$A/knowledge/product-faq/access.md"
git -C "$A" add knowledge/product-faq/access.md
run git -C "$A" commit -q -m "FAQ: server access"
if [ "$RC" -ne 0 ]; then pass; else fail "the pre-commit hook let the key in"; fi
expect_err "knowledge/product-faq/access.md:3:1: error: literal secret: a private key block"
git -C "$A" commit -q --no-verify -m "FAQ: server access"
push_refused "$(ref_of "$A" HEAD)"
expect_err "knowledge/product-faq/access.md:3:1: error: literal secret: a private key block"
expect_err "fingerprint "
git -C "$A" reset -q --hard "$BASE"

test_case "a password in a file outside the content folders"
push_refused "$(with_files "docs/setup.md=$(printf 'Log in with password=%s\n' "$PASSWORD" | blob)")"
expect_err "docs/setup.md:1:22: error: literal secret: 'password' is set to a literal"

test_case "a case variant of agents/: broken YAML and a password"
C=$(with_files "Agents/evil.yaml=$(printf 'kind: Agent\nname: [evil\npassword = %s\n' "$PASSWORD" | blob)")
push_refused "$C"
expect_err "Agents/evil.yaml:1:1: error: 'Agents/' and the content folder 'agents/' differ only in letter case"
expect_err "[case-collision]"
expect_err "Agents/evil.yaml:3:12: error: literal secret"

test_case "case variants of the runtime and local folders"
for folder in Secrets GUARDRAILS Conversations; do
  push_refused "$(with_files "$folder/x.yaml=$(echo 'a: 1' | blob)")"
  expect_err "$folder/x.yaml:1:1: error: '$folder/' and the"
  expect_err "[case-collision]"
done

test_case "a case variant of workspace.yaml"
push_refused "$(with_files "Workspace.yaml=$(git -C "$A" show "$BASE:workspace.yaml" | blob)")"
expect_err "Workspace.yaml:1:1: error: 'Workspace.yaml' and the workspace descriptor 'workspace.yaml'"

test_case "Unicode NFC and NFD twins"
NFC=$(printf 'caf\xc3\xa9.md')
NFD=$(printf 'cafe\xcc\x81.md')
DOC=$(echo "# Caf" | blob)
push_refused "$(with_files "knowledge/product-faq/$NFC=$DOC" "knowledge/product-faq/$NFD=$DOC")"
expect_err "differ only in Unicode normalisation"
expect_err "[case-collision]"

test_case "YAML tags: !include and !!python/object/apply"
C=$(with_files "variables/leak.yaml=$(printf 'kind: Variable\nname: leak\ntype: string\ndefault: !include /etc/passwd\n' | blob)")
push_refused "$C"
expect_err "variables/leak.yaml:4:10: error: YAML tag '!include' is not allowed"
expect_err "[yaml-tag]"
C=$(with_files "variables/run.yaml=$(printf 'kind: Variable\nname: run\ntype: json\ndefault: !!python/object/apply:os.system ["id"]\n' | blob)")
push_refused "$C"
expect_err "variables/run.yaml:4:10: error: YAML tag '!!python/object/apply:os.system' is not allowed"

test_case "the attacks left the server sound, and a clean push still goes through"
if out=$(git -C "$SRV" fsck --strict --no-progress 2>&1); then pass; else fail "git fsck: $out"; fi
sed -i 's/^description: .*/description: concise/' "$A/agents/support.yaml"
git -C "$A" commit -q -am "Support agent: concise"
run git -C "$A" push origin dev
expect_rc 0
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$(ref_of "$A" HEAD)" "server dev after a clean push"
BASE=$(ref_of "$A" HEAD)

test_case "a known false positive, allowed by its fingerprint in the policy"
EXAMPLE="AKIA""IOSFODNN7EXAMPLE"
printf '# AWS setup\n\nThe documentation'"'"'s example key is %s.\n' "$EXAMPLE" \
  >"$A/knowledge/product-faq/aws.md"
git -C "$A" add knowledge/product-faq/aws.md
git -C "$A" commit -q --no-verify -m "FAQ: AWS setup"
run envflow -C "$A" validate --rev HEAD --format json
expect_rc 1
FP=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])' <<<"$OUT")
expect_eq "${#FP}" 16 "fingerprint length"
run envflow -C "$A" validate --rev HEAD
expect_out "knowledge/product-faq/aws.md:3:36: error: literal secret: an AWS access key id"
expect_out "(fingerprint $FP;"
envflow -C "$A" config show >"$TEST_ROOT/allow.yaml"
printf 'secret_allowlist:\n  - fingerprint: %s\n    reason: AWS documentation example key\n' "$FP" \
  >>"$TEST_ROOT/allow.yaml"
run env ENVFLOW_ACTOR=adam envflow -C "$A" config edit --file "$TEST_ROOT/allow.yaml"
expect_rc 0
run envflow -C "$A" validate --rev HEAD
expect_rc 0
run envflow -C "$A" validate
expect_rc 0

test_case "hotfix names outside the safe set: usage error, nothing created"
for name in 'a;b' '$(touch pwned)' 'a b' "it's" '_x' 'a|b'; do
  run env ENVFLOW_ACTOR=bob envflow -C "$A" hotfix start "$name"
  expect_rc 2
  expect_err "cannot name a hotfix branch: use a letter or digit"
done
expect_err "envflow: error: 'a|b' cannot name"
expect_eq "$(git -C "$A" for-each-ref refs/heads/hotfix)" "" "hotfix branches"
[ ! -e "$A/pwned" ] && [ ! -e pwned ] && pass || fail "a hotfix name ran a command"

finish
