# cascade-agent against real servers on loopback: enrolment, syncs whole
# and by delta, rollback, post_update (passing and failing), a channel
# signed by an untrusted key, a corrupted download (refused, then retried
# by `run`), a first server that is down, kill -9 in the middle of a
# download (the old version stays; the next sync resumes with Range),
# a full disk, config_once_per_day, pause, a corrupt state file, a
# replayed old manifest, a server with licenses, the notification
# listener (a correct push, and every wrong request), `run` reacting to a
# long-poll within seconds, SIGHUP and SIGTERM. The faults come from a
# small HTTP peer (python3, 127.0.0.1 only) in front of the origin.
. "$(dirname "$0")/lib.sh"

: "${CASCADE_AGENT:?set by tests/run}"

O="$WORK/origin"
"$CASCADE" init -d "$O" >/dev/null
make_db 4000 1 >"$WORK/p1.db"
(cat "$WORK/p1.db"; make_db 100 2) >"$WORK/p2.db"
(cat "$WORK/p2.db"; make_db 100 3) >"$WORK/p3.db"
(cat "$WORK/p3.db"; make_db 100 4) >"$WORK/p4.db"
(cat "$WORK/p4.db"; make_db 100 5) >"$WORK/p5.db"
make_db 2000 11 >"$WORK/e1.db"
printf 'scan = fast\n' >"$WORK/c1.ini"
printf 'scan = thorough\n' >"$WORK/c2.ini"
printf 'scan = labs\n' >"$WORK/labs.ini"
# pub ARGS: cascade publish; once the origin serves, until it serves it
serial_moved() { test "$(serial_of "$BASE/" main)" != "$1"; }
pub() {
	before=$(serial_of "${BASE:-http://127.0.0.1:1}/" main 2>/dev/null)
	"$CASCADE" publish -d "$O" "$@" >/dev/null 2>&1 || return 1
	[ -z "${BASE:-}" ] || wait_for 20 serial_moved "$before"
}
pub virus-pattern "$WORK/p1.db"
pub scan-engine "$WORK/e1.db" --kind engine
pub config/default "$WORK/c1.ini" --kind config
pub config/labs "$WORK/labs.ini" --kind config
check "the origin serves" start_server "$O"
# the first manifest, for a replay later
curl -s -o "$WORK/old.manifest" "$BASE/v1/channels/main/manifest"
curl -s -o "$WORK/old.minisig" "$BASE/v1/channels/main/manifest.minisig"
moved_to() { test "$(serial_of "$BASE/" main)" = "$1"; }

# agent_conf NAME [LINES]: $WORK/NAME.conf, for an agent whose dir is
# $WORK/NAME, with LINES (\n escapes) added; SERVERS overrides the server.
agent_conf() {
	printf 'server = %s\ntrust = %s\ndir = %s\nnotify = none\n%b' \
	    "${SERVERS:-$BASE/}" "$O/keys/*.pub" "$WORK/$1" "${2:-}" \
	    >"$WORK/$1.conf"
}
# ag NAME ARGS...: cascade-agent with NAME's configuration; stderr in
# $WORK/NAME.err, stdout in $WORK/NAME.out.
ag() {
	n=$1
	shift
	"$CASCADE_AGENT" -c "$WORK/$n.conf" "$@" >"$WORK/$n.out" 2>"$WORK/$n.err"
}
same() { cmp -s "$1" "$2"; }
# says NAME PATTERN ARGS...: cascade-agent ARGS succeeds, PATTERN on stdout
says() { n=$1 p=$2; shift 2; ag "$n" "$@" && grep -q -- "$p" "$WORK/$n.out"; }
# fails NAME PATTERN ARGS...: cascade-agent ARGS fails, PATTERN on stderr
fails() { n=$1 p=$2; shift 2; ! ag "$n" "$@" && grep -q -- "$p" "$WORK/$n.err"; }
stop_pid() { kill -TERM "$1" && wait "$1"; }
agent_state() {	# agent_state ID: its state in `cascade agents`
	"$CASCADE" agents -d "$O" | awk -v id="$1" '$1 == id { print $2 }'
}
agent_id() { sed -n 's/^id //p' "$WORK/$1/.cascade/agent"; }

