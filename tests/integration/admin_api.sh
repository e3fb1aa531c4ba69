# The admin API (/v1/admin/, docs/openapi.yaml) on running servers, with
# curl: every endpoint, every refusal (no token, a wrong one, a viewer
# writing: nothing changes), tokens made and revoked at run time, an
# upload that publishes and is then served, sync now with and without an
# upstream, schedules (and the mirror following one), agents (license,
# group, notify by push and by long-poll, remove) with real
# cascade-agents, the event history with its filters and its live wait,
# licenses; and the CLI against the server printing what it prints on
# the data directory.
. "$(dirname "$0")/lib.sh"
: "${CASCADE_AGENT:?set by tests/run}"

D="$WORK/var"
"$CASCADE" init -d "$D" >"$WORK/init.out"
cat >>"$D/cascade.conf" <<'EOF'

[group labs]
schedule = every 10m
EOF
sed -i 's/^upload_max = .*/upload_max = 64K/' "$D/cascade.conf"
ADMIN=$(cat "$D/admin.token")

# js FILE EXPR: a python3 expression over the JSON document d of FILE;
# status URL: its HTTP status. Commands, so that `sh -c` finds them too.
mkdir "$WORK/bin"
cat >"$WORK/bin/js" <<'EOF'
#!/usr/bin/env python3
import json, sys
d = json.load(open(sys.argv[1]))
print(eval("(" + sys.argv[2] + ")"))
EOF
cat >"$WORK/bin/status" <<'EOF'
#!/bin/sh
exec curl -s -o /dev/null -w '%{http_code}' "$@"
EOF
chmod +x "$WORK/bin/js" "$WORK/bin/status"
PATH="$WORK/bin:$PATH"
export PATH
# api TOKEN METHOD PATH [CURL ARGS...]: the status; the body in
# $WORK/body, the headers in $WORK/headers. TOKEN "-" sends none.
api() {
	tok=$1 m=$2 p=$3
	shift 3
	if [ "$tok" = - ]; then
		curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' \
		    -X "$m" "$@" "$BASE/v1/admin/$p"
	else
		curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' \
		    -X "$m" -H "Authorization: Bearer $tok" "$@" \
		    "$BASE/v1/admin/$p"
	fi
}
# is CODE COMMAND...: the command prints CODE.
is() { want=$1; shift; test "$("$@")" = "$want"; }
# body EXPR: the python3 expression over the last body is true.
body() { test "$(js "$WORK/body" "$1")" = True; }
has() { grep -q -- "$1" "${2:-$WORK/body}"; }
# error CODE ERROR COMMAND...: the status and the error of the answer.
error() {
	want=$1 err=$2
	shift 2
	test "$("$@")" = "$want" && has "\"error\": \"$err\""
}
json_body() { grep -qi '^Content-Type: application/json' "$WORK/headers"; }

check "init writes the admin token, mode 0600, one line of 64 hex" sh -c \
    "test \"\$(stat -c %a '$D/admin.token')\" = 600 &&
     grep -qE '^[0-9a-f]{64}\$' '$D/admin.token' &&
     test \"\$(wc -l <'$D/admin.token')\" = 1 &&
     grep -q 'admin token' '$WORK/init.out'"
check "token list shows the token 'admin'" sh -c \
    "'$CASCADE' token list -d '$D' | grep -q '^admin  *admin '"
check "token create prints a new token once" sh -c \
    "'$CASCADE' token create -d '$D' ops --role viewer >'$WORK/viewer' &&
     grep -qE '^[0-9a-f]{64}\$' '$WORK/viewer'"
VIEWER=$(cat "$WORK/viewer")
check "token create: a name taken is refused" sh -c \
    "! '$CASCADE' token create -d '$D' ops 2>'$WORK/err' &&
     grep -q 'exists already' '$WORK/err'"
check "token create: a bad role or name is a usage error" sh -c \
    "'$CASCADE' token create -d '$D' x --role root 2>/dev/null; test \$? = 2 &&
     '$CASCADE' token create -d '$D' 'A B' 2>/dev/null; test \$? = 2"
check "token changes are events, not the token made by init" sh -c \
    "'$CASCADE' events -d '$D' --kind token >'$WORK/tev' &&
     test \"\$(wc -l <'$WORK/tev')\" = 1 &&
     grep -q \"token 'ops' created, role viewer, by 'cascade token'\" '$WORK/tev'"
check "the database keeps no token in clear" sh -c \
    "! grep -qa '$ADMIN' '$D/state.db' && ! grep -qa '$VIEWER' '$D/state.db'"

