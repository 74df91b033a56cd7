#!/usr/bin/env bash
# End-to-end: `envflow serve`'s JSON API and its safety rules, over real HTTP
# on 127.0.0.1 (issue 16). The same documents as the CLI's --format json;
# every action refused by the same rules as the CLI, with 403 for the policy
# and CSRF/origin, 409 for gates; nothing changes on a refusal (checked with
# git); GETs never change a ref; repository strings escaped on the page; the
# identity header only as the proxy sends it; --read-only, --push on a clone,
# a bare server repository. The browser suite is test_serve_browser.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
trap 'stop_all_serves; cleanup_test_root' EXIT

REPO=$(new_pipeline shop)
cd "$REPO"
start_serve "$REPO" --identity-header X-Remote-User
TOKEN=$(csrf_token -H "X-Remote-User: bob")
as() { echo "X-Remote-User: $1"; }
CSRF="X-Envflow-CSRF: $TOKEN"
JSONTYPE="Content-Type: application/json"

test_case "the page serves its CSRF token, no framing, a strict CSP"
expect_eq "${#TOKEN}" 64 "token length"
http GET / -H "$(as bob)"
expect_code 200
if grep -q 'Sync dev → test' <<<"$BODY"; then pass; else fail "bob sees no Sync button"; fi
headers=$("$SYSTEM_PYTHON" - "$SERVE_URL" <<'PY'
import sys, urllib.request
r = urllib.request.urlopen(sys.argv[1] + "api/status")
print(r.headers.get("Content-Security-Policy"), r.headers.get("X-Frame-Options"))
PY
)
if grep -q "frame-ancestors 'none'" <<<"$headers" && grep -q "DENY" <<<"$headers"; then pass; else
  fail "security headers: $headers"; fi

test_case "GET /api/status is envflow status --format json"
http GET /api/status
expect_code 200
if same_json "$BODY" "$(envflow status --format json)"; then pass; else fail "status differs: $BODY"; fi

test_case "the pipeline page leaves what waits to the script (GET /api/diff); /diff shows it without one"
test_head=$(ref_of . refs/heads/test)
dev_head=$(ref_of . refs/heads/dev)
http GET / -H "$(as bob)"
expect_code 200
if grep -qF "<div class=\"changes-lazy\" data-from=\"$test_head\" data-to=\"$dev_head\" data-state=\"loading\">" <<<"$BODY"; then
  pass; else fail "no placeholder for the changes from test to dev: $BODY"; fi
if grep -qF '<table class="changes">' <<<"$BODY"; then fail "the page drew the diff itself"; else pass; fi
if grep -qF "href=\"/diff?from=$test_head&amp;to=$dev_head\"" <<<"$BODY"; then pass; else
  fail "no link to /diff for browsers without the script"; fi
http GET "/diff?from=$test_head&to=$dev_head"
expect_code 200
if grep -qF '<table class="changes">' <<<"$BODY" && grep -qF '<code class="value value-string">formal</code>' <<<"$BODY"; then
  pass; else fail "/diff shows no old -> new values: $BODY"; fi
http GET "/api/diff?from=$test_head&to=$dev_head&values=1"
expect_code 200
expect_body_json 'any(v.get("after") == "formal" for i in data["items"] for v in i.get("values", []))'
http GET "/diff?from=$test_head"
expect_code 400
if grep -qF 'both sides are needed' <<<"$BODY"; then pass; else fail "/diff without 'to': $BODY"; fi
http GET "/diff?from=no-such-rev&to=dev"
if [ "$CODE" != 200 ] && grep -qF 'banner-danger' <<<"$BODY"; then pass; else
  fail "/diff of a missing revision: $CODE $BODY"; fi

test_case "a rename is one row of the change list, as envflow diff shows it"
# On a branch of its own, with plain git: the pipeline's refs stay as they are.
git switch -q -c renamed dev
git mv agents/triage.yaml agents/router.yaml
sed -i 's/^name: triage$/name: router/' agents/router.yaml
sed -i 's/^    agent: triage$/    agent: router/' workflows/support-request.yaml
git add -A
git commit -q --no-verify -m "triage is now router"
git switch -q dev
http GET "/diff?from=dev&to=renamed"
expect_code 200
if grep -qF '<p class="changes-summary quiet">2 items: 1 changed, 1 renamed</p>' <<<"$BODY"; then pass; else
  fail "/diff has no summary counting the rename once: $BODY"; fi
