# A mirror's failure handling, with real processes on loopback: a license
# the upstream rejects, one limited to a lower edition, an upstream that
# answers 503 or 429 (Retry-After) and then recovers, a sync killed (-9)
# in the middle of a large download and resumed, a byte flipped in
# transit, and syncs asked for while one runs. The faults come from a
# small HTTP peer (python3, 127.0.0.1 only) that passes requests through
# to a real origin when told to behave.
. "$(dirname "$0")/lib.sh"

# held_serial DIR: the serial of the manifest a mirror serves for main
held_serial() {
	sed -n 's/.*"serial": \([0-9]*\).*/\1/p' \
	    "$1/channels/main/current/manifest" 2>/dev/null | head -1
}
# nevents DIR KIND: how many events of that kind
nevents() {
	"$CASCADE" events -d "$1" | awk -v k="$2" '$2 == k { n++ } END { print n + 0 }'
}
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
# has_object DIR SHA
has_object() { test -f "$1/objects/$(echo "$2" | cut -c1-2)/$2"; }
# no_objects DIR: nothing in the store but its tmp directory
no_objects() {
	test -z "$(find "$1/objects" -type f ! -path '*/objects/tmp/*')"
}

# The fault peer (faultpeer.py: its control keys, and its log of a line per
# request) in front of the origin.
PEER_PY="$(dirname "$0")/faultpeer.py"
# start_peer NAME ORIGIN_URL [CONTROL]: sets NAME_URL; control in NAME.ctl
start_peer() {
	printf '%b' "${3:-}" >"$WORK/$1.ctl"
	python3 "$PEER_PY" "$2" "$WORK/$1.ctl" "$WORK/$1.plog" \
	    "$WORK/$1.port" 2>"$WORK/$1.err" &
	PIDS="$PIDS $!"
	wait_for 10 test -s "$WORK/$1.port" || return 1
	eval "$1_URL=http://127.0.0.1:$(cat "$WORK/$1.port")/"
}
peer_ctl() { printf '%b' "$2" >"$WORK/$1.ctl"; }
# epoch of an event line's time stamp
ev_time() { date -u -d "$(echo "$1" | cut -d' ' -f1)" +%s; }

# ---------------------------------------------------------------------
# The origin for the upstream faults, and mirrors that meet a 503 and a
# 429 at start-up (they recover while the license cases run).
O="$WORK/origin"
"$CASCADE" init -d "$O" >/dev/null
make_db 4000 1 >"$WORK/v1.db"
make_db 3000 2 >"$WORK/e1.db"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
"$CASCADE" publish -d "$O" scan-engine "$WORK/e1.db" --kind engine \
    >/dev/null 2>&1
check "origin serves" serve_bg origin "$O"
OS=$(serial_of "$origin_URL" main)

# 503 with no Retry-After; the long-polls not answered (404), so that only
# the mirror's own backoff brings the retry
check "503 peer starts" start_peer p503 "$origin_URL" \
    'fail=1\nstatus=503\nevents=404\n'
# 429 with Retry-After: 8, longer than the first backoff (5 s), answered
# after half a second; the long-polls pass through and announce the
# origin's serial meanwhile: a request that must wait for the Retry-After
RA=8
check "429 peer starts" start_peer p429 "$origin_URL" \
    "fail=1\nstatus=429\nretry_after=$RA\ndelay=0.5\n"
MA="$WORK/m503"
MB="$WORK/m429"
mirror_conf "$MA" "$p503_URL" "$O/keys/main.pub" 'sync_at_startup = yes\n'
mirror_conf "$MB" "$p429_URL" "$O/keys/main.pub" 'sync_at_startup = yes\n'
check "a mirror of the 503 peer starts" serve_bg ma "$MA"
check "a mirror of the 429 peer starts" serve_bg mb "$MB"
check "503: the failure is recorded with its reason" wait_for 15 sh -c \
    "'$CASCADE' events -d '$MA' | grep -q 'sync-failed - upstream busy (503'"
check "429: the failure is recorded with its reason" wait_for 15 sh -c \
    "'$CASCADE' events -d '$MB' | grep -q 'sync-failed - upstream busy (429'"
check "503: the mirror keeps serving meanwhile" test \
    "$(status "${ma_URL}v1/state")" = 200
check "429: the mirror keeps serving meanwhile" test \
    "$(status "${mb_URL}v1/state")" = 200