# ---- the binary ---------------------------------------------------------
no_db_libs() { ! ldd "$1" | grep -E -q 'libsqlite3|libpq'; }
check "cascade-agent links no database library" no_db_libs "$CASCADE_AGENT"
REL="$(dirname "$CASCADE_AGENT")/../cascade-agent"
if [ -x "$REL" ]; then
	check "the release cascade-agent links none either" no_db_libs "$REL"
fi
check "no command: usage, exit 2" sh -c \
    "'$CASCADE_AGENT' 2>'$WORK/u.err'; test \$? = 2 && grep -q usage '$WORK/u.err'"
check "an unknown command: exit 2" sh -c "'$CASCADE_AGENT' frobnicate 2>/dev/null; test \$? = 2"
check "rollback without a component: exit 2" sh -c \
    "'$CASCADE_AGENT' -c /dev/null rollback 2>/dev/null; test \$? = 2"
check "sample prints a commented agent.conf" sh -c \
    "'$CASCADE_AGENT' sample | grep -q '^server = '"
check "a missing agent.conf is a clear error" sh -c \
    "! '$CASCADE_AGENT' -c '$WORK/none.conf' status 2>'$WORK/m.err' &&
     grep -q 'none.conf' '$WORK/m.err'"

# ---- enrolment and the first sync --------------------------------------
agent_conf a "post_update = echo \"\$CASCADE_UPDATED\" >>$WORK/a.post\n"
check "enroll on an open server" ag a enroll
check "enroll says the id" grep -q '^enrolled as [0-9a-f]\{32\} with ' "$WORK/a.out"
check "the identity is kept with mode 0600" test \
    "$(stat -c %a "$WORK/a/.cascade/agent")" = 600
A_ID=$(agent_id a)
check "the server lists the agent" test "$(agent_state "$A_ID")" = licensed
check "enroll again: already enrolled" sh -c \
    "'$CASCADE_AGENT' -c '$WORK/a.conf' enroll | grep -q 'already enrolled as $A_ID'"
check "sync installs (exit 0)" ag a sync
check "the pattern is the published file" same "$WORK/a/virus-pattern" "$WORK/p1.db"
check "the engine too" same "$WORK/a/scan-engine" "$WORK/e1.db"
check "the group's configuration file (config/default)" same \
    "$WORK/a/config/default" "$WORK/c1.ini"
check "not another group's" test ! -e "$WORK/a/config/labs"
check "post_update ran once, with CASCADE_UPDATED" sh -c \
    "test \"\$(cat '$WORK/a.post')\" = 'virus-pattern,scan-engine,config/default' ||
     test \"\$(tr ',' '\n' <'$WORK/a.post' | sort | tr '\n' ' ')\" = 'config/default scan-engine virus-pattern '"
check "the server holds the agent's report: current" test \
    "$(agent_state "$A_ID")" = current
rm -f "$WORK/a.post"
check "a second sync is current (exit 0)" ag a sync
check "... and says so" grep -q 'sync done: current' "$WORK/a.err"
check "... and runs no post_update" test ! -e "$WORK/a.post"
status_a() {
	ag a status && grep -q "^agent  *$A_ID (licensed" "$WORK/a.out" &&
	    grep -q 'virus-pattern  *version 1 ' "$WORK/a.out" &&
	    grep -q '^last sync.*: ok: current' "$WORK/a.out"
}
check "status shows the versions and the last result" status_a

# ---- a new version: by delta; rollback ----------------------------------
pub virus-pattern "$WORK/p2.db"
check "sync takes version 2" ag a sync
check "the pattern is version 2" same "$WORK/a/virus-pattern" "$WORK/p2.db"
check "it came by delta" grep -q "'virus-pattern': delta from version 1 to 2" \
    "$WORK/a/.cascade/log"
