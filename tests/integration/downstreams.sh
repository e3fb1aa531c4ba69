# Downstream servers: an origin and two mirrors below it, each its own
# process. Both report their inventories after syncing; the origin's file
# status report (CLI and admin API) lists what a stopped mirror misses
# after a publish, with the versions it holds and should hold; "run now"
# (admin API, or the CLI while the mirror is away) makes a mirror sync at
# once, whatever its schedule; a schedule set for a downstream at the
# origin is applied by it; the inventory endpoint and the admin endpoints
# refuse what they should.
. "$(dirname "$0")/lib.sh"

O="$WORK/origin"
"$CASCADE" init -d "$O" >/dev/null
ADMIN=$(cat "$O/admin.token")
VIEWER=$("$CASCADE" token create -d "$O" watcher --role viewer)
# api TOKEN METHOD PATH [CURL ARGS...]: the status of an admin request to
# the origin ($ORIGIN); its body in $WORK/body. A command, so that `sh -c`
# finds it too.
mkdir "$WORK/bin"
cat >"$WORK/bin/api" <<'EOF'
#!/bin/sh
tok=$1 m=$2 p=$3
shift 3
exec curl -s -o "$WORK/body" -w '%{http_code}' -X "$m" \
    -H "Authorization: Bearer $tok" "$@" "${ORIGIN}v1/admin/$p"
EOF
chmod +x "$WORK/bin/api"
PATH="$WORK/bin:$PATH"
export PATH WORK
make_db 2000 1 >"$WORK/v1.db"
(cat "$WORK/v1.db"; make_db 100 2) >"$WORK/v2.db"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
"$CASCADE" publish -d "$O" scan-engine "$WORK/v1.db" --kind engine \
    >/dev/null 2>&1
check "origin serves" serve_bg origin "$O"
ORIGIN=$origin_URL
export ORIGIN

A="$WORK/a"
B="$WORK/b"
mirror_conf "$A" "$origin_URL" "$O/keys/main.pub" "downstream_name = branch-a\n"
mirror_conf "$B" "$origin_URL" "$O/keys/main.pub" "downstream_name = branch-b\n"
check "first mirror starts" serve_bg a "$A"
check "second mirror starts" serve_bg b "$B"

check "both report after syncing, and are current" wait_for 20 sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep -q '\"name\": \"branch-a\".*\"state\": \"current\"' &&
     '$CASCADE' downstreams -d '$O' --json | grep -q '\"name\": \"branch-b\".*\"state\": \"current\"'"
check "an inventory names the channels and what is held" sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-a\"' |
     grep -q '\"address\": \"127.0.0.1\".*\"channels\": {\"main\": 2}.*\"components\": 2, \"missing\": 0, \"outdated\": 0'"
"$CASCADE" report files -d "$O" >"$WORK/report.txt" 2>&1
check "the report lists nothing missing" sh -c \
    "! grep -Eq 'missing\$|outdated\$' '$WORK/report.txt' &&
     grep -q '^2 downstreams: 2 current, 0 behind, 0 offline' '$WORK/report.txt'"
check "nor does its JSON" test "$("$CASCADE" report files -d "$O" --json)" = "[]"
check "the admin API lists both, as the CLI does" sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $VIEWER' '${origin_URL}v1/admin/downstreams')\" = \
     \"\$('$CASCADE' downstreams -d '$O' --json)\""
check "the summary counts them" sh -c \
    "curl -s -H 'Authorization: Bearer $VIEWER' '${origin_URL}v1/admin/summary' |
     grep -q '\"downstreams\": {\"total\": 2, \"current\": 2, \"behind\": 0, \"offline\": 0}'"
# regression: two components with the same bytes (both v1.db) were
# downloaded twice into one partial file, and the first pass refused
check "two components with the same bytes sync in one pass" sh -c \
    "! '$CASCADE' events -d '$A' | grep -q 'sync-refused'"
check "a report is recorded once, not at every pass" test \
    "$("$CASCADE" events -d "$O" | grep -c 'downstream-report.*branch-a')" = 1

# a stopped mirror misses a publish: the report says what, held and should
check "the second mirror stops" stop_bg b
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v2.db" >/dev/null 2>&1
check "the running mirror takes the publish and reports it" wait_for 20 \
    sh -c "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-a\"' |
     grep -q '\"main\": 3}.*\"state\": \"current\"'"
"$CASCADE" report files -d "$O" >"$WORK/report.txt" 2>&1
check "the report shows the stopped one out of date, held and should" \
    grep -Eq '^  virus-pattern +main +held 1 +should 2 +outdated$' \
    "$WORK/report.txt"
check "and it behind, the other current" sh -c \
    "grep -q '^downstream branch-b (127.0.0.1): behind, .*1 outdated' '$WORK/report.txt' &&
     grep -q '^downstream branch-a (127.0.0.1): current' '$WORK/report.txt' &&
     ! grep -q 'scan-engine' '$WORK/report.txt'"