# ---------------------------------------------------------------------
# 1. a license the upstream rejects
L="$WORK/licensed"
"$CASCADE" init -d "$L" >/dev/null
printf '\n[editions]\norder = basic, premium\n' >>"$L/cascade.conf"
make_db 3000 3 >"$WORK/b1.db"
make_db 3000 4 >"$WORK/p1.db"
"$CASCADE" publish -d "$L" virus-pattern "$WORK/b1.db" --edition basic \
    >/dev/null 2>&1
"$CASCADE" publish -d "$L" scan-engine "$WORK/p1.db" --edition premium \
    --kind engine >/dev/null 2>&1
B1=$(sha256 "$WORK/b1.db")
P1=$(sha256 "$WORK/p1.db")
KEY=BASIC-1234-5678-ABCD
check "a basic license is added at the origin" "$CASCADE" license add \
    -d "$L" "$KEY" --edition basic --username alice --password right-pw
check "the licensed origin serves" serve_bg lo "$L"
check "... and asks for a license" test \
    "$(status "${lo_URL}v1/channels/main/manifest")" = 401

LR="$WORK/rejected"
mirror_conf "$LR" "$lo_URL" "$L/keys/main.pub" \
    "license_key = $KEY\nusername = alice\npassword = wrong-pw\n"
"$CASCADE" sync -d "$LR" >"$WORK/lr.out" 2>"$WORK/lr.err"
check "wrong password: cascade sync fails" test $? -ne 0
check "wrong password: stderr says the license was rejected" grep -q \
    'license rejected' "$WORK/lr.err"
check "wrong password: not told as a generic failure" sh -c \
    "! grep -q -e 'cannot fetch' -e 'upstream answered' '$WORK/lr.err'"
check "wrong password: the event says the license was rejected" sh -c \
    "'$CASCADE' events -d '$LR' | grep -q 'sync-failed - license rejected'"
check "wrong password: nothing published" test ! -e "$LR/channels/main/current"
check "wrong password: no object fetched" no_objects "$LR"
check "wrong password: the secrets are in no message" sh -c \
    "! cat '$WORK/lr.err' '$WORK/lr.out' | grep -q -e wrong-pw -e '$KEY'"

# 2. the right credentials of a basic license: the basic component only
LB="$WORK/basic"
mirror_conf "$LB" "$lo_URL" "$L/keys/main.pub" \
    "license_key = $KEY\nusername = alice\npassword = right-pw\nsync_at_startup = no\n"
check "basic license: the mirror syncs" sh -c \
    "'$CASCADE' sync -d '$LB' >'$WORK/lb.out' 2>'$WORK/lb.err'"
check "basic license: it holds the basic object" has_object "$LB" "$B1"
check "basic license: the origin answers 403 for the premium object" test \
    "$(status "${lo_URL}v1/objects/$P1" -H "X-Cascade-License: $KEY" \
    -u alice:right-pw)" = 403
check "basic license: the mirror does not hold the premium object" \
    test ! -e "$LB/objects/$(echo "$P1" | cut -c1-2)/$P1"
check "basic license: the channel event names unlicensed components" sh -c \
    "'$CASCADE' events -d '$LB' | grep 'sync-channel main' |
     grep -q 'not licensed'"
check "basic license: no partial download left for the premium object" \
    test ! -e "$LB/objects/tmp/partial-$P1"
check "basic license: cascade verify passes" "$CASCADE" verify -d "$LB"
check "basic license: the mirror serves" serve_bg lb "$LB"
check "basic license: the manifest passes through, premium included" sh -c \
    "curl -sf '${lb_URL}v1/channels/main/manifest' |
     cmp -s - '$L/channels/main/current/manifest'"
check "basic license: the mirror serves the basic object" sh -c \
    "curl -sf '${lb_URL}v1/objects/$B1' | cmp -s - '$WORK/b1.db'"
check "basic license: not the premium one, which it does not hold" test \
    "$(status "${lb_URL}v1/objects/$P1")" = 404
check "the basic mirror stops cleanly" stop_bg lb
check "the licensed origin stops cleanly" stop_bg lo

