#!/usr/bin/env bash
# End-to-end: the server hooks behind a real smart-HTTP server (issue 5).
# lighttpd on 127.0.0.1 runs `git http-backend` as a CGI behind HTTP basic
# auth, so the pre-receive hook learns the pusher from REMOTE_USER exactly as
# in a real deployment (and the policy requires it: identity.required).
# Two users in different groups: alice (developer: writes dev) and bob
# (release manager: promotes). alice's push to dev is accepted, her push to
# production refused; bob's promotion is accepted.
# Needs lighttpd (Debian package): installed with apt-get when missing and
# running as root, else the suite is skipped (exit 125).
. "$(dirname "$0")/lib.sh"

if ! command -v lighttpd >/dev/null 2>&1 && [ -x /usr/sbin/lighttpd ]; then
  PATH="$PATH:/usr/sbin"
fi
if ! command -v lighttpd >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "lighttpd missing: installing it with apt-get"
    { apt-get install -y -q lighttpd || { apt-get update -q && apt-get install -y -q lighttpd; }; } \
      >"$TEST_ROOT/apt.log" 2>&1 || true
    PATH="$PATH:/usr/sbin"
  fi
  if ! command -v lighttpd >/dev/null 2>&1; then
    echo "skipped: lighttpd is not installed and cannot be installed here (apt-get install lighttpd as root)"
    exit 125
  fi
fi
BACKEND="$(git --exec-path)/git-http-backend"
if [ ! -x "$BACKEND" ]; then
  echo "skipped: git-http-backend not found at $BACKEND"
  exit 125
fi

WEB="$TEST_ROOT/web"
mkdir -p "$WEB/repos" "$WEB/docroot"
SRV="$WEB/repos/shop.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare --envs dev,test,production "$SRV" >/dev/null
cat >"$TEST_ROOT/policy.yaml" <<'EOF'
version: 1
environments:
  - name: dev
    branch: dev
    write: [developers]
    local: [operators]
  - name: test
    branch: test
    promote: [release-managers]
    approvals: 0
    approvers: [release-managers]
    local: [operators]
  - name: production
    branch: production
    promote: [release-managers]
    approvals: 0
    approvers: [release-managers]
    local: [operators]
groups:
  developers: [alice]
  release-managers: [bob]
  operators: [bob]
  publishers: [bob]
  hotfixers: [bob]
  admins: [adam]
admins: [admins]
publishers: [publishers]
hotfixers: [hotfixers]
identity:
  env: [REMOTE_USER]
  required: true
release:
  sign: false
EOF
ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
envflow install-hooks --server "$SRV" >/dev/null

# Basic-auth users, in lighttpd's plain format.
printf 'alice:alice-pw\nbob:bob-pw\n' >"$WEB/users"

start_server() {
  PORT=$(free_port)
  cat >"$WEB/lighttpd.conf" <<EOF
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$WEB/docroot"
server.errorlog = "$WEB/error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi")
alias.url = ("/git/" => "$BACKEND/")
\$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = (
    "GIT_PROJECT_ROOT" => "$WEB/repos",
    "GIT_HTTP_EXPORT_ALL" => "1",
    "HOME" => "$HOME",
    "GIT_CONFIG_GLOBAL" => "$GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM" => "1",
    "PATH" => "$PATH"
  )
}
auth.backend = "plain"
auth.backend.plain.userfile = "$WEB/users"
auth.require = ("/git/" => ("method" => "basic", "realm" => "envflow test", "require" => "valid-user"))
EOF
  lighttpd -D -f "$WEB/lighttpd.conf" >"$WEB/lighttpd.out" 2>&1 &
  LIGHTTPD_PID=$!
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$LIGHTTPD_PID" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

LIGHTTPD_PID=""
stop_server() {
  if [ -n "$LIGHTTPD_PID" ]; then
    kill "$LIGHTTPD_PID" 2>/dev/null || true
    wait "$LIGHTTPD_PID" 2>/dev/null || true
  fi
  cleanup_test_root
}
trap stop_server EXIT

started=no
for attempt in 1 2 3; do
  if start_server; then
    started=yes
    break
  fi
  kill "$LIGHTTPD_PID" 2>/dev/null || true
  wait "$LIGHTTPD_PID" 2>/dev/null || true
  LIGHTTPD_PID=""
done
if [ "$started" != yes ]; then
  echo "skipped: lighttpd did not start: $(cat "$WEB/lighttpd.out" "$WEB/error.log" 2>/dev/null)"
  exit 125
fi

export GIT_TERMINAL_PROMPT=0
url() { echo "http://$1:$1-pw@127.0.0.1:$PORT/git/shop.git"; }
server_refs() { git -C "$SRV" for-each-ref --format='%(refname) %(objectname)'; }

A="$TEST_ROOT/alice"
B="$TEST_ROOT/bob"

# ---------------------------------------------------------------------------
test_case "clone over smart HTTP with basic auth"
run git clone -q "$(url alice)" "$A"
expect_rc 0
(cd "$A" && envflow setup >/dev/null)
run git clone -q "http://127.0.0.1:$PORT/git/shop.git" "$TEST_ROOT/anonymous"
if [ "$RC" -ne 0 ]; then pass; else fail "an anonymous clone was allowed"; fi

test_case "developer alice pushes to dev: accepted, the hook saw REMOTE_USER"
sed -i 's/^description: .*/description: concise/' "$A/agents/support.yaml"
git -C "$A" commit -q -am "Support agent: new description"
NEW=$(ref_of "$A" HEAD)
run env ENVFLOW_ACTOR=mallory git -C "$A" push origin dev
expect_rc 0
expect_err "remote: envflow: dev: 1 commit(s) validated"
expect_err "remote: envflow: audit: 1 record appended for alice (REMOTE_USER)"
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$NEW" "server dev"
expect_eq "$(git -C "$SRV" log -1 --format=%B refs/envflow/audit | grep '^actor:')" "actor: alice" \
  "the audit record names the authenticated user"

test_case "developer alice pushes to production: refused"
BEFORE=$(server_refs)
run git -C "$A" push origin dev:production
expect_rc 1
expect_err "remote: envflow: refs/heads/production:"
expect_err "is not contained in test"
run git -C "$A" push origin dev:test
expect_rc 1
expect_err "remote: envflow: refs/heads/test: alice (REMOTE_USER) may not promote into test"
expect_eq "$(server_refs)" "$BEFORE" "server refs after the refusals"

test_case "release manager bob promotes dev to test and production: accepted"
run git clone -q "$(url bob)" "$B"
expect_rc 0
(cd "$B" && envflow setup >/dev/null)
run env ENVFLOW_ACTOR=bob envflow -C "$B" sync dev
expect_rc 0
run env ENVFLOW_ACTOR=bob envflow -C "$B" sync test
expect_rc 0
run git -C "$B" push --atomic origin test production refs/envflow/audit
expect_rc 0
expect_err "remote: envflow: test: promotion from dev"
expect_err "remote: envflow: production: promotion from test"
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$NEW" "server test"
expect_eq "$(ref_of "$SRV" refs/heads/production)" "$NEW" "server production"
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c "^move: refs/heads/production .* $NEW$")" 1 \
  "one record of the production move"

test_case "the repository is sound"
if out=$(git -C "$SRV" fsck --strict --no-progress 2>&1); then pass; else fail "git fsck: $out"; fi

finish