if grep -qF '<tr class="change-renamed"><td class="sign">R</td><td>Agent</td><td><span class="item">triage → router</span> <span class="path">agents/triage.yaml → agents/router.yaml</span>' <<<"$BODY"; then
  pass; else fail "/diff shows no rename row: $BODY"; fi
expect_eq "$(grep -o '<tr class="change-[a-z]*">' <<<"$BODY" | sort | uniq -c | tr -s ' ')" \
  "$(printf ' 2 <tr class="change-changed">\n 1 <tr class="change-renamed">')" \
  "rows: the workflow's two fields and the rename, no added or removed row"
http GET "/api/diff?from=dev&to=renamed&values=1"
expect_code 200
expect_body_json 'data["summary"] == "2 items: 1 changed, 1 renamed" and [(r["from"]["name"], r["to"]["name"]) for r in data["renames"]] == [("triage", "router")]'
if same_json "$BODY" "$(envflow diff dev renamed --values --format json)"; then pass; else fail "diff differs: $BODY"; fi

test_case "POST without the CSRF token, with a wrong one, cross-origin, from another Host: 403, nothing moved"
before=$(ref_of . refs/heads/test)
http POST /api/sync/dev -H "$(as bob)" -H "$JSONTYPE" -d '{}'
expect_code 403
expect_body_json 'data["error"]["code"] == "forbidden" and data["error"]["kind"] == "refused" and data["error"]["exit"] == 1 and "CSRF" in data["error"]["message"] and data["error"]["hint"]'
http POST /api/sync/dev -H "$(as bob)" -H "X-Envflow-CSRF: ${TOKEN%?}0" -H "$JSONTYPE" -d '{}'
expect_code 403
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "Origin: http://evil.example" -H "$JSONTYPE" -d '{}'
expect_code 403
expect_body_json '"cross-origin" in data["error"]["message"]'
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "Sec-Fetch-Site: cross-site" -H "$JSONTYPE" -d '{}'
expect_code 403
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "Host: evil.example:80" -H "$JSONTYPE" -d '{}'
expect_code 403
http GET /api/status -H "Host: rebound.example:${SERVE_URL##*:}"
expect_code 403
expect_eq "$(ref_of . refs/heads/test)" "$before" "test after refused POSTs"

test_case "no identity, a repeated or a forged-with-line-break header: nobody acts"
http POST /api/sync/dev -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 403
expect_body_json '"named nobody" in data["error"]["message"]'
expect_eq "$(ref_of . refs/heads/test)" "$before" "test after anonymous POST"

test_case "sync as someone the policy does not let promote: 403 with the CLI's reason, nothing moved"
http POST /api/sync/dev -H "$(as dana)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 403
expect_body_json '"dana may not promote into test" in data["error"]["message"]'
run env ENVFLOW_ACTOR=dana envflow sync dev
expect_rc 1
expect_err "dana may not promote into test"
expect_eq "$(ref_of . refs/heads/test)" "$before" "test after dana"

test_case "sync as a release manager: 200, the CLI's document, the ref moved, the record names bob"
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_body_json 'data["moved"] is True and data["source"] == "dev" and data["target"] == "test" and set(data) >= {"from","to","noop","dry_run","commits","diff","approvals","approvals_required","hold"}'
expect_eq "$(ref_of . refs/heads/test)" "$(ref_of . refs/heads/dev)" "test after bob's sync"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | sed -n 's/^actor: //p')" "bob" "audit actor"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | sed -n 's/^op: //p')" "sync" "audit op"