check "post_update names the pattern alone" test "$(cat "$WORK/a.post")" = virus-pattern
check "rollback virus-pattern" ag a rollback virus-pattern
check "... says what it did" grep -q "rolled back 'virus-pattern' from version 2 to 1" \
    "$WORK/a.out"
check "... the file is version 1 again" same "$WORK/a/virus-pattern" "$WORK/p1.db"
check "a sync keeps the rolled-back version (exit 0)" ag a sync
check "... still version 1" same "$WORK/a/virus-pattern" "$WORK/p1.db"
check "... held, it says" grep -q 'virus-pattern held at 1 (rolled back)' "$WORK/a.err"
check "the server sees the agent behind" test "$(agent_state "$A_ID")" = behind
check "rollback again returns to version 2" says a 'to 2$' rollback virus-pattern
check "... the file is version 2" same "$WORK/a/virus-pattern" "$WORK/p2.db"
check "rollback of a component never installed fails" fails a \
    "no component 'nothing-here'" rollback nothing-here

# ---- a failing post_update ---------------------------------------------
agent_conf b 'post_update = echo scanner broken && exit 3\n'
check "failing post_update: sync exits non-zero, with the command's status and first line" \
    fails b 'sync failed: post_update exited 3: scanner broken' sync
check "... the update stays installed" same "$WORK/b/virus-pattern" "$WORK/p2.db"
check "... status says failed" says b \
    'failed: post_update exited 3: scanner broken' status
check "... the server shows the agent failed" test "$(agent_state "$(agent_id b)")" = failed

# ---- a channel signed by a key the agent does not trust ------------------
"$CASCADE" keygen -o "$WORK/other" >/dev/null 2>&1
printf 'server = %s\ntrust = %s\ndir = %s\nnotify = none\n' "$BASE/" \
    "$WORK/other.pub" "$WORK/c" >"$WORK/c.conf"
check "untrusted signer: sync fails, saying so" fails c \
    "channel 'main' is signed by no trusted key" sync
check "... nothing installed" test ! -e "$WORK/c/virus-pattern"
check "... the agent reports failed" test "$(agent_state "$(agent_id c)")" = failed

# ---- a corrupt state file ----------------------------------------------
mkdir -p "$WORK/s/.cascade"
printf 'cascade-agent-state 1\ncomponent ../../etc/passwd\nend\n' \
    >"$WORK/s/.cascade/state"
agent_conf s
check "a corrupt state: sync fails, naming the file and the line" fails s \
    "state file '.*/s/.cascade/state' is unusable (line 2" sync

# ---- the fault peer ------------------------------------------------------
# faultpeer.py (its control keys, and its log: a line per request,
# "METHOD PATH STATUS range=R sent=N") in front of the origin.
printf '' >"$WORK/peer.ctl"
python3 "$(dirname "$0")/faultpeer.py" "$BASE/" "$WORK/peer.ctl" \
    "$WORK/peer.log" "$WORK/peer.port" 2>"$WORK/peer.err" &
PIDS="$PIDS $!"
check "the fault peer starts" wait_for 10 test -s "$WORK/peer.port"
PEER="http://127.0.0.1:$(cat "$WORK/peer.port")/"
peer() { printf '%b' "$1" >"$WORK/peer.ctl"; }

# ---- a corrupted download: refused, and `run` retries -------------------
peer 'flip=1\n'
SERVERS=$PEER agent_conf d
check "corrupted download: sync fails" fails d 'sync failed' sync
check "... the object went through flipped" grep -q \
    '^GET /v1/objects/.* 200 .* flipped' "$WORK/peer.log"
check "... refused: not the signed hash" grep -q \
    "does not match its signed hash" "$WORK/d.err"
check "... nothing installed" test ! -e "$WORK/d/virus-pattern"
check "... no partial download is kept to be resumed" sh -c \
    "test -z \"\$(ls '$WORK/d/.cascade/partial')\""