# docs/openapi.yaml: valid YAML, OpenAPI 3, every endpoint here in it
# (and valid OpenAPI where a validator is installed)
check "docs/openapi.yaml documents every admin endpoint" python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["openapi"].startswith("3.")
want = """get /v1/admin/summary get /v1/admin/components
get /v1/admin/components/{name} post /v1/admin/components/{name}
post /v1/admin/sync get /v1/admin/schedules get /v1/admin/schedules/{target}
put /v1/admin/schedules/{target} delete /v1/admin/schedules/{target}
get /v1/admin/agents get /v1/admin/agents/{id} delete /v1/admin/agents/{id}
post /v1/admin/agents/{id}/license post /v1/admin/agents/{id}/unlicense
post /v1/admin/agents/{id}/notify put /v1/admin/agents/{id}/group
get /v1/admin/events get /v1/admin/licenses post /v1/admin/licenses
delete /v1/admin/licenses/{key} get /v1/state get /v1/channels/{ch}/manifest
get /v1/channels/{ch}/manifest.minisig get /v1/objects/{sha256}
get /v1/deltas/{from_sha256}/{to_sha256} get /v1/events post /v1/agents
put /v1/agents/{id}/status get /v1/agents/{id}/policy""".split()
for m, p in zip(want[0::2], want[1::2]):
    assert m in d["paths"][p], (m, p)
try:
    from openapi_spec_validator import validate
except ImportError:
    sys.exit(0)
validate(d)
' "$(dirname "$0")/../../docs/openapi.yaml"

check "server starts" start_server "$D"

