# The agents' endpoints on a running server, with curl: enrolment on an
# open server and with licenses (auto_license yes and no), status
# reports, policies, every refusal (no token, a wrong one, an unknown
# agent, a pending agent downloading, a body too large, bad JSON), and
# `cascade agents` with license, group and remove taking effect at once.
. "$(dirname "$0")/lib.sh"

D="$WORK/var"
"$CASCADE" init -d "$D" >/dev/null
cat >>"$D/cascade.conf" <<'EOF'

[group labs]
schedule = every 10m
components = virus-pattern
post_update = /usr/bin/true
EOF
make_db 2000 1 >"$WORK/p1.db"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/p1.db" >/dev/null 2>&1
P1=$(sha256 "$WORK/p1.db")

# enrol DOC: POST /v1/agents; the body in $WORK/enrolled, the status out.
enrol() {
	curl -s -o "$WORK/enrolled" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' --data-binary "$1" \
	    "$BASE/v1/agents"
}
field() { sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" "$2"; }
# as_agent ID TOKEN URL [CURL ARGS...]: the status of a request with the
# agent's credentials.
as_agent() {
	id=$1 tok=$2 url=$3
	shift 3
	curl -s -o "$WORK/body" -w '%{http_code}' -H "X-Cascade-Agent: $id" \
	    -H "Authorization: Bearer $tok" "$@" "$url"
}
status_doc() {	# status_doc VERSION RESULT MESSAGE
	printf '{"hostname": "ws-1", "agent_version": "0.4.0", "notify": "http://[::]:9137/v1/notify", "result": "%s", "message": "%s", "group": "default", "installed": [{"name": "virus-pattern", "version": %s, "sha256": "%s"}]}' \
	    "$2" "$3" "$1" "$P1"
}
report() {	# report ID TOKEN DOC
	as_agent "$1" "$2" "$BASE/v1/agents/$1/status" -X PUT \
	    -H 'Content-Type: application/json' --data-binary "$3"
}
# is CODE COMMAND...: the command prints CODE (an HTTP status).
is() {
	want=$1
	shift
	test "$("$@")" = "$want"
}
# has PATTERN [FILE]: grep in the last body (or FILE).
has() { grep -q -- "$1" "${2:-$WORK/body}"; }
# state_is ID STATE [TEXT]: `cascade agents` shows the agent so.
state_is() {
	"$CASCADE" agents -d "$D" >"$WORK/list" || return 1
	grep "^$1 " "$WORK/list" | grep " $2 " | grep -q -- "${3:-}"
}

check "server starts" start_server "$D"

# ---- an open server: anyone enrols, licensed at once -------------------
check "open: enrol without a key is 201" test \
    "$(enrol '{"hostname": "ws-1"}')" = 201
ID=$(field id "$WORK/enrolled")
TOK=$(field token "$WORK/enrolled")
check "open: the answer holds an id, a token, licensed, the default group" \
    sh -c "echo '$ID' | grep -qE '^[0-9a-f]{32}\$' &&
        echo '$TOK' | grep -qE '^[0-9a-f]{64}\$' &&
        grep -q '\"state\": \"licensed\"' '$WORK/enrolled' &&
        grep -q '\"group\": \"default\"' '$WORK/enrolled'"
curl -s -D "$WORK/h" -o /dev/null -X POST --data-binary \
    '{"hostname": "ws-9"}' "$BASE/v1/agents"
check "open: the enrolment answer is not cached" grep -qi \
    '^Cache-Control: no-store' "$WORK/h"
check "open: a configured group is granted" sh -c \
    "test \"\$(curl -s -o '$WORK/lab' -w '%{http_code}' -X POST \
        --data-binary '{\"hostname\": \"lab-1\", \"group\": \"labs\"}' \
        '$BASE/v1/agents')\" = 201 && grep -q '\"group\": \"labs\"' \
        '$WORK/lab'"
LAB=$(field id "$WORK/lab")
LABTOK=$(field token "$WORK/lab")

check "status report is 204" test \
    "$(report "$ID" "$TOK" "$(status_doc 1 ok '')")" = 204
t() {
	is 200 as_agent "$ID" "$TOK" "$BASE/v1/agents/$ID/policy" &&
	    has '"group": "default"' && has '"state": "licensed"'
}
check "policy is 200 with the group and state" t
t() {
	is 200 as_agent "$LAB" "$LABTOK" "$BASE/v1/agents/$LAB/policy" &&
	    has '"schedule": "every 10m"' &&
	    has '"post_update": "/usr/bin/true"' && ! has '"window"'
}
check "policy of a group: the keys its section sets" t
check "cascade agents: the reporting agent is current" state_is "$ID" current
check "cascade agents: one that never reported is licensed" \
    state_is "$LAB" licensed
check "the wildcard notify host became the peer's address" sh -c \
    "'$CASCADE' agents -d '$D' --json | grep -q \
        '\"notify_url\": \"http://127.0.0.1:9137/v1/notify\"'"

# refusals
curl -s -D "$WORK/h" -o "$WORK/b" "$BASE/v1/agents/$ID/policy"
check "no credentials: 401 agent_required with WWW-Authenticate: Bearer" \
    sh -c "head -1 '$WORK/h' | grep -q ' 401' &&
        grep -qi '^WWW-Authenticate: Bearer' '$WORK/h' &&
        grep -q '\"error\": \"agent_required\"' '$WORK/b'"
t() {
	is 401 as_agent "$ID" "$LABTOK" "$BASE/v1/agents/$ID/policy" &&
	    has agent_rejected
}
check "a wrong token: 401 agent_rejected" t
check "another agent's id in the header: 401" test \
    "$(as_agent "$LAB" "$TOK" "$BASE/v1/agents/$ID/policy")" = 401
check "an unknown id: 401" test "$(as_agent \
    0123456789abcdef0123456789abcdef "$TOK" \
    "$BASE/v1/agents/0123456789abcdef0123456789abcdef/policy")" = 401
check "a malformed Authorization: 401" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -H "Authorization: Basic $TOK" \
    "$BASE/v1/agents/$ID/policy")" = 401