"$CASCADE_AGENT" -c "$WORK/d.conf" run >"$WORK/d-run.out" 2>"$WORK/d-run.err" &
DPID=$!
PIDS="$PIDS $DPID"
check "run: the first attempt fails too" wait_for 20 grep -q \
    'next attempt in 5 s' "$WORK/d-run.err"
peer ''
check "run: retried after the backoff, it installs" wait_for 20 same \
    "$WORK/d/virus-pattern" "$WORK/p2.db"
check "run stops on SIGTERM with exit 0" stop_pid "$DPID"
PIDS=$(echo " $PIDS " | sed "s/ $DPID / /")

# ---- a busy server (429, Retry-After): `run` waits as asked ------------
SERVERS=$PEER agent_conf r
check "429: an agent enrols through the peer" ag r enroll
peer 'fail=1\nstatus=429\nretry_after=7\n'
"$CASCADE_AGENT" -c "$WORK/r.conf" run >"$WORK/r-run.out" 2>"$WORK/r-run.err" &
RPID=$!
PIDS="$PIDS $RPID"
check "429: the sync fails, saying the server is busy" wait_for 20 grep -q \
    'sync failed: server .* unavailable: HTTP 429' "$WORK/r-run.err"
check "429: the next attempt waits for Retry-After (7 s), not 5 s" grep -q \
    'next attempt in 7 s' "$WORK/r-run.err"
check "429: then it installs" wait_for 20 same "$WORK/r/virus-pattern" \
    "$WORK/p2.db"
check "429: run stops on SIGTERM with exit 0" stop_pid "$RPID"
PIDS=$(echo " $PIDS " | sed "s/ $RPID / /")
peer ''

# ---- a replayed old manifest: rollback refused ---------------------------
SERVERS=$PEER agent_conf x
check "replay: an agent syncs" ag x sync
peer "replay=$WORK/old\n"
check "replay: an old manifest announced as new is refused" fails x \
    "channel 'main': rollback refused: serial [0-9]* is lower than the [0-9]* held" sync
check "replay: the content is unchanged" same "$WORK/x/virus-pattern" "$WORK/p2.db"
peer ''
check "replay: the real server again: current" ag x sync

# ---- the first server down: the second one serves ----------------------
DOWN=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SERVERS="http://127.0.0.1:$DOWN/ $BASE/" agent_conf e
check "first server down: sync succeeds" ag e sync
check "... installed from the second" same "$WORK/e/virus-pattern" "$WORK/p2.db"
check "... after trying the first" grep -q \
    "server 'http://127.0.0.1:$DOWN/': .*; trying the next one" "$WORK/e.err"

# ---- a full disk ------------------------------------------------------------
# the download of the pattern goes to /dev/full: every write is ENOSPC
agent_conf n
mkdir -p "$WORK/n/.cascade/partial"
ln -s /dev/full "$WORK/n/.cascade/partial/$(sha256 "$WORK/p2.db")"
check "disk full: sync fails, saying so" fails n \
    "sync failed: disk full while downloading 'virus-pattern'" sync
check "... the pattern is not installed" test ! -e "$WORK/n/virus-pattern"
check "... the other components are" same "$WORK/n/scan-engine" "$WORK/e1.db"
check "... the server has the reason" sh -c \
    "'$CASCADE' agents -d '$O' | grep '^$(agent_id n) ' |
     grep -q 'failed .*disk full while downloading'"
rm -f "$WORK/n/.cascade/partial/$(sha256 "$WORK/p2.db")"
check "room again: the sync completes" ag n sync
check "... the pattern is installed" same "$WORK/n/virus-pattern" "$WORK/p2.db"

