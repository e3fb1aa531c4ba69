# GET /metrics: the request counters move with real requests (200, 304,
# object, 404, HEAD), a held long-poll shows as open, the store and the
# agents are counted, and `promtool check metrics` (Debian's prometheus
# package) passes on the text; a mirror shows its sync passes by path,
# its last successful sync and how many serials it is behind.
. "$(dirname "$0")/lib.sh"

if ! command -v promtool >/dev/null 2>&1; then
	notok "promtool is installed (scripts/install-deps)"
	exit 1
fi

O="$WORK/origin"
"$CASCADE" init -d "$O" >/dev/null
make_db 20000 1 >"$WORK/v1.db"
(cat "$WORK/v1.db"; make_db 200 2) >"$WORK/v2.db"
(cat "$WORK/v2.db"; make_db 200 3) >"$WORK/v3.db"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
V1=$(sha256 "$WORK/v1.db")
SIZE1=$(wc -c <"$WORK/v1.db")
check "origin serves" serve_bg origin "$O"

# scrape URL FILE: GET URL/metrics into FILE, headers into FILE.h.
scrape() {
	curl -sf -D "$2.h" -o "$2" "${1}metrics"
}
# value FILE SERIES: the value of a series (name with its labels, exactly
# as rendered), or nothing.
value() {
	awk -v s="$2" 'index($0, s " ") == 1 { print $NF }' "$1"
}
# is_value URL SERIES OP N: scrapes and compares (test's -eq, -ge, -gt).
is_value() {
	scrape "$1" "$WORK/poll" || return 1
	v=$(value "$WORK/poll" "$2")
	[ -n "$v" ] && [ "${v%.*}" "$3" "$4" ]
}

req='cascade_http_requests_total{endpoint='
check "a first scrape answers" scrape "$origin_URL" "$WORK/m0"
check "it is Prometheus text 0.0.4" grep -qi \
    '^content-type: text/plain; version=0.0.4' "$WORK/m0.h"
check "promtool check metrics passes on a fresh server" sh -c \
    "promtool check metrics <'$WORK/m0'"
s0=$(value "$WORK/m0" "${req}\"state\",code=\"200\"}")
s0=${s0:-0}

etag=$(curl -s -D - -o /dev/null "${origin_URL}v1/state" |
    sed -n 's/^[Ee][Tt]ag: *\(.*\)\r$/\1/p')
curl -s -o /dev/null "${origin_URL}v1/state"
curl -s -o /dev/null -H "If-None-Match: $etag" "${origin_URL}v1/state"
curl -s -o /dev/null "${origin_URL}v1/objects/$V1"
curl -s -o /dev/null -I "${origin_URL}v1/objects/$V1"
curl -s -o /dev/null "${origin_URL}v1/objects/$(printf '%064d' 0)"
curl -s -o /dev/null "${origin_URL}v1/channels/main/manifest"
curl -s -o /dev/null -X POST "${origin_URL}v1/state"

check "a second scrape answers" scrape "$origin_URL" "$WORK/m1"
check "GET /v1/state counted by its status (200)" test \
    "$(value "$WORK/m1" "${req}\"state\",code=\"200\"}")" -eq $((s0 + 2))
check "a 304 counted" test \
    "$(value "$WORK/m1" "${req}\"state\",code=\"304\"}")" -eq 1
check "a 405 counted" test \
    "$(value "$WORK/m1" "${req}\"state\",code=\"405\"}")" -eq 1
check "objects counted: GET and HEAD" test \
    "$(value "$WORK/m1" "${req}\"object\",code=\"200\"}")" -eq 2
check "a missing object counted as 404" test \
    "$(value "$WORK/m1" "${req}\"object\",code=\"404\"}")" -eq 1
check "the manifest counted" test \
    "$(value "$WORK/m1" "${req}\"manifest\",code=\"200\"}")" -eq 1
check "the object's bytes counted once (HEAD sends none)" test \
    "$(value "$WORK/m1" \
    'cascade_http_response_bytes_total{endpoint="object"}')" -ge "$SIZE1"
check "and not twice" test \
    "$(value "$WORK/m1" \
    'cascade_http_response_bytes_total{endpoint="object"}')" -lt \
    $((2 * SIZE1))
check "the scrape before counted itself" test \
    "$(value "$WORK/m1" "${req}\"metrics\",code=\"200\"}")" -ge 1
objects=$(find "$O/objects" -path "$O/objects/tmp" -prune -o -type f -print |
    wc -l)
check "objects stored, as many as in the store" test \
    "$(value "$WORK/m1" cascade_store_objects)" -eq "$objects"
check "bytes stored, at least the version's" test \
    "$(value "$WORK/m1" cascade_store_bytes)" -ge "$SIZE1"
check "no sync samples on a server without upstream" sh -c \
    "! grep -q '^cascade_sync_passes_total{' '$WORK/m1'"
check "promtool check metrics passes" sh -c \
    "promtool check metrics <'$WORK/m1'"