test_case "sync with the head the page showed: that commit goes on, not one that came after"
sed -i 's/^tone: .*/tone: friendly/' agents/support.yaml
git commit -qam "Support agent: friendly tone"
shown=$(ref_of . refs/heads/dev)
sed -i 's/^tone: .*/tone: concise/' agents/support.yaml
git commit -qam "Support agent: concise tone"
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d "{\"rev\": \"$shown\"}"
expect_code 200
expect_body_json "data['to'] == '$shown'"
expect_eq "$(ref_of . refs/heads/test)" "$shown" "test after a sync of the shown head"
run env ENVFLOW_ACTOR=bob envflow sync dev # the rest of this suite wants test at dev's head
expect_rc 0

test_case "a gate: uat needs carol's approval first (409, nothing moved); approve as carol; sync"
before=$(ref_of . refs/heads/uat)
http POST /api/sync/test -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 409
expect_body_json 'data["error"]["kind"] == "refused" and data["error"]["code"] == "gate" and data["error"]["gate"] == "approvals" and "approval" in data["error"]["message"]'
expect_eq "$(ref_of . refs/heads/uat)" "$before" "uat after the gate"
http POST /api/approve/uat -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 403
http POST /api/approve/uat -H "$(as carol)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_body_json 'data["env"] == "uat" and data["approvals"] == ["carol"] and data["required"] == 1'
http POST /api/sync/test -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{"dry_run": true}'
expect_code 200
expect_body_json 'data["dry_run"] is True and data["moved"] is False'
expect_eq "$(ref_of . refs/heads/uat)" "$before" "uat after a dry run"
http POST /api/sync/test -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_eq "$(ref_of . refs/heads/uat)" "$(ref_of . refs/heads/test)" "uat after the approved sync"

test_case "usage errors: 400"
http POST /api/sync/nowhere -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 400
expect_body_json 'data["error"]["kind"] == "usage" and data["error"]["code"] == "unknown-environment" and data["error"]["exit"] == 2'
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '[1]'
expect_code 400
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "Content-Type: text/plain" -d '{}'
expect_code 400
http POST /api/sync/dev -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{"rev": 5}'
expect_code 400
http GET /api/nothing-here
expect_code 404

test_case "variables: an operator sets and unsets; a wrong type is a gate; others are refused"
http POST /api/var/test/max_turns -H "$(as olga)" -H "$CSRF" -H "$JSONTYPE" -d '{"value": "7"}'
expect_code 200
expect_body_json 'data["changed"] is True and data["environment"] == "test" and data["after"] == 7'
http GET /api/variables/test
if same_json "$BODY" "$(envflow var list --env test --format json)"; then pass; else fail "var list differs: $BODY"; fi
local_before=$(ref_of . refs/envflow/local/test)
http POST /api/var/test/max_turns -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{"value": "8"}'
expect_code 403
http POST /api/var/test/max_turns -H "$(as olga)" -H "$CSRF" -H "$JSONTYPE" -d '{"value": "seven"}'
expect_code 409
http POST /api/var/test/max_turns -H "$(as olga)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 400
expect_eq "$(ref_of . refs/envflow/local/test)" "$local_before" "local ref after refusals"
http POST /api/var/test/max_turns/unset -H "$(as olga)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_body_json 'data["changed"] is True and data["after"] is None'

test_case "hold and release: the CLI's records; hold list as JSON"
http POST /api/hold/uat -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{"reason": "QA <b>freeze</b>"}'
expect_code 200
expect_body_json 'data["action"] == "set" and data["changed"] is True and data["hold"]["actor"] == "bob"'
http GET /api/holds
if same_json "$BODY" "$(envflow hold list --format json)"; then pass; else fail "holds differ: $BODY"; fi
http GET /
if grep -qF 'QA &lt;b&gt;freeze&lt;/b&gt;' <<<"$BODY" && ! grep -qF '<b>freeze' <<<"$BODY"; then pass; else
  fail "the hold reason is not escaped on the page"; fi
http POST /api/hold/uat -H "$(as dana)" -H "$CSRF" -H "$JSONTYPE" -d '{"reason": "x"}'
expect_code 403
http POST /api/hold/uat/release -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_body_json 'data["action"] == "release" and data["changed"] is True'