# ---- kill -9 during a slow download, then resume -------------------------
head -c $((12 << 20)) /dev/urandom >"$WORK/big1.bin"
head -c $((12 << 20)) /dev/urandom >"$WORK/big2.bin"
pub big-engine "$WORK/big1.bin" --kind engine
SERVERS=$PEER agent_conf f 'components = big-engine\n'
check "an agent takes big-engine version 1" ag f sync
check "... whole" same "$WORK/f/big-engine" "$WORK/big1.bin"
pub big-engine "$WORK/big2.bin" --kind engine
BIG2=$(sha256 "$WORK/big2.bin")
PART="$WORK/f/.cascade/partial/$BIG2"
peer 'slow=1\ndeltas=404\n'
"$CASCADE_AGENT" -c "$WORK/f.conf" sync >"$WORK/f1.out" 2>&1 &
KPID=$!
check "the slow download is under way (over 2 MB)" wait_for 30 sh -c \
    "test \$(stat -c %s '$PART' 2>/dev/null || echo 0) -gt $((2 << 20))"
kill -9 "$KPID"
wait "$KPID" 2>/dev/null
KEPT=$(stat -c %s "$PART")
check "killed: the previous version is intact" same "$WORK/f/big-engine" \
    "$WORK/big1.bin"
check "killed: a partial download is kept ($KEPT bytes)" test \
    "$KEPT" -gt 0 -a "$KEPT" -lt $((12 << 20))
check "killed: status still reads the state" says f 'big-engine  *version 1 ' status
peer 'deltas=404\n'
check "the next sync completes" ag f sync
check "... resumed: it asked for the rest only (Range: bytes=$KEPT-)" grep -q \
    "^GET /v1/objects/$BIG2 206 range=bytes=$KEPT- sent=$(( (12 << 20) - KEPT ))" \
    "$WORK/peer.log"
check "... and says so" grep -q "'big-engine': resuming the download at $KEPT" \
    "$WORK/f.err"
check "... version 2 is installed, whole" same "$WORK/f/big-engine" "$WORK/big2.bin"
check "... the previous one is kept for rollback" same \
    "$WORK/f/.cascade/prev/big-engine" "$WORK/big1.bin"
check "... no partial file is left" test ! -e "$PART"
peer ''

# ---- config_once_per_day -------------------------------------------------
agent_conf g 'config_once_per_day = yes\ncomponents = virus-pattern config/default\n'
check "once a day: the first sync takes the configuration" ag g sync
check "... config/default version 1" same "$WORK/g/config/default" "$WORK/c1.ini"
pub config/default "$WORK/c2.ini" --kind config
pub virus-pattern "$WORK/p3.db"
check "once a day: the next sync succeeds" ag g sync
check "... takes the pattern" same "$WORK/g/virus-pattern" "$WORK/p3.db"
check "... but not the second configuration the same day" same \
    "$WORK/g/config/default" "$WORK/c1.ini"
check "... and says it is left for tomorrow" grep -q 'left for tomorrow' "$WORK/g.err"
check "... and not big-engine, which is not in its list" test ! -e "$WORK/g/big-engine"
# the day after: the state's day of the last take set back one day
YESTERDAY=$(date -d yesterday +%Y-%m-%d)
sed -i "s/^config_day .*/config_day $YESTERDAY/" "$WORK/g/.cascade/state"
check "the next day: the configuration is taken" ag g sync
check "... config/default version 2" same "$WORK/g/config/default" "$WORK/c2.ini"

# ---- pause ---------------------------------------------------------------
agent_conf p 'user_may_disable = no\n'
check "pause refused without user_may_disable" fails p 'user_may_disable = no' pause
check "pause allowed by default" ag g pause
check "... status says paused" says g '^next sync  *paused' status
check "resume" ag g resume
check "... status no longer says paused" sh -c \
    "! '$CASCADE_AGENT' -c '$WORK/g.conf' status | grep -q paused"

# ---- a server with licenses: enrolment keys, pending, licensed ----------
L="$WORK/licensed"
"$CASCADE" init -d "$L" >/dev/null
printf '\n[agents]\nauto_license = no\n[editions]\norder = standard, premium\n' \
    >>"$L/cascade.conf"
