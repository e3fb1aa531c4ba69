# cascade serve on a loopback port: the HTTP interface, checked with curl,
# minisign and zstd.
. "$(dirname "$0")/lib.sh"

D="$WORK/var"
"$CASCADE" init -d "$D" >/dev/null
make_db 30000 1 >"$WORK/v1.db"
(cat "$WORK/v1.db"; make_db 150 2) >"$WORK/v2.db"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v2.db" >/dev/null 2>&1
S1=$(sha256 "$WORK/v1.db")
S2=$(sha256 "$WORK/v2.db")
SIZE2=$(stat -c %s "$WORK/v2.db")

check "server starts on a free port" start_server "$D"

# /v1/state and its 304
curl -s -D "$WORK/h" -o "$WORK/state" "$BASE/v1/state"
check "state is the serial document" grep -qx \
    '{"serial": 2, "channels": {"main": 2}}' "$WORK/state"
ETAG=$(sed -n 's/^ETag: \(.*\)\r$/\1/Ip' "$WORK/h")
check "state has a strong ETag" sh -c "echo '$ETAG' | grep -q '^\"[0-9a-f]*\"$'"
curl -s -D "$WORK/h304" -o "$WORK/b304" -H "If-None-Match: $ETAG" \
    "$BASE/v1/state"
check "If-None-Match gives 304" grep -q '^HTTP/1.1 304' "$WORK/h304"
check "304 has no body" test ! -s "$WORK/b304"
check "304 does not claim Content-Length: 0" sh -c \
    "! grep -qi '^Content-Length: 0' '$WORK/h304'"
check "another ETag gives 200" test "$(status "$BASE/v1/state" \
    -H 'If-None-Match: "abc"')" = 200

# the manifest as signed, verified by stock minisign
curl -s -o "$WORK/manifest" "$BASE/v1/channels/main/manifest"
curl -s -o "$WORK/manifest.minisig" "$BASE/v1/channels/main/manifest.minisig"
check "served manifest verifies with minisign" minisign -Vm "$WORK/manifest" \
    -x "$WORK/manifest.minisig" -p "$D/keys/main.pub"
check "served manifest is the signed bytes" cmp "$WORK/manifest" \
    "$D/channels/main/current/manifest"
check "unknown channel is 404" test "$(status "$BASE/v1/channels/x/manifest")" = 404

# objects: whole, HEAD, ranges
curl -s -D "$WORK/ho" -o "$WORK/obj" "$BASE/v1/objects/$S2"
check "object is served whole" cmp "$WORK/obj" "$WORK/v2.db"
check "object ETag is its hash" grep -qi "^ETag: \"$S2\"" "$WORK/ho"
check "object is immutable for caches" grep -qi \
    '^Cache-Control: public, max-age=31536000, immutable' "$WORK/ho"
curl -s -I -o "$WORK/hh" "$BASE/v1/objects/$S2"
check "HEAD gives the length and no body" sh -c \
    "grep -qi '^Content-Length: $SIZE2' '$WORK/hh'"
range() {	# range SPEC EXPECTED_FIRST EXPECTED_LEN
	curl -s -D "$WORK/hr" -o "$WORK/r" -H "Range: bytes=$1" \
	    "$BASE/v1/objects/$S2" &&
	grep -q '^HTTP/1.1 206' "$WORK/hr" &&
	dd if="$WORK/v2.db" bs=1 skip="$2" count="$3" 2>/dev/null |
	    cmp -s - "$WORK/r"
}
check "Range: first byte" range 0-0 0 1
check "Range: middle" range 1000-1999 1000 1000
check "Range: last byte" range -1 $((SIZE2 - 1)) 1
check "Range: open end" range $((SIZE2 - 10))- $((SIZE2 - 10)) 10
check "Content-Range is set" grep -qi "^Content-Range: bytes $((SIZE2 - 10))-$((SIZE2 - 1))/$SIZE2" "$WORK/hr"
check "Range past the end is 416" test "$(status "$BASE/v1/objects/$S2" \
    -H "Range: bytes=$SIZE2-")" = 416
check "object If-None-Match gives 304" test "$(status "$BASE/v1/objects/$S2" \
    -H "If-None-Match: \"$S2\"")" = 304
check "missing object is 404 JSON" sh -c "curl -s '$BASE/v1/objects/$(printf '%064d' 0)' |
    grep -q '\"error\": \"not_found\"'"

# deltas decode with stock zstd
curl -s -o "$WORK/delta" "$BASE/v1/deltas/$S1/$S2"
check "delta decodes with stock zstd --patch-from" sh -c \
    "zstd -q -d --long=31 --patch-from='$WORK/v1.db' '$WORK/delta' -o '$WORK/v2.out' &&
     cmp '$WORK/v2.out' '$WORK/v2.db'"
check "delta is far smaller than the file" test \
    "$(stat -c %s "$WORK/delta")" -lt $((SIZE2 / 50))
check "delta is listed in the manifest" grep -q "\"from\": 1" "$WORK/manifest"
check "missing delta is 404" test "$(status "$BASE/v1/deltas/$S2/$S1")" = 404

