#!/usr/bin/env bash
# End-to-end in a real browser (issue 16): headless Chromium drives the page
# of `envflow serve` behind nginx, which asks for HTTP basic auth and passes
# the user on as X-Remote-User (the setup docs/serve.md describes). dana (no
# group) is refused with the reason and nothing moves; bob (release manager)
# presses Sync and the ref moves with a record naming him; a sync made with
# the CLI appears on the open page without a reload; carol (QA) approves;
# bob publishes. The checks are in serve_browser.py; the repository is
# checked with git. With ENVFLOW_SCREENSHOTS=DIR the screenshots of
# docs/serve.md are written to DIR (a relative DIR is in the source tree:
# ENVFLOW_SCREENSHOTS=docs/images refreshes them).
# Needs chromium, chromium-driver, python3-selenium and nginx (Makefile TEST_DEBS).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

PATH="$PATH:/usr/sbin"
for tool in nginx htpasswd chromium chromedriver; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed (make test-deps)"; exit 125; }
done
"$SYSTEM_PYTHON" -c 'import selenium' 2>/dev/null ||
  { echo "skipped: python3-selenium is not installed (make test-deps)"; exit 125; }

NGINX_PID=""
stop_everything() {
  if [ -n "$NGINX_PID" ]; then
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  stop_all_serves
  cleanup_test_root
}
trap stop_everything EXIT

REPO=$(new_pipeline shop)

PROXY_PORT=$(free_port)
PUBLIC="http://127.0.0.1:$PROXY_PORT"

test_case "envflow serve behind nginx with basic auth"
start_serve "$REPO" --identity-header X-Remote-User --origin "$PUBLIC"
UPSTREAM=${SERVE_URL%/}
PROXY="$TEST_ROOT/nginx"
mkdir -p "$PROXY/tmp"
for user in bob carol dana; do
  htpasswd -b $([ -f "$PROXY/users" ] || echo -c) "$PROXY/users" "$user" "$user-pw" 2>/dev/null
done
# The configuration of docs/serve.md, with test paths.
cat >"$PROXY/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $PROXY/nginx.pid;
error_log $PROXY/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $PROXY/tmp/body;
  proxy_temp_path $PROXY/tmp/proxy;
  fastcgi_temp_path $PROXY/tmp/fastcgi;
  uwsgi_temp_path $PROXY/tmp/uwsgi;
  scgi_temp_path $PROXY/tmp/scgi;
  server {
    listen 127.0.0.1:$PROXY_PORT;
    location / {
      auth_basic "envflow";
      auth_basic_user_file $PROXY/users;
      proxy_pass $UPSTREAM;
      proxy_set_header X-Remote-User \$remote_user;
      proxy_set_header Authorization "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
NGINX
nginx -p "$PROXY" -e "$PROXY/error.log" -c "$PROXY/nginx.conf" 2>"$PROXY/stderr" &
NGINX_PID=$!
up=no
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null; then up=yes; break; fi
  kill -0 "$NGINX_PID" 2>/dev/null || break
  sleep 0.1
done
expect_eq "$up" yes "nginx listening ($(cat "$PROXY/stderr" "$PROXY/error.log" 2>/dev/null))"

test_case "the proxy: no password, no page; the header a client sends is replaced"
SERVE_URL="$PUBLIC/"
http GET /api/me
expect_code 401
http GET /api/me -H "Authorization: Basic $(printf 'dana:dana-pw' | base64)" -H "X-Remote-User: bob"
expect_code 200
expect_body_json 'data["actor"] == "dana"'

test_case "the browser"
shots="${ENVFLOW_SCREENSHOTS:-}"
case "$shots" in
  "" | /*) ;;
  *) shots="$ENVFLOW_SOURCE_DIR/$shots" ;; # docs/images: the source tree's
esac
[ -z "$shots" ] || mkdir -p "$shots"
run env ENVFLOW="$ENVFLOW" "$SYSTEM_PYTHON" "$(dirname "$0")/serve_browser.py" \
  --url "$PUBLIC/" --repo "$REPO" ${shots:+--shots "$shots"}
echo "$OUT"
[ -z "$ERR" ] || echo "$ERR" >&2
expect_rc 0
expect_out "all browser checks passed"

test_case "every action of the page went through envflow serve's log"
if grep -q "sync /api/sync/dev by bob: 200" "$SERVE_LOG" &&
  grep -q "sync /api/sync/dev by dana: 403" "$SERVE_LOG"; then pass; else
  fail "serve's log: $(cat "$SERVE_LOG")"; fi

finish