check "a report without credentials: 401" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -X PUT --data-binary "$(status_doc 1 ok '')" \
    "$BASE/v1/agents/$ID/status")" = 401
t() {
	is 400 enrol '{"hostname": ' &&
	    has '"error": "bad_request"' "$WORK/enrolled"
}
check "bad JSON enrolment: 400" t
check "a bad status report: 400" test \
    "$(report "$ID" "$TOK" '{"hostname": "x"}')" = 400
{ printf '{"hostname": "'; head -c 70000 /dev/zero | tr '\0' a;
    printf '"}'; } >"$WORK/big"
check "an enrolment over 64 KiB: 413" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -X POST --data-binary @"$WORK/big" \
    "$BASE/v1/agents")" = 413
check "a report over 64 KiB: 413" test "$(as_agent "$ID" "$TOK" \
    "$BASE/v1/agents/$ID/status" -X PUT --data-binary @"$WORK/big")" = 413
check "GET /v1/agents: 405" test "$(status "$BASE/v1/agents")" = 405
check "POST to a policy: 405" test "$(as_agent "$ID" "$TOK" \
    "$BASE/v1/agents/$ID/policy" -X POST --data-binary '{}')" = 405
check "an unknown agent resource: 404" test \
    "$(status "$BASE/v1/agents/$ID/frob")" = 404

# a failure is shown, and recorded once however often it is reported
report "$ID" "$TOK" "$(status_doc 1 failed 'disk full')" >/dev/null
report "$ID" "$TOK" "$(status_doc 1 failed 'disk full')" >/dev/null
check "cascade agents: failed, with the message" \
    state_is "$ID" failed 'disk full'
check "cascade events: agent events name the agent, once per change" sh -c \
    "'$CASCADE' events -d '$D' >'$WORK/ev' &&
        grep -q \"agent-enrolled $ID licensed from 127.0.0.1 as 'ws-1'\" \
            '$WORK/ev' &&
        test \"\$(grep -c \"agent-report $ID failed: disk full\" \
            '$WORK/ev')\" = 1"

# behind: a new version published, the agent still on the old one
make_db 2000 2 >"$WORK/p2.db"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/p2.db" >/dev/null 2>&1
report "$ID" "$TOK" "$(status_doc 1 ok '')" >/dev/null
check "cascade agents: behind, saying what" \
    state_is "$ID" behind 'virus-pattern 1 < 2'

# ---- with licenses --------------------------------------------------------
KEY=AGENTS-KEY-0001
check "license add" "$CASCADE" license add -d "$D" "$KEY" --edition standard
check "licensing on: an anonymous object is 401" wait_for 5 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        '$BASE/v1/objects/$P1')\" = 401"
check "an agent enrolled while open receives nothing now" test \
    "$(as_agent "$ID" "$TOK" "$BASE/v1/objects/$P1")" = 403
t() {
	is 401 enrol '{"hostname": "ws-2"}' &&
	    has license_required "$WORK/enrolled"
}
check "licensed: enrol without a key is 401 license_required" t
t() {
	is 403 enrol '{"hostname": "ws-2", "enroll_key": "AGENTS-KEY-0002"}' &&
	    has license_rejected "$WORK/enrolled"
}
check "licensed: an unknown key is 403 license_rejected" t
t() {
	is 201 enrol "{\"hostname\": \"ws-2\", \"enroll_key\": \"$KEY\"}" &&
	    has '"state": "licensed"' "$WORK/enrolled"
}
check "licensed: a license key enrols, licensed at once (auto_license)" t
ID2=$(field id "$WORK/enrolled")
TOK2=$(field token "$WORK/enrolled")
check "the new agent downloads an object" wait_for 5 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H 'X-Cascade-Agent: $ID2' -H 'Authorization: Bearer $TOK2' \
        '$BASE/v1/objects/$P1')\" = 200"