"$CASCADE" publish -d "$L" virus-pattern "$WORK/p1.db" >/dev/null 2>&1
"$CASCADE" publish -d "$L" premium-engine "$WORK/e1.db" --kind engine \
    --edition premium >/dev/null 2>&1
KEY=AGENT-7Q2M-44XZ
"$CASCADE" license add -d "$L" "$KEY" --edition standard >/dev/null 2>&1
check "a server with licenses starts" serve_bg lic "$L"
lic_conf() {
	printf 'server = %s\ntrust = %s\ndir = %s\nnotify = none\n%b' \
	    "$lic_URL" "$L/keys/main.pub" "$WORK/$1" "${2:-}" >"$WORK/$1.conf"
}
lic_conf k1
check "licenses: enrolling without a key is refused, saying why" fails k1 \
    'requires an enrolment key' enroll
lic_conf k2 'enroll_key = WRONG-0000-0000\n'
check "licenses: a wrong key is refused" fails k2 'rejected the enrolment key' enroll
check "licenses: ... and no identity is kept" test ! -e "$WORK/k2/.cascade/agent"
lic_conf k3 "enroll_key = $KEY\n"
check "licenses: the right key enrols" says k3 'enrolled as' enroll
check "licenses: ... pending, it says" grep -q 'not licensed yet' "$WORK/k3.err"
check "licenses: status shows pending" says k3 '(pending' status
# the server takes new agents into its credential set on its next refresh
# (the server's credential set follows on its next refresh)
k3_gets() {
	test "$(curl -s -o /dev/null -w '%{http_code}' \
	    -H "X-Cascade-Agent: $(agent_id k3)" \
	    -H "Authorization: Bearer $(sed -n 's/^token //p' "$WORK/k3/.cascade/agent")" \
	    "${lic_URL}v1/channels/main/manifest")" = "$1"
}
check "licenses: the server knows the new agent (403, not 401)" wait_for 20 \
    k3_gets 403
check "licenses: a pending agent's sync fails: not licensed yet" fails k3 \
    'sync failed: not licensed yet' sync
check "licenses: ... nothing installed" test ! -e "$WORK/k3/virus-pattern"
check "licenses: the server shows it pending" sh -c \
    "'$CASCADE' agents -d '$L' | grep '^$(agent_id k3) ' | grep -q ' pending '"
"$CASCADE" agents -d "$L" license "$(agent_id k3)" >/dev/null 2>&1
check "licenses: the server takes the license" wait_for 20 k3_gets 200
check "licenses: licensed on the server, the sync installs" ag k3 sync
check "licenses: ... the file" same "$WORK/k3/virus-pattern" "$WORK/p1.db"
check "licenses: a higher edition's component is skipped (403), said so" \
    grep -q "'premium-engine' version 1: not licensed to this agent (403); skipped" \
    "$WORK/k3.err"
check "licenses: ... and not installed" test ! -e "$WORK/k3/premium-engine"
check "licenses: status shows licensed" says k3 '(licensed' status
check "licenses: the server shows it current" sh -c \
    "'$CASCADE' agents -d '$L' | grep '^$(agent_id k3) ' | grep -q ' current '"
check "the server with licenses stops cleanly" stop_bg lic

# ---- the notification listener ---------------------------------------------
agent_conf h 'notify = listen 127.0.0.1:0\n'
"$CASCADE_AGENT" -c "$WORK/h.conf" run >"$WORK/h-run.out" 2>"$WORK/h-run.err" &
HPID=$!
PIDS="$PIDS $HPID"
check "listen: run syncs and listens" wait_for 20 grep -q \
    'listening for notifications on http://127.0.0.1:[0-9]*/v1/notify' \
    "$WORK/h-run.err"
NURL=$(sed -n 's|.*listening for notifications on \(http://[^ ]*\)|\1|p' \
    "$WORK/h-run.err" | head -1)
HTOK=$(sed -n 's/^token //p' "$WORK/h/.cascade/agent")
NKEY=$(printf 'cascade notify\000%s' "$HTOK" | sha256sum | cut -d' ' -f1)
check "listen: a correct push is accepted (204)" test "$(status "$NURL" -X POST \
    -H "Authorization: Bearer $NKEY" --data-binary '{"serial": 1}')" = 204