# ---------------------------------------------------------------------
# 3. 503 and 429 at start-up (above): the mirrors retry by themselves, no
# sooner than they should
# recovered URL DIR: the mirror serves the origin's serial, and says so
recovered() {
	test "$(serial_of "$1" main)" = "$OS" && test "$(nevents "$2" sync-done)" -ge 1
}
check "503: the mirror recovers by itself" wait_for 30 recovered "$ma_URL" "$MA"
check "429: the mirror recovers by itself" wait_for 30 recovered "$mb_URL" "$MB"
# retry_gap DIR: seconds from the first failure to the next sync-start
retry_gap() {
	"$CASCADE" events -d "$1" >"$WORK/gap.ev"
	f=$(grep -m1 ' sync-failed ' "$WORK/gap.ev")
	s=$(sed -n '/ sync-failed /,$p' "$WORK/gap.ev" | grep -m1 ' sync-start ')
	[ -n "$f" ] && [ -n "$s" ] || { echo 0; return; }
	echo $(( $(ev_time "$s") - $(ev_time "$f") ))
}
G503=$(retry_gap "$MA")
G429=$(retry_gap "$MB")
check "503: retried after the backoff (5 s), not at once (took ${G503} s)" \
    test "$G503" -ge 5
check "429: retried no sooner than Retry-After: $RA (took ${G429} s)" \
    test "$G429" -ge "$RA"
check "429: the long-poll's announcement was queued during the failed sync" \
    sh -c "'$CASCADE' events -d '$MB' | sed -n '/sync-failed/,\$p' |
    grep -q 'sync-start - .*(upstream announced serial $OS)'"
check "429: one failure, then a single retry that succeeded" sh -c \
    "'$CASCADE' events -d '$MB' | grep -v sync-queued | cut -d' ' -f2 |
     tr '\n' ' ' | grep -qx 'sync-start sync-failed sync-start sync-channel sync-done '"
check "the 503 mirror stops cleanly" stop_bg ma
check "the 429 mirror stops cleanly" stop_bg mb

# a 500 is told as such by cascade sync
check "peer for the large object starts" start_peer pc "$origin_URL" \
    'fail=1\nstatus=500\n'
M5="$WORK/m500"
mirror_conf "$M5" "$pc_URL" "$O/keys/main.pub"
check "500: cascade sync fails and says so" sh -c \
    "! '$CASCADE' sync -d '$M5' 2>'$WORK/m5.err' &&
     grep -q 'upstream answered 500 on the upstream state' '$WORK/m5.err' &&
     '$CASCADE' events -d '$M5' | grep -q 'sync-failed - upstream answered 500'"

# ---------------------------------------------------------------------
# 4. kill -9 in the middle of a large download, then resume
MC="$WORK/mkill"
peer_ctl pc ''
mirror_conf "$MC" "$pc_URL" "$O/keys/main.pub"
check "the mirror syncs the small components first" "$CASCADE" sync -d "$MC"
OLD=$(held_serial "$MC")
head -c $((16 << 20)) /dev/urandom >"$WORK/big.bin"
BIG=$(sha256 "$WORK/big.bin")
BSIZE=$(fsize "$WORK/big.bin")
"$CASCADE" publish -d "$O" big-engine "$WORK/big.bin" --kind engine \
    >/dev/null 2>&1
origin_moved() { test "$(serial_of "$origin_URL" main)" -gt "$OS"; }
check "the origin serves the large object" wait_for 10 origin_moved
NS=$(serial_of "$origin_URL" main)
peer_ctl pc 'slow=1\n'
PART="$MC/objects/tmp/partial-$BIG"
"$CASCADE" sync -d "$MC" >"$WORK/k1.out" 2>&1 &
KPID=$!
check "the slow download is under way (over 4 MB)" wait_for 20 sh -c \
    "test \$(stat -c %s '$PART' 2>/dev/null || echo 0) -gt $((4 << 20))"
kill -9 "$KPID"
wait "$KPID" 2>/dev/null
KEPT=$(fsize "$PART")
check "killed mid-way: a partial file is kept ($KEPT of $BSIZE bytes)" \
    test "$KEPT" -gt 0 -a "$KEPT" -lt "$BSIZE"
check "killed mid-way: the mirror still serves its old state" test \
    "$(held_serial "$MC")" = "$OLD"
check "killed mid-way: cascade verify passes" "$CASCADE" verify -d "$MC"
check "killed mid-way: cascade status says the last sync was cut short" \
    sh -c "'$CASCADE' status -d '$MC' | grep -q 'the last sync was cut short'"
