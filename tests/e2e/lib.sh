# Shared helpers for the end-to-end suites. Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# Each suite drives the real envflow binary ($ENVFLOW, set by CTest) with the
# real git CLI in temporary repositories, isolated from the host's config.
set -euo pipefail

: "${ENVFLOW:?ENVFLOW must point at the envflow binary (CTest sets it)}"
: "${ENVFLOW_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
ENVFLOW_BIN_DIR=$(cd "$(dirname "$ENVFLOW")" && pwd)
export PATH="$ENVFLOW_BIN_DIR:$PATH"

TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/envflow-e2e.XXXXXX")
cleanup_test_root() { [ -n "${KEEP_TEST_ROOT:-}" ] || rm -rf "$TEST_ROOT"; }
trap cleanup_test_root EXIT

# Hermetic git: no host config, fixed identities and dates.
export HOME="$TEST_ROOT/home"
mkdir -p "$HOME"
export GIT_CONFIG_GLOBAL="$HOME/.gitconfig"
export GIT_CONFIG_SYSTEM=/dev/null
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Alice Dev" GIT_AUTHOR_EMAIL="alice@example.com"
export GIT_COMMITTER_NAME="Alice Dev" GIT_COMMITTER_EMAIL="alice@example.com"
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
export NO_COLOR=1
unset ENVFLOW_ACTOR GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
git config --global user.name "Alice Dev"
git config --global user.email "alice@example.com"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

PASSED=0
FAILED=0
CURRENT=""

# test NAME: start a named check (for the report).
test_case() { CURRENT="$1"; }

pass() { PASSED=$((PASSED + 1)); }
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL [$CURRENT]: $*" >&2
}

# run CMD...: run a command, capturing stdout in $OUT, stderr in $ERR, exit code in $RC.
run() {
  local out_file="$TEST_ROOT/.out" err_file="$TEST_ROOT/.err"
  set +e
  "$@" >"$out_file" 2>"$err_file"
  RC=$?
  set -e
  OUT=$(cat "$out_file")
  ERR=$(cat "$err_file")
}

expect_rc() {
  if [ "$RC" -eq "$1" ]; then pass; else
    fail "expected exit $1, got $RC"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
  fi
}

# expect_out TEXT / expect_err TEXT: fixed-string match in captured output.
expect_out() {
  if grep -qF -- "$1" <<<"$OUT"; then pass; else fail "stdout lacks '$1'"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"; fi
}
expect_err() {
  if grep -qF -- "$1" <<<"$ERR"; then pass; else fail "stderr lacks '$1'"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"; fi
}
expect_no_out() {
  if grep -qF -- "$1" <<<"$OUT"; then fail "stdout has '$1'"$'\n'"stdout: $OUT"; else pass; fi
}

# expect_eq ACTUAL EXPECTED [WHAT]
expect_eq() {
  if [ "$1" = "$2" ]; then pass; else fail "${3:-value}: expected '$2', got '$1'"; fi
}

# ref_of REPO REF: the id REF points at, or "none".
ref_of() { git -C "$1" rev-parse -q --verify "$2^{}" 2>/dev/null || echo none; }

# new_repo NAME [init args...]: `envflow init` a fresh repository; prints its path.
new_repo() {
  local dir="$TEST_ROOT/$1"
  shift
  "$ENVFLOW" init "$dir" "$@" >/dev/null
  echo "$dir"
}

# edit_config PYTHON: rewrite envflow.yaml through `config show` / `config edit
# --file` (must succeed; OUT and ERR stay for more checks). PYTHON edits the
# text in variable `t`; env_block(t, NAME, fn) rewrites one environment's
# block and set_auto(t, NAME) marks it `auto: true`.
edit_config() {
  envflow config show >"$TEST_ROOT/cfg.yaml"
  python3 - "$TEST_ROOT/cfg.yaml" "$1" <<'EOF'
import sys
path, code = sys.argv[1], sys.argv[2]
t = open(path).read()
def env_block(t, name, fn):
    i = t.index("  - name: " + name + "\n")
    j = t.find("  - name: ", i + 1)
    j = t.index("\n\n", i) + 1 if j < 0 else j
    return t[:i] + fn(t[i:j]) + t[j:]
def set_auto(t, name):
    return env_block(t, name, lambda b: b.replace("    branch: " + name + "\n",
                                                  "    branch: " + name + "\n    auto: true\n"))
env = {"t": t, "env_block": env_block, "set_auto": set_auto}
exec(code, env)
open(path, "w").write(env["t"])
EOF
  run envflow config edit --file "$TEST_ROOT/cfg.yaml"
  expect_rc 0
}