check "listen: ... and logged" wait_for 10 grep -q \
    'notification received from 127.0.0.1' "$WORK/h/.cascade/log"
check "listen: a wrong key is refused (401)" test "$(status "$NURL" -X POST \
    -H "Authorization: Bearer $(echo "$NKEY" | tr 0-9a-f 1-9a-f0)" \
    --data-binary '{"serial": 1}')" = 401
check "listen: the token itself is refused (401)" test "$(status "$NURL" -X POST \
    -H "Authorization: Bearer $HTOK" --data-binary '{}')" = 401
check "listen: no key is refused (401)" test "$(status "$NURL" -X POST \
    --data-binary '{"serial": 1}')" = 401
check "listen: another method is refused (405)" test \
    "$(status "$NURL" -H "Authorization: Bearer $NKEY")" = 405
check "listen: another path is refused (404)" test "$(status \
    "${NURL%/v1/notify}/v1/state" -X POST -H "Authorization: Bearer $NKEY")" = 404
check "listen: a large body is refused (413)" sh -c \
    "head -c 100000 /dev/zero | tr '\\0' x >'$WORK/big.body' &&
     test \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $NKEY' --data-binary @'$WORK/big.body' '$NURL')\" = 413"
check "listen: the refusals are logged" grep -q \
    'notification from 127.0.0.1 refused: wrong key' "$WORK/h/.cascade/log"
pub virus-pattern "$WORK/p4.db"
check "listen: a publish is pushed by the server and installed" wait_for 30 \
    same "$WORK/h/virus-pattern" "$WORK/p4.db"
kill -HUP "$HPID"
check "listen: SIGHUP reloads agent.conf" wait_for 10 grep -q 'reloaded' \
    "$WORK/h-run.err"
check "listen: ... and listens again" wait_for 10 sh -c \
    "test \$(grep -c 'listening for notifications' '$WORK/h-run.err') = 2"
check "listen: run exits 0 on SIGTERM" stop_pid "$HPID"
PIDS=$(echo " $PIDS " | sed "s/ $HPID / /")

# ---- long-poll ------------------------------------------------------------
agent_conf i 'notify = longpoll\nschedule = every 24h\n'
"$CASCADE_AGENT" -c "$WORK/i.conf" run >"$WORK/i-run.out" 2>"$WORK/i-run.err" &
IPID=$!
PIDS="$PIDS $IPID"
check "longpoll: run syncs at start" wait_for 20 same "$WORK/i/virus-pattern" \
    "$WORK/p4.db"
rm "$WORK/i/scan-engine"	# behind the agent's back
pub virus-pattern "$WORK/p5.db"
check "longpoll: a publish is installed within seconds" wait_for 15 same \
    "$WORK/i/virus-pattern" "$WORK/p5.db"
check "longpoll: a file removed meanwhile is fetched again" same \
    "$WORK/i/scan-engine" "$WORK/e1.db"
check "longpoll: ... saying so" grep -q \
    "'scan-engine' in '.*' is missing or changed; fetching it again" \
    "$WORK/i/.cascade/log"
check "longpoll: the notification is in the log" grep -q \
    "notified by '$BASE/': serial" "$WORK/i/.cascade/log"
check "longpoll: by delta" grep -q "'virus-pattern': delta from version 4 to 5" \
    "$WORK/i/.cascade/log"
check "longpoll: cascade-agent log shows the syncs" says i \
    'sync done: updated .*virus-pattern 5 (delta)' log
check "longpoll: status names the next scheduled sync" says i \
    '^next sync  *20[0-9-]*T' status
check "longpoll: run exits 0 on SIGTERM" stop_pid "$IPID"
PIDS=$(echo " $PIDS " | sed "s/ $IPID / /")

check "the origin stops cleanly" stop_server
exit $FAILED
