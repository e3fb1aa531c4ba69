# GET /v1/events, the long-poll: answered at once when the client is
# behind, held until a publish otherwise (answered within a second of it),
# 204 when its wait runs out; 50 held at once, the server serving others
# meanwhile, a clean shutdown with some held, `cascade events`, and the
# cap on held requests (503).
. "$(dirname "$0")/lib.sh"

D="$WORK/var"
"$CASCADE" init -d "$D" >/dev/null
make_db 2000 1 >"$WORK/v1.db"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
ms() { date +%s%3N; }
serial() { curl -s "$BASE/v1/state" | sed -n 's/.*"serial": \([0-9]*\).*/\1/p'; }
# publish N: version N of virus-pattern
publish() {
	(cat "$WORK/v1.db"; make_db 20 "$1") >"$WORK/v$1.db"
	"$CASCADE" publish -d "$D" virus-pattern "$WORK/v$1.db" >/dev/null 2>&1
}
# longpoll NAME QUERY: in the background; NAME.code, NAME.body, then
# NAME.done (the time in ms) once answered
longpoll() {
	( curl -s -o "$WORK/$1.body" -w '%{http_code}\n' "$BASE/v1/events?$2" \
	    >"$WORK/$1.code"; ms >"$WORK/$1.done" ) &
}
# held NAME...: none of them answered within a second
held() {
	for n in "$@"; do
		if wait_for 1 test -e "$WORK/$n.done"; then
			return 1
		fi
	done
	return 0
}

check "server starts" start_server "$D"
S=$(serial)
check "the serial is known" test -n "$S"

# behind: at once, the same document as /v1/state
curl -s -D "$WORK/hs" -o "$WORK/state" "$BASE/v1/state"
t0=$(ms)
curl -s -D "$WORK/he" -o "$WORK/ev" -w '%{http_code}' \
    "$BASE/v1/events?since=$((S - 1))&wait=30" >"$WORK/code"
check "since=old answers at once" test $(( $(ms) - t0 )) -lt 1000
check "since=old is 200" grep -qx 200 "$WORK/code"
check "since=old gives the state document" cmp "$WORK/ev" "$WORK/state"
check "... with the ETag of /v1/state" test \
    "$(grep -i '^ETag:' "$WORK/he")" = "$(grep -i '^ETag:' "$WORK/hs")"
check "since=0 without wait answers at once" test \
    "$(status "$BASE/v1/events?since=0")" = 200
check "a wait over the cap is taken (capped)" test \
    "$(status "$BASE/v1/events?since=0&wait=99999")" = 200

# nothing new: 204 after the wait
t0=$(ms)
curl -s -o "$WORK/b204" -w '%{http_code}' "$BASE/v1/events?since=$S&wait=1" \
    >"$WORK/code"
t1=$(ms)
check "wait=1 with nothing new is 204" grep -qx 204 "$WORK/code"
check "... after about a second" test $((t1 - t0)) -ge 900 -a \
    $((t1 - t0)) -lt 2500
check "... with no body" test ! -s "$WORK/b204"
check "wait=0 with nothing new is 204 at once" test \
    "$(status "$BASE/v1/events?since=$S&wait=0")" = 204
check "since ahead of the server is held like since=current" test \
    "$(status "$BASE/v1/events?since=$((S + 100))&wait=0")" = 204

# bad numbers
for q in "" "since=" "since=x" "since=-1" "since=1.5" "since=%201" \
    "since=99999999999999999999999" "since=1&wait=" "since=1&wait=x" \
    "since=1&wait=-5" "since=1&wait=1.5"; do
	code=$(curl -s -o "$WORK/e" -w '%{http_code}' "$BASE/v1/events?$q")
	check "'$q' is 400 with a JSON error" sh -c \
	    "test '$code' = 400 && grep -q '\"error\": \"bad_request\"' '$WORK/e'"
done
check "POST is 405" test "$(status "$BASE/v1/events?since=0" -X POST)" = 405

# held, then a publish
longpoll one "since=$S&wait=30"
check "since=current is held" held one
check "other requests are served while one is held" test \
    "$(status "$BASE/v1/state")" = 200
publish 2
tp=$(ms)
check "the held request is answered after the publish" wait_for 5 \
    test -e "$WORK/one.done"
check "... with 200" grep -qx 200 "$WORK/one.code"
check "... and the new serial" grep -q "\"serial\": $((S + 1))," \
    "$WORK/one.body"
check "... within a second of the publish" test \
    $(( $(cat "$WORK/one.done") - tp )) -lt 1000
S=$((S + 1))

