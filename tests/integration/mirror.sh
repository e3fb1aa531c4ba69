# Mirrors: origin -> mirror -> mirror on loopback, each its own process and
# data directory; deltas through the cascade, long-poll notification,
# corrupted and replayed content, resumed downloads, a proxy, IPv6.
. "$(dirname "$0")/lib.sh"

O="$WORK/origin"
"$CASCADE" init -d "$O" >/dev/null
make_db 40000 1 >"$WORK/v1.db"
(cat "$WORK/v1.db"; make_db 200 2) >"$WORK/v2.db"
(cat "$WORK/v2.db"; make_db 200 3) >"$WORK/v3.db"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
"$CASCADE" publish -d "$O" scan-engine "$WORK/v1.db" --kind engine \
    >/dev/null 2>&1
check "origin serves" serve_bg origin "$O"

M1="$WORK/m1"
M2="$WORK/m2"
mirror_conf "$M1" "$origin_URL" "$O/keys/main.pub"
check "first mirror starts and syncs at start-up" serve_bg m1 "$M1"
check "first mirror holds serial 2 of the origin's channel" wait_for 60 \
    sh -c "test \"\$(curl -s '${m1_URL}v1/state' | sed -n 's/.*\"main\": \([0-9]*\).*/\1/p')\" = 2"
mirror_conf "$M2" "$m1_URL" "$O/keys/main.pub"
check "second mirror starts below the first" serve_bg m2 "$M2"
check "second mirror holds serial 2" wait_for 60 sh -c \
    "test \"\$(curl -s '${m2_URL}v1/state' | sed -n 's/.*\"main\": \([0-9]*\).*/\1/p')\" = 2"
check "the manifest passes through byte for byte" sh -c \
    "curl -s '${m2_URL}v1/channels/main/manifest' | cmp -s - '$O/channels/main/current/manifest'"
curl -s -o "$WORK/m.json" "${m2_URL}v1/channels/main/manifest"
curl -s -o "$WORK/m.json.minisig" "${m2_URL}v1/channels/main/manifest.minisig"
check "below two mirrors the origin's signature verifies" minisign -Vm \
    "$WORK/m.json" -x "$WORK/m.json.minisig" -p "$O/keys/main.pub"
check "objects are served by the bottom mirror" sh -c \
    "curl -s '${m2_URL}v1/objects/$(sha256 "$WORK/v1.db")' | cmp -s - '$WORK/v1.db'"

# a publish at the origin reaches the bottom mirror through the long-polls,
# with no schedule due (every 60m), and by delta
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v2.db" >/dev/null 2>&1
check "a publish reaches the bottom mirror within seconds" wait_for 15 \
    sh -c "test \"\$(curl -s '${m2_URL}v1/state' | sed -n 's/.*\"main\": \([0-9]*\).*/\1/p')\" = 3"
check "it travelled by delta" sh -c \
    "'$CASCADE' events -d '$M2' | grep 'sync-done' | tail -1 |
     grep -q '[1-9][0-9]* bytes by delta (1 objects), 0 whole'"
check "the bottom mirror serves the new version" sh -c \
    "curl -s '${m2_URL}v1/objects/$(sha256 "$WORK/v2.db")' | cmp -s - '$WORK/v2.db'"
check "the bottom mirror serves a delta for its own clients" sh -c \
    "curl -s -o '$WORK/d' '${m2_URL}v1/deltas/$(sha256 "$WORK/v1.db")/$(sha256 "$WORK/v2.db")' &&
     zstd -q -d --patch-from='$WORK/v1.db' '$WORK/d' -o '$WORK/v2.out' && cmp '$WORK/v2.out' '$WORK/v2.db'"
check "mirrors verify clean" sh -c "'$CASCADE' verify -d '$M1' && '$CASCADE' verify -d '$M2'"

# a mirror two versions behind still gets a delta: made by its upstream
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v3.db" >/dev/null 2>&1
wait_for 15 sh -c "test \"\$(serial_of '$m2_URL' main)\" = 4" 2>/dev/null
check "deltas from older versions exist on the mirror" sh -c \
    "curl -sf -o /dev/null '${m1_URL}v1/deltas/$(sha256 "$WORK/v1.db")/$(sha256 "$WORK/v3.db")'"

# gc on a mirror keeps what its upstream channels' current versions need
"$CASCADE" gc -d "$M2" >/dev/null 2>&1
check "gc on a mirror keeps it whole" "$CASCADE" verify -d "$M2"
check "gc on a mirror keeps the deltas to current versions" sh -c \
    "curl -sf -o /dev/null '${m2_URL}v1/deltas/$(sha256 "$WORK/v2.db")/$(sha256 "$WORK/v3.db")'"