check "the JSON report has the same row" test \
    "$("$CASCADE" report files -d "$O" --json)" = \
    '[{"downstream": "branch-b", "component": "virus-pattern", "channel": "main", "held": 1, "should": 2, "status": "outdated"}]'
check "one downstream's rows" test \
    "$("$CASCADE" report files -d "$O" --json --downstream branch-a)" = "[]"
check "the admin API's report is the same" sh -c \
    "test \"\$(curl -s -H 'Authorization: Bearer $VIEWER' '${origin_URL}v1/admin/reports/files')\" = \
     \"\$('$CASCADE' report files -d '$O' --json)\""
check "one downstream by the admin API, with its files" sh -c \
    "test \"\$(api '$VIEWER' GET downstreams/branch-b)\" = 200 &&
     grep -q '\"state\": \"behind\", \"reason\": \"0 missing, 1 outdated\", \"files\": \[{\"downstream\": \"branch-b\", \"component\": \"virus-pattern\"' '$WORK/body'"
check "an unknown one is 404" test "$(api "$VIEWER" GET downstreams/nobody)" = 404
check "without a token, 401" test "$(curl -s -o /dev/null -w '%{http_code}' \
    "${origin_URL}v1/admin/reports/files")" = 401

# run now, asked while the mirror is away: its next long-poll is answered
# at once (and takes the request), the one after is held again
check "run now for a downstream" "$CASCADE" downstreams -d "$O" run branch-b
check "it shows as requested" sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-b\"' |
     grep -q '\"run_requested\": \"20'"
check "a long-poll of that downstream is answered at once" test \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -H 'X-Cascade-Downstream: branch-b' \
    "${origin_URL}v1/events?since=999999&wait=30")" = 200
check "once" test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    -H 'X-Cascade-Downstream: branch-b' \
    "${origin_URL}v1/events?since=999999&wait=1")" = 204
check "a bad downstream name on a long-poll is refused" test \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Cascade-Downstream: B!' \
    "${origin_URL}v1/events?since=999999&wait=1")" = 400

# run now for a running mirror whose schedule is far off (every 60m) and
# whose serial has not moved: its held long-poll is answered, it syncs
before=$("$CASCADE" events -d "$A" | grep -c 'sync-start')
check "a viewer may not ask for a run" test \
    "$(api "$VIEWER" POST downstreams/branch-a/sync)" = 403
check "and nothing was asked" sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-a\"' |
     grep -q '\"run_requested\": null'"
check "run now for the running mirror, by the admin API" sh -c \
    "test \"\$(api '$ADMIN' POST downstreams/branch-a/sync)\" = 202 &&
     test \"\$(cat '$WORK/body')\" = '{\"queued\": true}'"
check "it syncs at once" wait_for 15 sh -c \
    "'$CASCADE' events -d '$A' | grep -q 'sync-start.*(upstream asked for a sync now)'"
check "once" test "$("$CASCADE" events -d "$A" | grep -c 'sync-start')" = \
    "$((before + 1))"
check "and the request is taken" wait_for 10 sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-a\"' |
     grep -q '\"run_requested\": null'"

check "the event names the token" sh -c \
    "'$CASCADE' events -d '$O' | grep -q \"downstream-run - branch-a: run now asked by admin token 'admin'\""

# a schedule set at the origin is handed to the downstream and applied
check "a schedule for a downstream, by the admin API" test "$(api "$ADMIN" \
    PUT schedules/downstream/branch-a -H 'Content-Type: application/json' \
    -d '{"schedule": "every 2h", "at_startup": true}')" = 200
check "its own schedule until it reports again" sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^schedule every 1h, and at start-up (\[upstream\] schedule)'"
api "$ADMIN" POST downstreams/branch-a/sync >/dev/null
check "applied by the downstream after its next pass" wait_for 15 sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^schedule every 2h, and at start-up (set by the upstream)'"
check "and logged" grep -q "the upstream sets this mirror's schedule: every 2h" \
    "$WORK/a.log"
check "the origin lists it" sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-a\"' |
     grep -q '\"schedule\": \"every 2h\", \"at_startup\": true'"
check "the mirror names itself and its last report" sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^downstream name branch-a, inventory last reported 20'"
api "$ADMIN" DELETE schedules/downstream/branch-a >/dev/null
"$CASCADE" downstreams -d "$O" run branch-a >/dev/null
check "back to its own once the origin sets none" wait_for 15 sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^schedule every 1h, and at start-up (\[upstream\] schedule)'"
check "the command line sets one too" sh -c \
    "'$CASCADE' downstreams -d '$O' schedule branch-a 'daily 02:30' >/dev/null &&
     curl -s -H 'Authorization: Bearer $VIEWER' '${origin_URL}v1/admin/schedules' |
     grep -q '\"target\": \"downstream/branch-a\", \"schedule\": \"daily 02:30\", \"at_startup\": false'"
"$CASCADE" downstreams -d "$O" schedule branch-a none >/dev/null