# 50 at once
i=0
while [ $i -lt 50 ]; do
	longpoll "c$i" "since=$S&wait=60"
	i=$((i + 1))
done
check "50 long-polls are held" held c0 c49
t0=$(ms)
check "the server serves an object while 50 are held" test "$(status \
    "$BASE/v1/objects/$(sha256 "$WORK/v2.db")")" = 200
check "... and the state" test "$(status "$BASE/v1/state")" = 200
check "... at once" test $(( $(ms) - t0 )) -lt 1000
publish 3
tp=$(ms)
check "all 50 are answered after one publish" wait_for 10 sh -c \
    "test \$(ls '$WORK' | grep -c '^c[0-9]*\.done\$') -eq 50"
check "all 50 got 200" test "$(cat "$WORK"/c*.code | sort -u)" = 200
check "all 50 got the new serial" test "$(grep -l "\"serial\": $((S + 1))," \
    "$WORK"/c*.body | wc -l)" -eq 50
last=$(cat "$WORK"/c*.done | sort -n | tail -1)
check "all 50 within a second of the publish" test $((last - tp)) -lt 1000
S=$((S + 1))

# with a license: events need one too
"$CASCADE" license add -d "$D" EVENTS-KEY-0001 --edition standard >/dev/null
check "with licenses, events without one are 401" wait_for 3 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        '$BASE/v1/events?since=0')\" = 401"
check "... and with one, 200" test "$(status "$BASE/v1/events?since=0" \
    -H 'X-Cascade-License: EVENTS-KEY-0001')" = 200
"$CASCADE" license remove -d "$D" EVENTS-KEY-0001 >/dev/null
check "without licenses again, events are open" wait_for 3 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        '$BASE/v1/events?since=0')\" = 200"

# SIGTERM while some are held: they are answered, the server exits 0
for n in t0 t1 t2 t3 t4; do
	longpoll "$n" "since=$S&wait=60"
done
check "5 long-polls are held before SIGTERM" held t0 t4
t0=$(ms)
check "SIGTERM with long-polls held shuts down cleanly" stop_server
check "... promptly" test $(( $(ms) - t0 )) -lt 5000
check "the held clients are let go" wait_for 5 sh -c \
    "test \$(ls '$WORK' | grep -c '^t[0-9]\.done\$') -eq 5"
check "... told the server is stopping (503)" test \
    "$(cat "$WORK"/t*.code | sort -u)" = 503

# the event history
"$CASCADE" events -d "$D" >"$WORK/events"
check "cascade events lists the license events" sh -c \
    "grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z license - added EVEN…0001 edition standard\$' '$WORK/events' &&
     grep -q ' license - removed EVEN…0001 edition standard\$' '$WORK/events'"
check "cascade events --since 1h lists them" sh -c \
    "'$CASCADE' events -d '$D' --since 1h | grep -c ' license ' | grep -qx 2"
check "cascade events --since a future time lists nothing" sh -c \
    "test -z \"\$('$CASCADE' events -d '$D' --since 2999-01-01T00:00:00Z)\""
check "cascade events --since a past time lists them" sh -c \
    "'$CASCADE' events -d '$D' --since 2000-01-01T00:00:00Z | grep -q license"
check "a bad --since is a usage error" sh -c \
    "'$CASCADE' events -d '$D' --since yesterday 2>/dev/null; test \$? -eq 2"

# a cap on held requests: 3/4 of connection_limit, then 503
sed -i 's/^connection_limit = .*/connection_limit = 8/' "$D/cascade.conf"
grep -q '^connection_limit = 8' "$D/cascade.conf" ||
    printf '[server]\nconnection_limit = 8\n' >>"$D/cascade.conf"
check "a server with connection_limit = 8 starts" start_server "$D"
S=$(serial)
for n in k0 k1 k2 k3 k4 k5; do
	longpoll "$n" "since=$S&wait=60"
done
check "6 long-polls are held" held k0 k5
curl -s -D "$WORK/hk" -o "$WORK/bk" -w '%{http_code}' \
    "$BASE/v1/events?since=$S&wait=60" >"$WORK/ck"
check "the 7th is refused with 503 at once" grep -qx 503 "$WORK/ck"
check "... with Retry-After and a JSON error" sh -c \
    "grep -qi '^Retry-After: ' '$WORK/hk' && grep -q '\"error\": \"busy\"' '$WORK/bk'"
check "... and other requests are still served" test \
    "$(status "$BASE/v1/state")" = 200
check "that server stops cleanly too" stop_server
check "its held clients are let go" wait_for 5 sh -c \
    "test \$(ls '$WORK' | grep -c '^k[0-9]\.done\$') -eq 6"