# cascade sync --now talks to the running server
check "cascade sync --now is taken by the server" "$CASCADE" sync -d "$M1" --now
check "and recorded" wait_for 10 sh -c "'$CASCADE' events -d '$M1' |
    grep -q 'requested by cascade sync --now'" 

# the upstream down: the mirror keeps serving, and says why
kill "$origin_PID"; wait "$origin_PID" 2>/dev/null
"$CASCADE" sync -d "$M1" --now >/dev/null 2>&1
check "upstream down: an event says why" wait_for 10 sh -c \
    "'$CASCADE' events -d '$M1' | grep -q 'sync-failed.*cannot fetch'"
check "upstream down: the mirror still serves" test \
    "$(status "${m1_URL}v1/channels/main/manifest")" = 200

# a corrupted object is detected and never published
C="$WORK/corrupt"
cp -r "$O" "$WORK/o2"
obj="$WORK/o2/objects/$(sha256 "$WORK/v3.db" | cut -c1-2)/$(sha256 "$WORK/v3.db")"
chmod u+w "$obj"; printf 'X' | dd of="$obj" bs=1 seek=5000 conv=notrunc 2>/dev/null
check "origin with a corrupted object serves" serve_bg o2 "$WORK/o2"
mirror_conf "$C" "$o2_URL" "$O/keys/main.pub"
check "a corrupted download fails the sync" sh -c \
    "! '$CASCADE' sync -d '$C' 2>'$WORK/c.err'"
check "the reason names the hash mismatch" grep -q \
    'does not match its signed hash' "$WORK/c.err"
check "nothing is published from it" test ! -e "$C/channels/main/current"

# a partial download is resumed, not started over
R="$WORK/resume"
cp -r "$O" "$WORK/o3"
check "a clean origin serves" serve_bg o3 "$WORK/o3"
mirror_conf "$R" "$o3_URL" "$O/keys/main.pub"
S3=$(sha256 "$WORK/v3.db")
mkdir -p "$R/objects/tmp"
head -c $(( $(stat -c %s "$WORK/v3.db") - 1000 )) "$WORK/v3.db" \
    >"$R/objects/tmp/partial-$S3"
"$CASCADE" sync -d "$R" >"$WORK/r.out" 2>&1
whole=$("$CASCADE" events -d "$R" | grep sync-done | tail -1 |
    sed -n 's/.* \([0-9]*\) whole.*/\1/p')
check "a partial download is resumed, not started over" sh -c \
    "'$CASCADE' verify -d '$R' >/dev/null &&
     test '${whole:-999999999}' -lt $(( $(stat -c %s "$WORK/v1.db") + 50000 ))"

# untrusted key, replayed and expired manifests, from a static upstream
X="$WORK/static"
mkdir -p "$X/v1/channels/main"
"$CASCADE" keygen -o "$WORK/other" >/dev/null
cp "$O/channels/main/1/manifest" "$O/channels/main/1/manifest.minisig" \
    "$X/v1/channels/main/"
printf '{"serial": 99, "channels": {"main": 99}}\n' >"$X/v1/state"
python3 -m http.server --bind 127.0.0.1 0 --directory "$X" \
    >"$WORK/py.log" 2>&1 &
PY=$!
PIDS="$PIDS $PY"
wait_for 10 grep -q 'Serving HTTP' "$WORK/py.log"
PYURL="http://127.0.0.1:$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$WORK/py.log" | head -1)/"
OLD="$WORK/old"
mirror_conf "$OLD" "$PYURL" "$O/keys/main.pub"
"$CASCADE" sync -d "$M1" >/dev/null 2>&1	# m1 holds serial 4 already
cp -r "$M1" "$WORK/m1copy" 2>/dev/null
sed -i "s|^url = .*|url = $PYURL|" "$WORK/m1copy/cascade.conf"
check "a replayed older manifest is refused" sh -c \
    "! '$CASCADE' sync -d '$WORK/m1copy' 2>&1 | grep -q xx;
     '$CASCADE' sync -d '$WORK/m1copy' 2>&1 | grep -q 'rollback refused'"
mirror_conf "$WORK/untrusting" "$PYURL" "$WORK/other.pub"
check "a channel signed by an untrusted key is not synced" sh -c \
    "'$CASCADE' sync -d '$WORK/untrusting' 2>&1 | grep -q 'key the mirror does not trust' &&
     '$CASCADE' events -d '$WORK/untrusting' | grep -q 'sync-refused.*main'"
# an expired manifest, signed by the origin's key with stock minisign
sed 's/"expires": "[^"]*"/"expires": "2020-01-02T00:00:00Z"/; s/"issued": "[^"]*"/"issued": "2020-01-01T00:00:00Z"/' \
    "$O/channels/main/1/manifest" >"$X/v1/channels/main/manifest"