check "... not with a wrong token" test \
    "$(as_agent "$ID2" "$TOK" "$BASE/v1/objects/$P1")" = 401

# auto_license = no: pending until licensed by hand
check "server stops" stop_server
printf '[agents]\nauto_license = no\n' >>"$D/cascade.conf"
check "server starts again" start_server "$D"
t() {
	is 201 enrol "{\"hostname\": \"ws-3\", \"enroll_key\": \"$KEY\"}" &&
	    has '"state": "pending"' "$WORK/enrolled"
}
check "auto_license = no: enrolled pending" t
ID3=$(field id "$WORK/enrolled")
TOK3=$(field token "$WORK/enrolled")
t() {
	is 403 as_agent "$ID3" "$TOK3" "$BASE/v1/objects/$P1" &&
	    has agent_pending
}
# (within the server's reload of its credentials, a tick)
check "a pending agent downloading an object: 403 agent_pending" \
    wait_for 5 t
t() {
	is 204 report "$ID3" "$TOK3" "$(status_doc 1 ok '')" &&
	    is 200 as_agent "$ID3" "$TOK3" "$BASE/v1/agents/$ID3/policy" &&
	    has '"state": "pending"'
}
check "a pending agent reports and reads its policy" t
check "cascade agents: pending" state_is "$ID3" pending
check "cascade agents license (by a prefix of the id)" "$CASCADE" agents \
    -d "$D" license "$(echo "$ID3" | cut -c1-10)"
check "licensed by hand: it downloads within a second or so" wait_for 5 \
    sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H 'X-Cascade-Agent: $ID3' -H 'Authorization: Bearer $TOK3' \
        '$BASE/v1/objects/$P1')\" = 200"
t() {
	"$CASCADE" agents -d "$D" unlicense "$ID3" >/dev/null &&
	    state_is "$ID3" pending
}
check "cascade agents unlicense: pending again" t
check "... and 403 again" wait_for 5 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H 'X-Cascade-Agent: $ID3' -H 'Authorization: Bearer $TOK3' \
        '$BASE/v1/objects/$P1')\" = 403"

# groups
check "cascade agents group: to a configured group" "$CASCADE" agents \
    -d "$D" group "$ID2" labs
t() {
	is 200 as_agent "$ID2" "$TOK2" "$BASE/v1/agents/$ID2/policy" &&
	    has '"group": "labs"' && has '"schedule": "every 10m"'
}
check "the policy follows at once" t
t() {
	is 204 report "$ID2" "$TOK2" "$(status_doc 2 ok '')" &&
	    state_is "$ID2" diverged 'reports group default, assigned labs'
}
check "until it reports its new group, it is diverged" t
check "cascade agents group: an unknown group is refused" sh -c \
    "! '$CASCADE' agents -d '$D' group '$ID2' nope 2>'$WORK/err' &&
        grep -q \"no group 'nope'\" '$WORK/err'"
check "cascade agents group: the default group is always there" \
    "$CASCADE" agents -d "$D" group "$ID2" default

# remove
check "cascade agents remove" "$CASCADE" agents -d "$D" remove "$ID2"
check "a removed agent's report: 401" test \
    "$(report "$ID2" "$TOK2" "$(status_doc 2 ok '')")" = 401
check "a removed agent's download: 401" wait_for 5 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H 'X-Cascade-Agent: $ID2' -H 'Authorization: Bearer $TOK2' \
        '$BASE/v1/objects/$P1')\" = 401"
check "cascade agents: an unknown id is an error" sh -c \
    "! '$CASCADE' agents -d '$D' remove '$ID2' 2>'$WORK/err' &&
        grep -q 'no agent' '$WORK/err'"
check "cascade agents: a bad command is a usage error (2)" sh -c \
    "'$CASCADE' agents -d '$D' frob 2>/dev/null; test \$? = 2"
t() {
	"$CASCADE" agents -d "$D" --json >"$WORK/json" &&
	    test "$(head -c1 "$WORK/json")" = "[" &&
	    has "\"id\": \"$ID3\"" "$WORK/json"
}
check "cascade agents --json is one JSON array" t
if command -v python3 >/dev/null 2>&1; then
	check "... that parses" python3 -c \
	    "import json,sys; json.load(open(sys.argv[1]))" "$WORK/json"
fi

"$CASCADE" agents -d "$D" >&2; "$CASCADE" agents -d "$D" --json >&2; "$CASCADE" events -d "$D" >&2
check "server stops cleanly" stop_server
exit $FAILED