test_case "publish and roll back as a publisher; refused for others"
ENVFLOW_ACTOR=bob envflow sync uat >/dev/null
http POST /api/publish -H "$(as carol)" -H "$CSRF" -H "$JSONTYPE" -d '{"no_sign": true}'
expect_code 403
expect_eq "$(ref_of . refs/envflow/live)" none "live after carol"
http POST /api/publish -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{"message": "First from the page", "no_sign": true}'
expect_code 200
expect_body_json 'data["outcome"] == "published" and data["tag"] == "v1.0.0"'
expect_eq "$(git rev-parse -q --verify refs/tags/v1.0.0^{commit})" "$(ref_of . refs/heads/production)" "v1.0.0"
git switch -q dev
sed -i 's/^tone: .*/tone: neutral/' agents/support.yaml
git commit -qam "Support agent: neutral tone"
ENVFLOW_ACTOR=bob envflow sync dev >/dev/null
ENVFLOW_ACTOR=carol envflow approve uat >/dev/null
ENVFLOW_ACTOR=bob envflow sync test >/dev/null
ENVFLOW_ACTOR=bob envflow sync uat >/dev/null
http POST /api/publish -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{"bump": "minor", "no_sign": true}'
expect_code 200
expect_body_json 'data["tag"] == "v1.1.0" and data["previous_live"] == "v1.0.0"'
http GET /api/releases
if same_json "$BODY" "$(envflow releases --format json)"; then pass; else fail "releases differ: $BODY"; fi
http POST /api/rollback/v1.0.0 -H "$(as carol)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 403
http POST /api/rollback/v1.0.0 -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_body_json 'data["tag"] == "v1.0.0" and data["previous_live"] == "v1.1.0"'
expect_eq "$(git rev-parse refs/envflow/live^{commit})" "$(git rev-parse v1.0.0^{commit})" "live after the rollback"
http POST /api/rollback/v9.9.9 -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
if [ "$CODE" = 400 ] || [ "$CODE" = 409 ]; then pass; else fail "rollback to a missing tag: $CODE $BODY"; fi

test_case "the audit log with filters is envflow log's"
http GET "/api/log?env=uat&by=carol"
if same_json "$BODY" "$(envflow log --env uat --by carol --format json)"; then pass; else fail "log differs: $BODY"; fi
expect_body_json 'len(data) == 2 and all(r["op"] == "approve" for r in data)'
http GET "/api/log?op=rollback"
expect_body_json 'len(data) == 1 and data[0]["actor"] == "bob"'
http GET "/api/log?env=nowhere"
expect_code 400
http GET "/api/diff?from=test&to=dev&values=1"
if same_json "$BODY" "$(envflow diff test dev --values --format json)"; then pass; else fail "diff differs: $BODY"; fi

test_case "a hotfix opens a back-port: listed, applied from the API"
ENVFLOW_ACTOR=bob envflow hotfix start urgent >/dev/null
# A new file: the hotfix starts from the live release (rolled back above),
# and must not conflict with what dev changed since.
printf 'kind: Variable\nname: hotfix_flag\ntype: boolean\ndefault: true\n' >variables/hotfix_flag.yaml
git add variables/hotfix_flag.yaml
git commit -qm "Hotfix: a flag"
ENVFLOW_ACTOR=bob envflow hotfix finish --no-sign >/dev/null
git switch -q dev
http GET /api/backports
expect_body_json 'len(data) == 1 and data[0]["status"] == "open"'
if same_json "$BODY" "$(envflow backport list --format json)"; then pass; else fail "backports differ: $BODY"; fi
http POST /api/backport/1/apply -H "$(as bob)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 403
http POST /api/backport/1/apply -H "$(as alice)" -H "$CSRF" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_body_json 'data["issue"]["status"] == "closed" and data["branch"] == "dev"'

test_case "GET never changes a ref: every page and API, as every person"
snapshot() { git for-each-ref --format='%(refname) %(objectname)'; }
before_refs=$(snapshot)
for who in bob dana carol; do
  for path in / /releases /backports /variables "/variables?env=test" /log "/log?env=test&op=sync&by=bob" \
    /api/status /api/releases /api/backports /api/holds /api/log /api/variables/test /api/me \
    "/api/diff?from=production&to=dev&values=1" "/diff?from=production&to=dev" /api/version "/?q=<script>"; do
    http GET "$path" -H "$(as "$who")"
    if [ "$CODE" != 200 ]; then fail "GET $path as $who: $CODE"; fi
  done