# finish: print the closing line CTest logs and exit non-zero on failure.
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# team_policy: print a policy for a team on a shared server: alice
# (developers) writes dev; bob promotes into test and production (no
# approvals), publishes, finishes hotfixes and changes local data; adam is
# the admin; the pusher must be authenticated (REMOTE_USER); unsigned releases.
team_policy() {
  cat <<'POLICY'
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
POLICY
}

# --- A smart-HTTP git server: lighttpd on 127.0.0.1 running `git http-backend`
# as a CGI behind HTTP basic auth, so a server hook learns the pusher from
# REMOTE_USER exactly as in a real deployment.
# http_server_start WEB: serve the bare repositories in WEB/repos at
# http://USER:PASSWORD@127.0.0.1:$HTTP_PORT/git/NAME.git, for the users of
# WEB/users ("user:password" lines, lighttpd's plain format). Exits 125
# (skipped) when lighttpd or git-http-backend cannot be had: lighttpd is
# installed with apt-get when missing and running as root. The server is
# stopped when the suite exits.
http_server_start() {
  HTTP_WEB="$1"
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
  local backend
  backend="$(git --exec-path)/git-http-backend"
  if [ ! -x "$backend" ]; then
    echo "skipped: git-http-backend not found at $backend"
    exit 125
  fi
  mkdir -p "$HTTP_WEB/docroot"
  HTTP_PID=""
  trap http_server_stop EXIT
  local attempt
  for attempt in 1 2 3; do
    if http_server_try "$backend"; then
      export GIT_TERMINAL_PROMPT=0
      return 0
    fi
    http_server_kill
  done
  echo "skipped: lighttpd did not start: $(cat "$HTTP_WEB/lighttpd.out" "$HTTP_WEB/error.log" 2>/dev/null)"
  exit 125
}

# One try on a free port: the first of a few random ones nothing answers on.
http_server_try() {
  HTTP_PORT=""
  local port
  for port in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      HTTP_PORT=$port
      break
    fi
  done
  [ -n "$HTTP_PORT" ] || return 1
  cat >"$HTTP_WEB/lighttpd.conf" <<CONF
server.bind = "127.0.0.1"
server.port = $HTTP_PORT
server.document-root = "$HTTP_WEB/docroot"
server.errorlog = "$HTTP_WEB/error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi")
alias.url = ("/git/" => "$1/")
\$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = (
    "GIT_PROJECT_ROOT" => "$HTTP_WEB/repos",
    "GIT_HTTP_EXPORT_ALL" => "1",
    "HOME" => "$HOME",
    "GIT_CONFIG_GLOBAL" => "$GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM" => "1",
    "PATH" => "$PATH"
  )
}
auth.backend = "plain"
auth.backend.plain.userfile = "$HTTP_WEB/users"
auth.require = ("/git/" => ("method" => "basic", "realm" => "envflow test", "require" => "valid-user"))
CONF
  lighttpd -D -f "$HTTP_WEB/lighttpd.conf" >"$HTTP_WEB/lighttpd.out" 2>&1 &
  HTTP_PID=$!
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$HTTP_PID" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

http_server_kill() {
  if [ -n "${HTTP_PID:-}" ]; then
    kill "$HTTP_PID" 2>/dev/null || true
    wait "$HTTP_PID" 2>/dev/null || true
    HTTP_PID=""
  fi
}

http_server_stop() {
  http_server_kill
  cleanup_test_root
}