# ---- refusals ----------------------------------------------------------------
WRONG=$(printf '%064d' 7)
ENDPOINTS="GET:summary GET:components GET:components/virus-pattern
POST:components/virus-pattern POST:sync GET:schedules PUT:schedules/upstream
DELETE:schedules/upstream GET:agents GET:agents/0123456789abcdef0123456789abcdef
POST:agents/0123456789abcdef0123456789abcdef/license
POST:agents/0123456789abcdef0123456789abcdef/unlicense
POST:agents/0123456789abcdef0123456789abcdef/notify
PUT:agents/0123456789abcdef0123456789abcdef/group
DELETE:agents/0123456789abcdef0123456789abcdef GET:events GET:licenses
POST:licenses DELETE:licenses/KEY-00000001 GET:nothing-here"
refusals() {
	for ep in $ENDPOINTS; do
		m=${ep%%:*} p=${ep#*:}
		error 401 token_required api - "$m" "$p" -d '{}' ||
		    { echo "no token: $m $p"; return 1; }
		grep -qi '^WWW-Authenticate: Bearer' "$WORK/headers" ||
		    { echo "no challenge: $m $p"; return 1; }
		error 401 token_rejected api "$WRONG" "$m" "$p" -d '{}' ||
		    { echo "wrong token: $m $p"; return 1; }
		error 401 token_rejected api "${ADMIN}0" "$m" "$p" -d '{}' ||
		    { echo "long token: $m $p"; return 1; }
		error 401 token_required api - "$m" "$p" -d '{}' \
		    -H "Authorization: Basic YTpi" ||
		    { echo "basic: $m $p"; return 1; }
		if [ "$m" != GET ]; then
			error 403 forbidden api "$VIEWER" "$m" "$p" -d '{}' ||
			    { echo "viewer: $m $p"; return 1; }
		fi
	done
}
check "every endpoint: no token 401, a wrong one 401, a viewer writing 403" \
    refusals
check "the errors are JSON" json_body
check "a viewer reads" is 200 api "$VIEWER" GET summary
check "an unknown resource is 404" error 404 not_found api "$ADMIN" GET nothing
check "a method a resource does not take is 405 with Allow" sh -c \
    "test \"\$(curl -s -o /dev/null -D '$WORK/h405' -w '%{http_code}' -X DELETE \
        -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/summary')\" = 405 &&
     grep -qi '^Allow: GET, HEAD' '$WORK/h405'"

# ---- summary -----------------------------------------------------------------
check "summary: server, channels, no upstream, agents, downstreams" sh -c \
    "test \"\$(curl -s -o '$WORK/sum' -w '%{http_code}' \
        -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/summary')\" = 200 &&
     test \"\$(js '$WORK/sum' 'd[\"server\"][\"dir\"] == \"$D\" and
        d[\"server\"][\"uptime\"] >= 0 and d[\"channels\"] == [] and
        d[\"upstream\"] is None and d[\"agents\"][\"total\"] == 0 and
        \"downstreams\" in d')\" = True"

# ---- components and publish by upload -----------------------------------------
make_db 500 1 >"$WORK/p1.db"
{ cat "$WORK/p1.db"; make_db 50 2; } >"$WORK/p2.db"
head -c 70000 /dev/urandom >"$WORK/big"
check "upload: no token is 401 before the body is read" error 401 \
    token_required api - POST "components/virus-pattern" \
    --data-binary @"$WORK/big"
check "upload: a viewer is 403 before the body is read" error 403 \
    forbidden api "$VIEWER" POST "components/virus-pattern" \
    --data-binary @"$WORK/big"
check "upload: over upload_max is 413" error 413 payload_too_large \
    api "$ADMIN" POST "components/virus-pattern" --data-binary @"$WORK/big"
check "upload: a bad name is 400" error 400 bad_request api "$ADMIN" POST \
    "components/Bad..Name" --data-binary @"$WORK/p1.db"
check "upload: a bad version is 400" error 400 bad_request api "$ADMIN" POST \
    "components/virus-pattern?version=zero" --data-binary @"$WORK/p1.db"
check "upload: no body is 400" error 400 bad_request api "$ADMIN" POST \
    "components/virus-pattern"
check "nothing was published by the refused uploads" sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/components')\" = '[]'"
check "upload: publish is 201 with version, serial, sha256" sh -c \
    "test \"\$(curl -s -o '$WORK/pub' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' \
        -H 'Content-Type: application/octet-stream' \
        --data-binary @'$WORK/p1.db' \
        '$BASE/v1/admin/components/virus-pattern?kind=pattern&edition=standard')\" = 201 &&
     test \"\$(js '$WORK/pub' 'd[\"version\"] == 1 and d[\"serial\"] == 1 and
        d[\"sha256\"] == \"$(sha256 "$WORK/p1.db")\" and not d[\"unchanged\"]')\" = True"
check "upload: the object is served, byte for byte" sh -c \
    "curl -sf -o '$WORK/got' \
        '$BASE/v1/objects/$(sha256 "$WORK/p1.db")' && cmp -s '$WORK/got' '$WORK/p1.db'"
check "upload: the served state moves to serial 1" wait_for 10 sh -c \
    "curl -s '$BASE/v1/state' | grep -q '\"main\": 1'"
check "upload: the same bytes again are unchanged" sh -c \
    "test \"\$(curl -s -o '$WORK/pub' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' --data-binary @'$WORK/p1.db' \
        '$BASE/v1/admin/components/virus-pattern')\" = 201 &&
     test \"\$(js '$WORK/pub' 'd[\"unchanged\"] and d[\"version\"] == 1')\" = True"
check "upload: a version not above the current is 409" error 409 \
    version_conflict api "$ADMIN" POST "components/virus-pattern?version=1" \
    --data-binary @"$WORK/p2.db"
check "upload: version 2 with a delta from 1" sh -c \
    "test \"\$(curl -s -o '$WORK/pub' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' --data-binary @'$WORK/p2.db' \
        '$BASE/v1/admin/components/virus-pattern')\" = 201 &&
     test \"\$(js '$WORK/pub' 'd[\"version\"] == 2 and d[\"deltas\"] == 1')\" = True"
check "upload: a name with '/' (chunked, no length)" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' -H 'Transfer-Encoding: chunked' \
        --data-binary @'$WORK/p1.db' \
        '$BASE/v1/admin/components/clamav/daily?kind=pattern')\" = 201"
# the repository's lock held by another writer: 409 with Retry-After
python3 -c 'import fcntl, signal, sys
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
signal.pause()' "$D/lock" "$WORK/locked" &
LOCKER=$!
PIDS="$PIDS $LOCKER"
wait_for 10 test -e "$WORK/locked"
check "upload: the repository busy is 409 with Retry-After" sh -c \
    "test \"\$(curl -s -o '$WORK/busy' -D '$WORK/bh' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' --data-binary @'$WORK/p1.db' \
        '$BASE/v1/admin/components/engine')\" = 409 &&
     grep -q '\"error\": \"busy\"' '$WORK/busy' &&
     grep -qi '^Retry-After: [0-9]' '$WORK/bh'"
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null
PIDS=$(echo " $PIDS " | sed "s/ $LOCKER / /")
check "components: each with its versions" sh -c \
    "test \"\$(curl -s -o '$WORK/comps' -w '%{http_code}' \
        -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/components')\" = 200 &&
     test \"\$(js '$WORK/comps' '[c[\"name\"] for c in d] == [\"clamav/daily\", \"virus-pattern\"]
        and d[1][\"version\"] == 2 and d[1][\"kind\"] == \"pattern\"
        and d[1][\"channel\"] == \"main\" and d[1][\"edition\"] == \"standard\"
        and [v[\"version\"] for v in d[1][\"versions\"]] == [2, 1]
        and d[1][\"sha256\"] == \"$(sha256 "$WORK/p2.db")\"
        and d[1][\"size\"] == $(wc -c <"$WORK/p2.db")
        and d[1][\"published\"].endswith(\"Z\")')\" = True"
check "components: one, by a name holding '/'" sh -c \
    "test \"\$(curl -s -o '$WORK/one' -w '%{http_code}' \
        -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/components/clamav/daily')\" = 200 &&
     test \"\$(js '$WORK/one' 'd[\"name\"] == \"clamav/daily\"')\" = True"
check "components: an unknown one is 404" error 404 not_found api "$ADMIN" \
    GET components/nothing
check "a publish is an event naming the token" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/events?kind=publish' | grep -q \"virus-pattern version 2.*admin token 'admin'\""

# ---- sync ----------------------------------------------------------------------
check "sync: without an upstream, 409 no_upstream" error 409 no_upstream \
    api "$ADMIN" POST sync
check "cascade sync --now --server says so too" sh -c \
    "! '$CASCADE' sync --now --server '$BASE' --token '$D/admin.token' \
        2>'$WORK/err' && grep -q 'no_upstream' '$WORK/err'"

# ---- licenses ------------------------------------------------------------------
check "licenses: none" sh -c "test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' \
    '$BASE/v1/admin/licenses')\" = '[]'"
check "licenses: a bad document is 400" error 400 bad_request api "$ADMIN" \
    POST licenses -d '{"key": 5}'
check "licenses: a key too short is 400" error 400 bad_request api "$ADMIN" \
    POST licenses -d '{"key": "ABC", "edition": "standard"}'
check "licenses: a username without a password is 400" error 400 \
    bad_request api "$ADMIN" POST licenses \
    -d '{"key": "KEY-00000001", "edition": "standard", "username": "u"}'
check "licenses: a viewer cannot add one (403)" error 403 forbidden \
    api "$VIEWER" POST licenses \
    -d '{"key": "KEY-00000001", "edition": "standard"}'
check "licenses: add is 201, the key masked" sh -c \
    "test \"\$(curl -s -o '$WORK/lic' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' \
        -d '{\"key\": \"KEY-0000000001\", \"edition\": \"standard\", \"username\": \"branch\", \"password\": \"s3cret\"}' \
        '$BASE/v1/admin/licenses')\" = 201 &&
     test \"\$(js '$WORK/lic' 'd[\"key\"] != \"KEY-0000000001\" and
        d[\"key\"].startswith(\"KEY-\") and d[\"username\"] == \"branch\"')\" = True"
check "licenses: the same key again is 409" error 409 conflict api "$ADMIN" \
    POST licenses -d '{"key": "KEY-0000000001", "edition": "standard"}'
check "licenses: listed" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/licenses' >'$WORK/lics' &&
     test \"\$(js '$WORK/lics' 'len(d) == 1 and d[0][\"edition\"] == \"standard\"')\" = True"
check "licenses: in force for downloads at once" wait_for 5 sh -c \
    "test \"\$(status '$BASE/v1/channels/main/manifest')\" = 401"
check "licenses: cascade license list agrees" sh -c \
    "'$CASCADE' license list -d '$D' | grep -q 'branch'"
check "licenses: remove an unknown one is 404" error 404 not_found \
    api "$ADMIN" DELETE licenses/KEY-99999999
check "licenses: remove is 204" is 204 api "$ADMIN" DELETE \
    licenses/KEY-0000000001
check "licenses: gone, and the server open again" wait_for 5 sh -c \
    "test \"\$(status '$BASE/v1/channels/main/manifest')\" = 200"

# ---- agents ----------------------------------------------------------------------
# agent_conf NAME NOTIFY: a cascade-agent of this server.
agent_conf() {
	printf 'server = %s/\ntrust = %s\ndir = %s\nnotify = %s\n%b' "$BASE" \
	    "$D/keys/*.pub" "$WORK/$1" "$2" "${3:-}" >"$WORK/$1.conf"
}
agent_id() { sed -n 's/^id //p' "$WORK/$1/.cascade/agent"; }
agent_conf push 'listen 127.0.0.1:0'
agent_conf poll longpoll
"$CASCADE_AGENT" -c "$WORK/push.conf" run >/dev/null 2>"$WORK/push.err" &
PIDS="$PIDS $!"
"$CASCADE_AGENT" -c "$WORK/poll.conf" run >/dev/null 2>"$WORK/poll.err" &
PIDS="$PIDS $!"
check "agents: two real agents enrol and report" wait_for 30 sh -c \
    "test -s '$WORK/push/.cascade/agent' && test -s '$WORK/poll/.cascade/agent' &&
     test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/agents?state=current' | grep -c '\"id\"')\" = 2"
PUSH=$(agent_id push)
POLL=$(agent_id poll)
check "agents: the push agent reports its notify URL" wait_for 20 sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents/$PUSH' |
        grep -q '\"notify_url\": \"http://127.0.0.1:'"
check "agents: list, the same objects as cascade agents --json" \
    wait_for 10 sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents' >'$WORK/a1' &&
     '$CASCADE' agents -d '$D' --json >'$WORK/a2' &&
     test \"\$(js '$WORK/a1' 'len(d) == 2 and set(a[\"id\"] for a in d) == {\"$PUSH\", \"$POLL\"}
        and all(a[\"state\"] == \"current\" and a[\"status\"] is not None for a in d)')\" = True &&
     python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for x in a + b: x.pop(\"last_seen\")
sys.exit(a != b)' '$WORK/a1' '$WORK/a2'"
check "agents: a filter by state" sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/agents?state=pending')\" = '[]'"
check "agents: a bad state is 400" error 400 bad_request api "$ADMIN" GET \
    "agents?state=green"
check "agents: one" sh -c "test \"\$(curl -s -o '$WORK/one' -w '%{http_code}' \
    -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents/$POLL')\" = 200 &&
    test \"\$(js '$WORK/one' 'd[\"id\"] == \"$POLL\" and d[\"group\"] == \"default\"')\" = True"
check "agents: an unknown one is 404" error 404 not_found api "$ADMIN" GET \
    agents/0123456789abcdef0123456789abcdef
check "agents: not an id is 404" error 404 not_found api "$ADMIN" GET \
    agents/xyz
check "agents: unlicense is 200, the agent pending" sh -c \
    "test \"\$(curl -s -o '$WORK/one' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents/$POLL/unlicense')\" = 200 &&
     test \"\$(js '$WORK/one' 'd[\"state\"] == \"pending\" and not d[\"licensed\"]')\" = True"
check "agents: filter pending" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents?state=pending' |
        grep -q '$POLL'"
check "agents: license is 200, licensed again" sh -c \
    "test \"\$(curl -s -o '$WORK/one' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents/$POLL/license')\" = 200 &&
     test \"\$(js '$WORK/one' 'd[\"licensed\"]')\" = True"
check "agents: a group that does not exist is 400" error 400 bad_request \
    api "$ADMIN" PUT "agents/$POLL/group" -d '{"group": "nowhere"}'
check "agents: no group is 400" error 400 bad_request \
    api "$ADMIN" PUT "agents/$POLL/group" -d '{"grp": "labs"}'
check "agents: group is 200" sh -c \
    "test \"\$(curl -s -o '$WORK/one' -w '%{http_code}' -X PUT \
        -H 'Authorization: Bearer $ADMIN' -d '{\"group\": \"labs\"}' \
        '$BASE/v1/admin/agents/$POLL/group')\" = 200 &&
     test \"\$(js '$WORK/one' 'd[\"group\"] == \"labs\"')\" = True"
check "agents: filter by group" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents?group=labs' >'$WORK/g' &&
     test \"\$(js '$WORK/g' '[a[\"id\"] for a in d] == [\"$POLL\"]')\" = True"
check "agents: the changes are events naming the token" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/events?agent=$POLL&kind=agent-*' >'$WORK/ev' &&
     grep -q 'agent-unlicensed' '$WORK/ev' && grep -q 'agent-licensed' '$WORK/ev' &&
     grep -q \"group default -> labs by admin token 'admin'\" '$WORK/ev'"
check "agents: a viewer cannot change one, and nothing changes" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $VIEWER' '$BASE/v1/admin/agents/$POLL/unlicense')\" = 403 &&
     curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents/$POLL' |
        grep -q '\"licensed\": true'"
# notify: pushed to the agent that listens
check "agents: notify a listener is 202, by push" sh -c \
    "test \"\$(curl -s -o '$WORK/n' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents/$PUSH/notify')\" = 202 &&
     grep -q '\"via\": \"push\"' '$WORK/n'"
check "agents: ... the agent gets the push and syncs" wait_for 20 grep -q \
    'notification received from' "$WORK/push/.cascade/log"
# notify: told at its held long-poll, which is answered at once
NOTES=$(grep -c 'asked to sync' "$WORK/poll/.cascade/log" 2>/dev/null)
check "agents: notify a long-poller is 202, by long-poll" sh -c \
    "test \"\$(curl -s -o '$WORK/n' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/agents/$POLL/notify')\" = 202 &&
     grep -q '\"via\": \"long-poll\"' '$WORK/n'"
check "agents: ... its long-poll is answered and it syncs" wait_for 20 sh -c \
    "test \"\$(grep -c 'asked to sync' '$WORK/poll/.cascade/log')\" -gt '${NOTES:-0}'"
check "agents: a notify is an event" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/events?kind=agent-notify' | grep -q '$POLL'"
check "agents: notify an unknown agent is 404" error 404 not_found \
    api "$ADMIN" POST agents/0123456789abcdef0123456789abcdef/notify

# ---- the CLI against the server prints what it prints on the directory ----------
check "cascade agents --server: the same table" wait_for 10 sh -c \
    "'$CASCADE' agents -d '$D' | sed 's/ [0-9]*[smhd]  */ AGE /' >'$WORK/l1' &&
     '$CASCADE' agents --server '$BASE' --token '$D/admin.token' |
        sed 's/ [0-9]*[smhd]  */ AGE /' >'$WORK/l2' &&
     cmp '$WORK/l1' '$WORK/l2' && grep -q '$POLL' '$WORK/l2'"
check "cascade agents --server --json: the same objects" wait_for 10 sh -c \
    "'$CASCADE' agents -d '$D' --json >'$WORK/j1' &&
     '$CASCADE' agents --server '$BASE' --token '$D/admin.token' --json >'$WORK/j2' &&
     python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for x in a + b: x.pop(\"last_seen\")
sys.exit(a != b or len(a) != 2)' '$WORK/j1' '$WORK/j2'"
check "cascade agents --server --state, --group" wait_for 10 sh -c \
    "'$CASCADE' agents --server '$BASE' --token '$D/admin.token' --group labs >'$WORK/l3' &&
     grep -q '$POLL' '$WORK/l3' && ! grep -q '$PUSH' '$WORK/l3' &&
     '$CASCADE' agents -d '$D' --group labs | sed 's/ [0-9]*[smhd]  */ AGE /' >'$WORK/l4' &&
     sed 's/ [0-9]*[smhd]  */ AGE /' '$WORK/l3' | cmp - '$WORK/l4'"
check "cascade agents --server group, by an id prefix" sh -c \
    "'$CASCADE' agents --server '$BASE' --token '$D/admin.token' group \
        $(echo "$POLL" | cut -c1-8) default >'$WORK/o' &&
     grep -q \"agent $POLL .* moved to group default\" '$WORK/o'"
check "cascade agents --server notify" sh -c \
    "'$CASCADE' agents --server '$BASE' --token '$D/admin.token' notify $PUSH >'$WORK/o' &&
     grep -q 'asked to sync: pushed to it now' '$WORK/o'"
check "cascade agents --server with a viewer token cannot change" sh -c \
    "! '$CASCADE' agents --server '$BASE' --token '$WORK/viewer' unlicense $POLL \
        2>'$WORK/err' && grep -q '403 forbidden' '$WORK/err'"
check "cascade agents --server with a wrong token fails" sh -c \
    "echo $WRONG >'$WORK/wrong' &&
     ! '$CASCADE' agents --server '$BASE' --token '$WORK/wrong' 2>'$WORK/err' &&
     grep -q '401 token_rejected' '$WORK/err'"
check "cascade agents: -d and --server together is a usage error" sh -c \
    "'$CASCADE' agents -d '$D' --server '$BASE' --token '$D/admin.token' 2>/dev/null;
     test \$? = 2"
check "cascade events --server: the same lines" wait_for 10 sh -c \
    "'$CASCADE' events -d '$D' >'$WORK/e1' &&
     '$CASCADE' events --server '$BASE' --token '$D/admin.token' >'$WORK/e2' &&
     cmp '$WORK/e1' '$WORK/e2' && test -s '$WORK/e1'"
check "cascade events --server --json: the same document, filtered" \
    wait_for 10 sh -c \
    "'$CASCADE' events -d '$D' --json --kind 'agent-*' --agent $POLL >'$WORK/e1' &&
     '$CASCADE' events --server '$BASE' --token '$D/admin.token' --json \
        --kind 'agent-*' --agent $POLL >'$WORK/e2' &&
     cmp '$WORK/e1' '$WORK/e2' &&
     test \"\$(js '$WORK/e1' 'len(d) >= 3 and all(e[\"agent\"] == \"$POLL\" for e in d)')\" = True"
check "cascade events --json with nothing to show: []" sh -c \
    "'$CASCADE' events -d '$D' --json --kind nothing >'$WORK/e1' &&
     '$CASCADE' events --server '$BASE' --token '$D/admin.token' --json \
        --kind nothing >'$WORK/e2' && cmp '$WORK/e1' '$WORK/e2' &&
     test \"\$(cat '$WORK/e1')\" = '[]'"

# ---- agent removal -----------------------------------------------------------------
check "agents: remove is 204" is 204 api "$ADMIN" DELETE "agents/$PUSH"
check "agents: removed, 404" error 404 not_found api "$ADMIN" GET \
    "agents/$PUSH"
check "agents: remove again is 404" error 404 not_found api "$ADMIN" DELETE \
    "agents/$PUSH"

# ---- events ------------------------------------------------------------------------
check "events: the newest, oldest first, each with its fields" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/events?limit=5' >'$WORK/ev' &&
     test \"\$(js '$WORK/ev' 'len(d) == 5 and [e[\"id\"] for e in d] == sorted(e[\"id\"] for e in d)
        and all(set(e) == {\"id\", \"time\", \"kind\", \"channel\", \"agent\", \"detail\"} for e in d)')\" = True"
LAST=$(js "$WORK/ev" 'd[-1]["id"]')
check "events: after an id, none yet" sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/events?after=$LAST')\" = '[]'"
check "events: since a time to come, none" sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/events?since=2999-01-01T00:00:00Z')\" = '[]'"
check "events: bad filters are 400" sh -c \
    "for q in since=yesterday limit=0 limit=1001 after=-1 agent=xyz kind=; do
         test \"\$(curl -s -o /dev/null -w '%{http_code}' \
             -H 'Authorization: Bearer $ADMIN' \"$BASE/v1/admin/events?\$q\")\" = 400 || exit 1
     done"
check "events: the wait ends with [] when nothing comes" sh -c \
    "test \"\$(curl -s -m 10 -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/events?after=$LAST&wait=1')\" = '[]'"
# the live wait: held until an event comes
curl -s -m 40 -H "Authorization: Bearer $ADMIN" \
    "$BASE/v1/admin/events?after=$LAST&wait=30&kind=schedule" >"$WORK/live" &
LIVE=$!
PIDS="$PIDS $LIVE"
T0=$(date +%s)
# an event of another kind does not end the wait (the answer below would
# be [] if it did)
check "events: an event of another kind meanwhile" is 202 api "$ADMIN" POST \
    "agents/$POLL/notify"
check "events: schedules with no upstream: only the rows set" sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/schedules')\" = '[]'"
check "events: ... a schedule set" is 200 api "$ADMIN" PUT \
    schedules/downstream/branch-1 -d '{"schedule": "daily 02:00", "at_startup": false}'
wait "$LIVE"
check "events: the held request answers with it at once" sh -c \
    "test $(( $(date +%s) - T0 )) -lt 25 &&
     test \"\$(js '$WORK/live' 'len(d) == 1 and d[0][\"kind\"] == \"schedule\" and
        \"downstream/branch-1\" in d[0][\"detail\"]')\" = True"
PIDS=$(echo " $PIDS " | sed "s/ $LIVE / /")

# ---- schedules -----------------------------------------------------------------------
check "schedules: the row set is listed" sh -c \
    "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/v1/admin/schedules' >'$WORK/s' &&
     test \"\$(js '$WORK/s' 'd == [{\"target\": \"downstream/branch-1\", \"schedule\": \"daily 02:00\",
        \"at_startup\": False, \"source\": \"override\"}]')\" = True"
check "schedules: one" is 200 api "$ADMIN" GET schedules/downstream/branch-1
check "schedules: a bad schedule is 400" error 400 bad_request api "$ADMIN" \
    PUT schedules/upstream -d '{"schedule": "sometimes"}'
check "schedules: no schedule is 400" error 400 bad_request api "$ADMIN" \
    PUT schedules/upstream -d '{"at_startup": true}'
check "schedules: at_startup not a boolean is 400" error 400 bad_request \
    api "$ADMIN" PUT schedules/upstream -d '{"schedule": "every 5m", "at_startup": "yes"}'
check "schedules: not JSON is 400" error 400 bad_request api "$ADMIN" \
    PUT schedules/upstream -d 'every 5m'
check "schedules: a bad target is 404" error 404 not_found api "$ADMIN" \
    PUT schedules/elsewhere -d '{"schedule": "every 5m"}'
check "schedules: a downstream name no server can have is 404" error 404 \
    not_found api "$ADMIN" PUT schedules/downstream/Branch-1 \
    -d '{"schedule": "every 5m"}'
check "schedules: a viewer cannot set one (403), nothing changes" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
        -H 'Authorization: Bearer $VIEWER' -d '{\"schedule\": \"every 5m\"}' \
        '$BASE/v1/admin/schedules/downstream/branch-1')\" = 403 &&
     curl -s -H 'Authorization: Bearer $ADMIN' \
        '$BASE/v1/admin/schedules/downstream/branch-1' | grep -q 'daily 02:00'"
check "schedules: delete is 204" is 204 api "$ADMIN" DELETE \
    schedules/downstream/branch-1
check "schedules: deleted, 404" error 404 not_found api "$ADMIN" DELETE \
    schedules/downstream/branch-1
check "a body over 64 KiB is 413" error 413 payload_too_large api "$ADMIN" \
    PUT schedules/upstream --data-binary @"$WORK/big"

# ---- tokens at run time -------------------------------------------------------------
check "a token created while serving works at once" sh -c \
    "'$CASCADE' token create -d '$D' late >'$WORK/late' &&
     test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H \"Authorization: Bearer \$(cat '$WORK/late')\" '$BASE/v1/admin/summary')\" = 200"
check "a revoked token is refused at once" sh -c \
    "'$CASCADE' token revoke -d '$D' late >/dev/null &&
     test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H \"Authorization: Bearer \$(cat '$WORK/late')\" '$BASE/v1/admin/summary')\" = 401"
check "revoking an unknown token fails" sh -c \
    "! '$CASCADE' token revoke -d '$D' late 2>/dev/null"
check "token list --json" sh -c \
    "'$CASCADE' token list -d '$D' --json >'$WORK/t' &&
     test \"\$(js '$WORK/t' '[(t[\"name\"], t[\"role\"]) for t in d] == [(\"admin\", \"admin\"), (\"ops\", \"viewer\")]')\" = True"
check "server stops cleanly" stop_server

# a data directory without a token gets one when served
"$CASCADE" token revoke -d "$D" admin >/dev/null
"$CASCADE" token revoke -d "$D" ops >/dev/null
rm -f "$D/admin.token"
check "a server with no token makes 'admin' and DIR/admin.token" \
    start_server "$D"
check "... and says so" grep -q "made the admin token 'admin'" \
    "$WORK/server.log"
check "... and records it" sh -c \
    "'$CASCADE' events -d '$D' --kind token | tail -1 |
        grep -q \"token 'admin' created, role admin, by the server\""
check "... the new token works" sh -c \
    "test \"\$(stat -c %a '$D/admin.token')\" = 600 &&
     test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H \"Authorization: Bearer \$(cat '$D/admin.token')\" '$BASE/v1/admin/summary')\" = 200"
check "... the old one does not" is 401 api "$ADMIN" GET summary
ADMIN=$(cat "$D/admin.token")
check "server stops cleanly (2)" stop_server

# ---- a mirror: sync now, and its schedule ---------------------------------------------
M="$WORK/mirror"
check "origin serves" serve_bg origin "$D"
mirror_conf "$M" "$origin_URL" "$D/keys/main.pub" "sync_at_startup = no\n"
MTOK=$(cat "$M/admin.token")
check "mirror serves" start_server "$M"
check "summary: the upstream" sh -c \
    "curl -s -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/summary' >'$WORK/ms' &&
     test \"\$(js '$WORK/ms' 'd[\"upstream\"][\"url\"] == \"$origin_URL\" and
        set(d[\"upstream\"]) == {\"url\", \"last_sync\", \"last_result\", \"behind\",
        \"running\"}')\" = True"
check "schedules: a mirror lists its configured upstream schedule" sh -c \
    "curl -s -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/schedules' >'$WORK/s' &&
     test \"\$(js '$WORK/s' 'd == [{\"target\": \"upstream\", \"schedule\": \"every 1h\",
        \"at_startup\": False, \"source\": \"configured\"}]')\" = True"
check "sync: 202, queued" sh -c \
    "test \"\$(curl -s -o '$WORK/q' -w '%{http_code}' -X POST \
        -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/sync')\" = 202 &&
     test \"\$(js '$WORK/q' 'd == {\"queued\": True}')\" = True"
check "sync: it runs, asked by the token" wait_for 20 sh -c \
    "curl -s -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/events?kind=sync-*' |
        grep -q \"sync-done\" &&
     curl -s -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/events?kind=sync-start' |
        grep -q \"requested by admin token 'admin'\""
check "sync: the mirror holds the origin's object" sh -c \
    "curl -sf -o '$WORK/m.obj' '$BASE/v1/objects/$(sha256 "$WORK/p2.db")' &&
     cmp -s '$WORK/m.obj' '$WORK/p2.db'"
check "summary: synced, ok, not behind" sh -c \
    "curl -s -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/summary' >'$WORK/ms' &&
     test \"\$(js '$WORK/ms' 'd[\"upstream\"][\"last_result\"] == \"ok\" and
        d[\"upstream\"][\"behind\"] == 0 and d[\"upstream\"][\"last_sync\"] is not None and
        [c[\"name\"] for c in d[\"channels\"]] == [\"main\"]')\" = True"
check "cascade sync --now --server --json" sh -c \
    "'$CASCADE' sync --now --server '$BASE' --token '$M/admin.token' --json >'$WORK/q' &&
     test \"\$(cat '$WORK/q')\" = '{\"queued\": true}'"
check "cascade sync --now --server" sh -c \
    "'$CASCADE' sync --now --server '$BASE' --token '$M/admin.token' |
        grep -q 'sync requested from the server at'"
check "schedules: the upstream's overridden" sh -c \
    "test \"\$(curl -s -o '$WORK/s' -w '%{http_code}' -X PUT \
        -H 'Authorization: Bearer $MTOK' -d '{\"schedule\": \"every 2s\", \"at_startup\": false}' \
        '$BASE/v1/admin/schedules/upstream')\" = 200 &&
     test \"\$(js '$WORK/s' 'd[\"schedule\"] == \"every 2s\" and d[\"source\"] == \"override\"')\" = True &&
     curl -s -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/schedules' >'$WORK/s' &&
     test \"\$(js '$WORK/s' 'len(d) == 1 and d[0][\"schedule\"] == \"every 2s\"')\" = True"
# the mirror's threads start again on SIGHUP, and read the schedule then
kill -HUP "$SERVER_PID"
check "schedules: the mirror syncs on the schedule set" wait_for 30 sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $MTOK' \
        '$BASE/v1/admin/events?kind=sync-start' | grep -c '(schedule)')\" -ge 2"
check "schedules: delete: back to the configured one" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
        -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/schedules/upstream')\" = 204 &&
     curl -s -H 'Authorization: Bearer $MTOK' '$BASE/v1/admin/schedules' |
        grep -q '\"source\": \"configured\"'"
check "mirror stops cleanly" stop_server
check "origin stops cleanly" stop_bg origin
exit $FAILED