peer_ctl pc ''
check "the next sync completes" sh -c \
    "'$CASCADE' sync -d '$MC' >'$WORK/k2.out' 2>&1"
WHOLE=$(sed -n 's/.* \([0-9]*\) whole.*/\1/p' "$WORK/k2.out")
check "it resumed: $KEPT kept + ${WHOLE:-?} fetched < 1.5 x $BSIZE" \
    test $((KEPT + ${WHOLE:-999999999})) -lt $((BSIZE * 3 / 2))
check "it asked for the rest only (Range: bytes=$KEPT-)" grep -q \
    "/v1/objects/$BIG 206 range=bytes=$KEPT- sent=$((BSIZE - KEPT))" \
    "$WORK/pc.plog"
check "the mirror now holds the new serial" test "$(held_serial "$MC")" = "$NS"
check "the large object is whole" test \
    "$(sha256 "$MC/objects/$(echo "$BIG" | cut -c1-2)/$BIG")" = "$BIG"
check "cascade verify passes" "$CASCADE" verify -d "$MC"
check "no partial file is left" test ! -e "$PART"

# ---------------------------------------------------------------------
# 5. a byte flipped in transit: never published, never resumed
MD="$WORK/mflip"
mirror_conf "$MD" "$pc_URL" "$O/keys/main.pub"
peer_ctl pc 'flip=1\n'
check "flipped: the sync fails" sh -c \
    "! '$CASCADE' sync -d '$MD' >/dev/null 2>'$WORK/f.err'"
check "flipped: the reason names the signed hash" grep -q \
    'does not match its signed hash' "$WORK/f.err"
check "flipped: the bytes went through the peer flipped" grep -q \
    "/v1/objects/.* 200 .* flipped" "$WORK/pc.plog"
check "flipped: nothing published" test ! -e "$MD/channels/main/current"
check "flipped: no partial download is kept to be resumed" sh -c \
    "test -z \"\$(ls '$MD/objects/tmp' | grep partial-)\""
check "flipped: cascade verify passes" "$CASCADE" verify -d "$MD"
peer_ctl pc ''
check "healthy again: the sync succeeds" "$CASCADE" sync -d "$MD"
check "healthy again: the mirror holds the origin's serial" test \
    "$(held_serial "$MD")" = "$NS"
check "healthy again: cascade verify passes" "$CASCADE" verify -d "$MD"

# ---------------------------------------------------------------------
# 6. syncs asked for while one runs: queued once, run once
ME="$WORK/mqueue"
mirror_conf "$ME" "$pc_URL" "$O/keys/main.pub" 'sync_at_startup = yes\n'
peer_ctl pc 'slow=1\n'
check "a mirror of the slow peer starts" serve_bg me "$ME"
check "its first sync is under way" wait_for 20 sh -c \
    "test \$(stat -c %s '$ME/objects/tmp/partial-$BIG' 2>/dev/null || echo 0) -gt $((1 << 20))"
check "cascade sync --now while it runs" "$CASCADE" sync -d "$ME" --now
check "cascade sync --now again" "$CASCADE" sync -d "$ME" --now
check "... the first sync still runs" test -e "$ME/objects/tmp/partial-$BIG"
two_done() { test "$(nevents "$ME" sync-done)" -ge 2; }
check "the first sync ends, then the queued one" wait_for 30 two_done
serves_new() { test "$(serial_of "$me_URL" main)" = "$NS"; }
check "the mirror serves the origin's serial" wait_for 10 serves_new
check "the queueing mirror stops cleanly" stop_bg me
"$CASCADE" events -d "$ME" >"$WORK/me.ev"
check "exactly one sync-queued event" test \
    "$(grep -c ' sync-queued ' "$WORK/me.ev")" = 1
check "exactly two syncs ran: the first, then the queued one" test \
    "$(grep -c ' sync-start ' "$WORK/me.ev")" = 2
check "the queued one ran after the first had ended" sh -c \
    "grep -e ' sync-start ' -e ' sync-done ' '$WORK/me.ev' |
     cut -d' ' -f2 | tr '\n' ' ' | grep -qx 'sync-start sync-done sync-start sync-done '"
[ "$FAILED" = 0 ] || sed 's/^/    /' "$WORK/me.ev" >&2
exit $FAILED