# a held long-poll is open until the serial moves
serial=$(serial_of "$origin_URL" main)
curl -s -o "$WORK/lp" "${origin_URL}v1/events?since=$serial&wait=60" &
LP=$!
PIDS="$PIDS $LP"
check "a held long-poll shows as open" wait_for 10 \
    is_value "$origin_URL" cascade_longpolls_open -eq 1
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v2.db" >/dev/null 2>&1
check "the long-poll is answered by the publish" wait_for 10 sh -c \
    "! kill -0 $LP 2>/dev/null"
check "and is no longer open" wait_for 10 \
    is_value "$origin_URL" cascade_longpolls_open -eq 0
check "its answer counted" is_value "$origin_URL" \
    "${req}\"events\",code=\"200\"}" -eq 1

# agents by state (recounted every few seconds)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' \
    --data-binary '{"hostname": "ws-1"}' "${origin_URL}v1/agents")
check "an agent enrols" test "$code" = 201
check "the enrolment counted" is_value "$origin_URL" \
    "${req}\"agents\",code=\"201\"}" -eq 1
check "the agent shows as licensed" wait_for 20 is_value "$origin_URL" \
    'cascade_agents{state="licensed"}' -eq 1
check "notifications counted (none yet)" is_value "$origin_URL" \
    cascade_notifications_sent_total -eq 0

# ---- a mirror -----------------------------------------------------------
M="$WORK/mirror"
mirror_conf "$M" "$origin_URL" "$O/keys/main.pub"
check "mirror starts" serve_bg mirror "$M"
serial_is() { test "$(serial_of "$1" "$2")" = "$3"; }
check "mirror syncs at start-up" wait_for 20 serial_is "$mirror_URL" main 2
check "a completed pass shows" wait_for 20 is_value "$mirror_URL" \
    'cascade_sync_passes_total{result="ok"}' -ge 1
scrape "$mirror_URL" "$WORK/m2"
check "whole objects' bytes" test \
    "$(value "$WORK/m2" 'cascade_sync_bytes_total{path="whole"}')" -ge \
    "$(wc -c <"$WORK/v2.db")"
check "a whole pass's duration observed" test \
    "$(value "$WORK/m2" \
    'cascade_sync_duration_seconds_count{path="whole"}')" -ge 1
check "the last success of channel main" test \
    "$(value "$WORK/m2" \
    'cascade_sync_last_success_timestamp_seconds{channel="main"}')" -ge \
    "$(( $(date +%s) - 300 ))"
check "not behind" test \
    "$(value "$WORK/m2" 'cascade_upstream_serials_behind{channel="main"}')" \
    -eq 0
check "promtool check metrics passes on the mirror" sh -c \
    "promtool check metrics <'$WORK/m2'"

# the mirror sees a new serial it refuses (signed by a key it does not
# trust now): it is behind by one
cp "$M/keys/upstream.pub" "$WORK/trusted.pub"
"$CASCADE" init -d "$WORK/other" >/dev/null
cp "$WORK/other/keys/main.pub" "$M/keys/upstream.pub"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v3.db" >/dev/null 2>&1
check "a refused serial: one behind" wait_for 30 is_value "$mirror_URL" \
    'cascade_upstream_serials_behind{channel="main"}' -eq 1
last=$(value "$WORK/poll" \
    'cascade_sync_last_success_timestamp_seconds{channel="main"}')

# trusted again: the next pass catches up, by delta
cp "$WORK/trusted.pub" "$M/keys/upstream.pub"
"$CASCADE" sync -d "$M" --now >/dev/null 2>&1
check "caught up: not behind" wait_for 30 is_value "$mirror_URL" \
    'cascade_upstream_serials_behind{channel="main"}' -eq 0
scrape "$mirror_URL" "$WORK/m3"
check "deltas' bytes" test \
    "$(value "$WORK/m3" 'cascade_sync_bytes_total{path="delta"}')" -gt 0
check "a delta pass's duration observed" test \
    "$(value "$WORK/m3" \
    'cascade_sync_duration_seconds_count{path="delta"}')" -ge 1
check "the last success moved" test \
    "$(value "$WORK/m3" \
    'cascade_sync_last_success_timestamp_seconds{channel="main"}')" -ge \
    "${last:-0}"
check "promtool check metrics passes after a delta pass" sh -c \
    "promtool check metrics <'$WORK/m3'"
check "metrics answer HEAD" test \
    "$(status "${mirror_URL}metrics" -I)" = 200
check "and refuse POST" test \
    "$(status "${mirror_URL}metrics" -X POST)" = 405

check "mirror stops cleanly" stop_bg mirror
# licenses: the content asks for one, /metrics stays open to all
"$CASCADE" license add -d "$O" METRICS-0000-0001 --edition standard \
    >/dev/null 2>&1
check "with a license, the manifest asks for one" wait_for 5 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        '${origin_URL}v1/channels/main/manifest')\" = 401"
check "and /metrics is still open" is_value "$origin_URL" \
    "${req}\"manifest\",code=\"401\"}" -ge 1
check "origin stops cleanly" stop_bg origin
[ -n "${KEEP_METRICS:-}" ] && cp "$WORK/m3" "$KEEP_METRICS"
exit $FAILED
