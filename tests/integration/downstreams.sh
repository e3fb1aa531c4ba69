# Downstream servers: an origin and two mirrors below it, each its own
# process. Both report their inventories after syncing; the origin's file
# status report lists what a stopped mirror misses after a publish, with
# the versions it holds and should hold; "run now" makes a mirror sync at
# once, whatever its schedule; a schedule set for a downstream at the
# origin is applied by it; the inventory endpoint refuses what it should.
. "$(dirname "$0")/lib.sh"

O="$WORK/origin"
"$CASCADE" init -d "$O" >/dev/null
make_db 2000 1 >"$WORK/v1.db"
(cat "$WORK/v1.db"; make_db 100 2) >"$WORK/v2.db"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
"$CASCADE" publish -d "$O" scan-engine "$WORK/v1.db" --kind engine \
    >/dev/null 2>&1
check "origin serves" serve_bg origin "$O"

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
check "run now for the running mirror" "$CASCADE" downstreams -d "$O" run branch-a
check "it syncs at once" wait_for 15 sh -c \
    "'$CASCADE' events -d '$A' | grep -q 'sync-start.*(upstream asked for a sync now)'"
check "once" test "$("$CASCADE" events -d "$A" | grep -c 'sync-start')" = \
    "$((before + 1))"
check "and the request is taken" wait_for 10 sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-a\"' |
     grep -q '\"run_requested\": null'"

# a schedule set at the origin is handed to the downstream and applied
check "a schedule for a downstream" "$CASCADE" downstreams -d "$O" \
    schedule branch-a "every 2h" --at-startup
check "its own schedule until it reports again" sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^schedule every 1h, and at start-up (\[upstream\] schedule)'"
"$CASCADE" downstreams -d "$O" run branch-a >/dev/null
check "applied by the downstream after its next pass" wait_for 15 sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^schedule every 2h, and at start-up (set by the upstream)'"
check "and logged" grep -q "the upstream sets this mirror's schedule: every 2h" \
    "$WORK/a.log"
check "the origin lists it" sh -c \
    "'$CASCADE' downstreams -d '$O' --json | grep '\"branch-a\"' |
     grep -q '\"schedule\": \"every 2h\", \"at_startup\": true'"
check "the mirror names itself and its last report" sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^downstream name branch-a, inventory last reported 20'"
"$CASCADE" downstreams -d "$O" schedule branch-a none >/dev/null
"$CASCADE" downstreams -d "$O" run branch-a >/dev/null
check "back to its own once the origin sets none" wait_for 15 sh -c \
    "'$CASCADE' status -d '$A' | grep -q '^schedule every 1h, and at start-up (\[upstream\] schedule)'"

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
check "remove a downstream" "$CASCADE" downstreams -d "$O" remove lab-1
check "it is gone" sh -c "! '$CASCADE' downstreams -d '$O' | grep -q '^lab-1 '"
check "an unknown one cannot be removed" sh -c \
    "! '$CASCADE' downstreams -d '$O' remove lab-1 2>/dev/null"

# with licenses, a report needs one, like everything a mirror fetches
"$CASCADE" license add -d "$O" KEY-DOWN-1 --edition standard >/dev/null 2>&1
check "with licenses, a report without one is refused" wait_for 10 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary @'$WORK/inv.json' '${origin_URL}v1/downstreams/lab-1/inventory')\" = 401"
check "with a license it is taken, with its edition" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'X-Cascade-License: KEY-DOWN-1' --data-binary @'$WORK/inv.json' '${origin_URL}v1/downstreams/lab-1/inventory')\" = 200 &&
     '$CASCADE' downstreams -d '$O' --json | grep '\"lab-1\"' | grep -q '\"edition\": \"standard\"'"

check "the first mirror stops cleanly" stop_bg a
check "the second mirror stops cleanly" stop_bg b
check "the origin stops cleanly" stop_bg origin
exit $FAILED