done
expect_eq "$(snapshot)" "$before_refs" "refs after every GET"

test_case "repository text is escaped on every page"
git switch -q dev
sed -i 's/^description: .*/description: "<img src=x onerror=alert(1)>"/' agents/support.yaml
git commit -qm '<script>alert("summary")</script>' -a
for path in / /log "/diff?from=test&to=dev"; do
  http GET "$path"
  if grep -qF '<script>alert' <<<"$BODY" || grep -qF '<img src=x' <<<"$BODY"; then
    fail "unescaped repository text on $path"
  else pass; fi
done
http GET /
if grep -qF '&lt;script&gt;alert(&quot;summary&quot;)&lt;/script&gt;' <<<"$BODY"; then pass; else fail "escaped summary missing"; fi

test_case "GET /api/me: who, the token, what they may do"
http GET /api/me -H "$(as olga)"
expect_body_json 'data["actor"] == "olga" and data["csrf_token"] == "'"$TOKEN"'" and data["may"]["environments"]["test"]["local"] is True and data["may"]["publish"] is False'
stop_serve
expect_eq "$STOP_RC" 0 "serve exit code on SIGTERM"

test_case "--read-only: pages yes, actions no"
start_serve "$REPO" --read-only
TOKEN=$(csrf_token)
http POST /api/sync/dev -H "X-Envflow-CSRF: $TOKEN" -H "$JSONTYPE" -d '{}'
expect_code 403
expect_body_json '"read only" in data["error"]["message"]'
http GET /
if grep -q 'data-action="sync"' <<<"$BODY"; then fail "a button on a read-only page"; else pass; fi
stop_serve

test_case "local actor (no proxy): git config's user, with the policy's groups"
git -C "$REPO" config user.email bob
start_serve "$REPO"
TOKEN=$(csrf_token)
http GET /api/me
expect_body_json 'data["actor"] == "bob"'
stop_serve
git -C "$REPO" config --unset user.email

test_case "usage: another machine's reach needs a proxy in front or --read-only"
run envflow -C "$REPO" serve --listen 0.0.0.0:0 --actor bob
expect_rc 2
expect_err "--identity-header"
run envflow -C "$REPO" serve --listen nonsense
expect_rc 2
run envflow -C "$REPO" serve --identity-header X-User --actor bob
expect_rc 2

test_case "a bare server repository, and a clone that pushes each action (--push)"
SRV="$TEST_ROOT/srv.git"
git clone -q --bare "$REPO" "$SRV"
git -C "$REPO" push -q "$SRV" 'refs/envflow/*:refs/envflow/*'
start_serve "$SRV" --identity-header X-Remote-User
TOKEN=$(csrf_token)
http GET /api/status
if same_json "$BODY" "$(envflow -C "$SRV" status --format json)"; then pass; else fail "bare status differs"; fi
http POST /api/sync/dev -H "$(as bob)" -H "X-Envflow-CSRF: $TOKEN" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$(ref_of "$SRV" refs/heads/dev)" "server test after a sync on the bare repository"
stop_serve
git -C "$SRV" update-ref refs/heads/test "$(git -C "$SRV" rev-parse test~1)"
CLONE="$TEST_ROOT/clone"
git clone -q "$SRV" "$CLONE"
envflow -C "$CLONE" setup >/dev/null
start_serve "$CLONE" --identity-header X-Remote-User --push
TOKEN=$(csrf_token)
http POST /api/sync/dev -H "$(as bob)" -H "X-Envflow-CSRF: $TOKEN" -H "$JSONTYPE" -d '{}'
expect_code 200
expect_body_json 'data["moved"] is True and data["pushed"]["remote"] == "origin" and any(r["ref"] == "refs/heads/test" for r in data["pushed"]["refs"])'
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$(ref_of "$SRV" refs/heads/dev)" "server test after a pushed sync"
stop_serve

finish