# the stopped mirror comes back: it syncs at start-up and is current
check "the second mirror starts again" serve_bg b "$B"
check "it reports, and the report is empty" wait_for 20 sh -c \
    "test \"\$('$CASCADE' report files -d '$O' --json)\" = '[]' &&
     '$CASCADE' downstreams -d '$O' --json | grep '\"branch-b\"' | grep -q '\"state\": \"current\"'"

# the endpoint: methods, documents, names, sizes
H1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
inv() {
	printf '{"name": "%s", "channels": {"main": 1}, "components": [{"channel": "main", "name": "virus-pattern", "version": 1, "sha256": "%s"}]}' "$1" "$H1"
}
put() {
	curl -s -o "$WORK/put.out" -w '%{http_code}' -X PUT \
	    -H 'Content-Type: application/json' "$@"
}
inv lab-1 >"$WORK/inv.json"
check "a report by hand is answered with the schedule" test \
    "$(curl -s -X PUT --data-binary @"$WORK/inv.json" \
    "${origin_URL}v1/downstreams/lab-1/inventory")" = \
    '{"schedule": null, "at_startup": false}'
check "and the report shows what it misses" sh -c \
    "'$CASCADE' report files -d '$O' --json --downstream lab-1 |
     grep -q '\"component\": \"virus-pattern\", \"channel\": \"main\", \"held\": 1, \"should\": 2, \"status\": \"outdated\"'"
check "the other component of its channel is missing" sh -c \
    "'$CASCADE' report files -d '$O' --json --downstream lab-1 |
     grep -q '\"component\": \"scan-engine\", \"channel\": \"main\", \"held\": null, \"should\": 1, \"status\": \"missing\"'"
check "an inventory of another name is refused" test \
    "$(put --data-binary @"$WORK/inv.json" "${origin_URL}v1/downstreams/lab-2/inventory")" = 400
check "a bad downstream name is refused" test \
    "$(put --data-binary @"$WORK/inv.json" "${origin_URL}v1/downstreams/Lab-1/inventory")" = 400
check "a bad document is refused, with why" sh -c \
    "test \"\$(printf '{\"name\": \"lab-1\"}' | curl -s -o '$WORK/put.out' -w '%{http_code}' -X PUT --data-binary @- '${origin_URL}v1/downstreams/lab-1/inventory')\" = 400 &&
     grep -q 'channels' '$WORK/put.out'"
check "GET is not the method" test \
    "$(status "${origin_URL}v1/downstreams/lab-1/inventory")" = 405
head -c 70000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
check "a body over 64 KiB is refused" test \
    "$(put --data-binary @"$WORK/big.json" "${origin_URL}v1/downstreams/lab-1/inventory")" = 413
check "a viewer may not remove a downstream" test \
    "$(api "$VIEWER" DELETE downstreams/lab-1)" = 403
check "remove a downstream, by the admin API" test \
    "$(api "$ADMIN" DELETE downstreams/lab-1)" = 204
check "it is gone" sh -c "! '$CASCADE' downstreams -d '$O' | grep -q '^lab-1 '"
check "an unknown one cannot be removed" sh -c \
    "test \"\$(api '$ADMIN' DELETE downstreams/lab-1)\" = 404 &&
     ! '$CASCADE' downstreams -d '$O' remove lab-1 2>/dev/null"
check "the command line removes one too" sh -c \
    "curl -s -o /dev/null -X PUT --data-binary @'$WORK/inv.json' '${origin_URL}v1/downstreams/lab-1/inventory' &&
     '$CASCADE' downstreams -d '$O' remove lab-1 >/dev/null &&
     ! '$CASCADE' downstreams -d '$O' | grep -q '^lab-1 '"

# with licenses, a report needs one, like everything a mirror fetches
"$CASCADE" license add -d "$O" KEY-DOWN-1 --edition standard >/dev/null 2>&1
check "with licenses, a report without one is refused" wait_for 10 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @'$WORK/inv.json' '${origin_URL}v1/downstreams/lab-1/inventory')\" = 401"
check "with a license it is taken, with its edition" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'X-Cascade-License: KEY-DOWN-1' --data-binary @'$WORK/inv.json' '${origin_URL}v1/downstreams/lab-1/inventory')\" = 200 &&
     '$CASCADE' downstreams -d '$O' --json | grep '\"lab-1\"' | grep -q '\"edition\": \"standard\"'"

# docs/openapi.yaml documents these endpoints
check "docs/openapi.yaml documents the downstreams' endpoints" python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
want = """put /v1/downstreams/{name}/inventory get /v1/admin/downstreams
get /v1/admin/downstreams/{name} delete /v1/admin/downstreams/{name}
post /v1/admin/downstreams/{name}/sync get /v1/admin/reports/files""".split()
for m, p in zip(want[0::2], want[1::2]):
    assert m in d["paths"][p], (m, p)
' "$(dirname "$0")/../../docs/openapi.yaml"

check "the first mirror stops cleanly" stop_bg a
check "the second mirror stops cleanly" stop_bg b
check "the origin stops cleanly" stop_bg origin
exit $FAILED