minisign -S -s "$O/keys/main.key" -m "$X/v1/channels/main/manifest" \
    </dev/null >/dev/null 2>&1
check "an expired manifest is refused" sh -c \
    "'$CASCADE' sync -d '$OLD' 2>&1 | grep -q 'expired'"
check "a refused channel publishes nothing" test ! -e "$OLD/channels/main/current"

# through a proxy on loopback, and over IPv6
if command -v tinyproxy >/dev/null; then
	PP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	printf 'Port %s\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nLogFile "%s/tp.log"\nPidFile "%s/tp.pid"\nBasicAuth pu pp\n' \
	    "$PP" "$WORK" "$WORK" >"$WORK/tp.conf"
	tinyproxy -d -c "$WORK/tp.conf" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	wait_for 10 sh -c "curl -s -o /dev/null -x http://pu:pp@127.0.0.1:$PP '${o3_URL}v1/state'"
	mirror_conf "$WORK/px" "$o3_URL" "$O/keys/main.pub" \
	    "proxy = http://127.0.0.1:$PP\nproxy_username = pu\nproxy_password = pp\n"
	check "a proxy with credentials carries the sync" sh -c \
	    "'$CASCADE' sync -d '$WORK/px' >/dev/null && '$CASCADE' verify -d '$WORK/px' >/dev/null &&
	     grep -q 'CONNECT\|GET http' '$WORK/tp.log'"
fi
check "an IPv6 upstream serves" serve_bg o6 "$WORK/o3" '[::1]:0'
mirror_conf "$WORK/v6" "$o6_URL" "$O/keys/main.pub"
check "a mirror syncs over IPv6" sh -c \
    "'$CASCADE' sync -d '$WORK/v6' >/dev/null && '$CASCADE' verify -d '$WORK/v6' >/dev/null"
# two upstream channels, one signed by a key the mirror does not trust:
# the other still syncs; the mirror's own channel is served beside them
T2="$WORK/two"
cp -r "$WORK/o3" "$T2"
"$CASCADE" keygen -o "$WORK/vendor" >/dev/null
mkdir -p "$T2/keys"
cp "$WORK/vendor.key" "$T2/keys/vendor.key"
cp "$WORK/vendor.pub" "$T2/keys/vendor.pub"
sed -i 's/^channel = main$/channel = vendor/' "$T2/cascade.conf"
"$CASCADE" publish -d "$T2" vendor-tool "$WORK/v1.db" >/dev/null 2>&1
check "an origin with two channels serves" serve_bg two "$T2"
mirror_conf "$WORK/m3" "$two_URL" "$O/keys/main.pub" "schedule = every 2s\n"
"$CASCADE" publish -d "$WORK/m3" local-config "$WORK/v2.db" >/dev/null 2>&1
"$CASCADE" sync -d "$WORK/m3" >"$WORK/m3.out" 2>&1
check "an untrusted channel does not hold back a trusted one" sh -c \
    "grep -q \"channel 'vendor'.*key the mirror does not trust\" '$WORK/m3.out' &&
     test -e '$WORK/m3/channels/main/current' && test ! -e '$WORK/m3/channels/vendor/current'"
check "cascade status shows the upstream and the last sync" sh -c \
    "'$CASCADE' status -d '$WORK/m3' | grep -q \"upstream $two_URL serial [0-9]*, last successful sync 20\""
check "a mirror on a schedule serves its own channel beside the upstream's" \
    serve_bg m3 "$WORK/m3"
check "/v1/state lists both" sh -c "curl -s '${m3_URL}v1/state' |
    grep -q '\"local\": 1' && curl -s '${m3_URL}v1/state' | grep -q '\"main\": 4'"
# a new version of the trusted channel at that origin (its key is there)
sed -i 's/^channel = vendor$/channel = main/' "$T2/cascade.conf"
"$CASCADE" publish -d "$T2" virus-pattern "$WORK/v2.db" --version 7 \
    >/dev/null 2>&1
sed -i 's/^channel = main$/channel = vendor/' "$T2/cascade.conf"
check "the schedule (every 2s) brings the next version" wait_for 20 sh -c \
    "test \"\$(curl -s '${m3_URL}v1/state' | sed -n 's/.*\"main\": \([0-9]*\).*/\1/p')\" = 5"
check "that sync ran on the schedule" sh -c \
    "'$CASCADE' events -d '$WORK/m3' | grep -q 'sync-start.*(schedule)'"

kill -TERM "$m1_PID"
wait "$m1_PID"
check "the first mirror stops cleanly on SIGTERM" test $? -eq 0
exit $FAILED