# bad requests: each a 4xx, and the server keeps serving
for req in "/v1/objects/xyz" "/v1/objects/$(echo "$S2" | tr a-f A-F)" \
    "/v1/objects/$S2/x" "/v1/deltas/a/b" "/v1/../../etc/passwd" \
    "/v1/objects/..%2f..%2fetc%2fpasswd" "/v1/channels/../manifest" \
    "/nothing" "/v1/state/x" "/v1/channels/main/manifest/"; do
	code=$(curl -s --path-as-is -o "$WORK/e" -w '%{http_code}' "$BASE$req")
	check "bad request $req is a 4xx with a JSON error" sh -c \
	    "test '$code' -ge 400 && test '$code' -lt 500 &&
	     grep -q '\"error\"' '$WORK/e'"
done
check "POST is 405" test "$(status "$BASE/v1/state" -X POST)" = 405
check "a body is refused" sh -c "code=\$(curl -s -o /dev/null -w '%{http_code}' \
    -X GET --data-binary @'$WORK/v1.db' '$BASE/v1/state'); test \$code -ge 400 &&
    test \$code -lt 500"
big=$(head -c 20000 /dev/zero | tr '\0' a)
check "oversized header is a 4xx" sh -c "code=\$(curl -s -o /dev/null \
    -w '%{http_code}' -H 'X-Big: $big' '$BASE/v1/state'); test \$code -ge 400 &&
    test \$code -lt 500"
for raw in 'GARBAGE\r\n\r\n' 'GET /v1/state HTTP/9.9\r\n\r\n' \
    'GET /v1/state HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' \
    'GET /v1/state HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' \
    '\0\0\0\377\r\n\r\n'; do
	n=$((${n:-0} + 1))
	printf "$raw" | timeout 5 nc -q1 127.0.0.1 "$PORT" >"$WORK/raw" 2>&1
	check "malformed raw request $n is refused, not served or crashed" \
	    sh -c "! grep -aq '^HTTP/1.1 \(2\|500\)' '$WORK/raw'"
done
check "still serving after bad requests" test "$(status "$BASE/v1/state")" = 200

# a publish while serving is served at once, with no restart
(cat "$WORK/v2.db"; make_db 100 3) >"$WORK/v3.db"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v3.db" >/dev/null 2>&1
check "a publish is served within a second" wait_for 2 sh -c \
    "curl -s '$BASE/v1/state' | grep -q '\"serial\": 3'"
check "the new manifest verifies" sh -c \
    "curl -s -o '$WORK/m3' '$BASE/v1/channels/main/manifest' &&
     curl -s -o '$WORK/m3.minisig' '$BASE/v1/channels/main/manifest.minisig' &&
     minisign -Vm '$WORK/m3' -x '$WORK/m3.minisig' -p '$D/keys/main.pub' &&
     grep -q '\"version\": 3' '$WORK/m3'"
check "the old ETag now gives 200" test "$(status "$BASE/v1/state" \
    -H "If-None-Match: $ETAG")" = 200

# SIGHUP reloads the configuration; a bad one keeps the old
sed -i 's/^retention = 30/retention = 12/' "$D/cascade.conf"
kill -HUP "$SERVER_PID"
check "SIGHUP reloads cascade.conf" wait_for 5 grep -q reloaded "$WORK/server.log"
echo "bogus line" >>"$D/cascade.conf"
kill -HUP "$SERVER_PID"
check "a bad configuration is refused and the server goes on" sh -c "
    $(declare -f wait_for 2>/dev/null || true)
    for i in \$(seq 100); do grep -q 'keeping the running' '$WORK/server.log' && break; sleep 0.05; done
    grep -q 'keeping the running' '$WORK/server.log' &&
    test \"\$(curl -s -o /dev/null -w '%{http_code}' '$BASE/v1/state')\" = 200"
sed -i '/^bogus line$/d' "$D/cascade.conf"
SAVED_PID=$SERVER_PID SAVED_BASE=$BASE
SAVED_LOG=$(cat "$WORK/server.log")
check "a second server listens on IPv6 loopback" start_server "$D" '[::1]:0'
check "an IPv6 client is served" test "$(status "$BASE/v1/state")" = 200
check "the IPv6 server stops cleanly" stop_server
SERVER_PID=$SAVED_PID BASE=$SAVED_BASE
echo "$SAVED_LOG" >"$WORK/server.log"

# many clients at once while a publish happens
if [ -x "$TESTS_BIN/concurrent" ]; then
	(cat "$WORK/v3.db"; make_db 100 4) >"$WORK/v4.db"
	check "100 concurrent clients during a publish get whole answers" \
	    "$TESTS_BIN/concurrent" "$BASE" "$CASCADE" "$D" "$WORK/v4.db" \
	    "$D/keys/main.pub"
fi

check "SIGTERM shuts down cleanly" stop_server

# the server collects garbage by itself, every gc_interval
G="$WORK/gc"
"$CASCADE" init -d "$G" >/dev/null
printf '[repository]\nretention = 1\n[server]\ngc_interval = 1s\n' \
    >"$G/cascade.conf"
"$CASCADE" publish -d "$G" sig "$WORK/v1.db" >/dev/null 2>&1
check "a server with gc_interval = 1s starts" start_server "$G"
"$CASCADE" publish -d "$G" sig "$WORK/v2.db" >/dev/null 2>&1
OLD="$G/objects/$(echo "$S1" | cut -c1-2)/$S1"
check "the server removes versions beyond retention on its own" \
    wait_for 10 test ! -e "$OLD"
check "what the current manifest names is kept" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' '$BASE/v1/objects/$S2')\" = 200"
check "the gc server stops cleanly" stop_server
exit $FAILED
