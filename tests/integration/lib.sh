# Shared helpers for the integration tests: real binaries on loopback, in
# a temporary directory, polled with deadlines (never a fixed sleep).

: "${CASCADE:?set by tests/run}"
WORK=$(mktemp -d)
SERVER_PID=""
PIDS=""		# background processes of serve_bg and the tests
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && wait "$SERVER_PID" 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

FAILED=0
ok() { echo "ok $1"; }
notok() { echo "not ok $1"; FAILED=1; }
# check NAME COMMAND...: ok when the command succeeds.
check() {
	name=$1
	shift
	if "$@" >"$WORK/check.out" 2>&1; then
		ok "$name"
	else
		notok "$name"
		sed 's/^/    /' "$WORK/check.out" | tail -20 >&2
	fi
}

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
	deadline=$(( $(date +%s) + $1 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# start_server DIR [ADDRESS]: sets SERVER_PID, PORT, BASE.
start_server() {
	: >"$WORK/server.log"
	"$CASCADE" serve -d "$1" --listen "${2:-127.0.0.1:0}" \
	    2>"$WORK/server.log" &
	SERVER_PID=$!
	if ! wait_for 20 grep -q 'serving .* on http://' "$WORK/server.log"; then
		cat "$WORK/server.log" >&2
		return 1
	fi
	HOSTPORT=$(sed -n 's|.* on http://\([^/]*\)/.*|\1|p' \
	    "$WORK/server.log" | head -1)
	PORT=${HOSTPORT##*:}
	BASE="http://$HOSTPORT"
}

# stop_server: SIGTERM, and the exit status must be 0.
stop_server() {
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	rc=$?
	SERVER_PID=""
	return $rc
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }
# status URL [CURL ARGS...]: prints the HTTP status code.
status() {
	url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' "$@" "$url"
}
# Makes a text "signature database" of N records, with seed S.
make_db() {
	awk -v n="$1" -v s="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++)
	    printf "%08x%08x%08x%08x:%d:Win.Test.Sig-%d-%d:73\n",
	    int(rand()*2^31), int(rand()*2^31), int(rand()*2^31),
	    int(rand()*2^31), int(rand()*100000), i, s }'
}

# serve_bg NAME DIR [ADDRESS]: starts one more server; sets NAME_PID and
# NAME_URL (with a trailing slash).
serve_bg() {
	"$CASCADE" serve -d "$2" --listen "${3:-127.0.0.1:0}" \
	    2>"$WORK/$1.log" &
	eval "$1_PID=$!"
	PIDS="$PIDS $!"
	wait_for 20 grep -q 'serving .* on http://' "$WORK/$1.log" || return 1
	eval "$1_URL=http://$(sed -n 's|.* on http://\([^/]*\)/.*|\1|p' \
	    "$WORK/$1.log" | head -1)/"
}
# stop_bg NAME: SIGTERM, and the exit status must be 0.
stop_bg() {
	eval "p=\$$1_PID"
	PIDS=$(echo " $PIDS " | sed "s/ $p / /")	# not killed again
	kill -TERM "$p"
	wait "$p"
}
# mirror_conf DIR URL KEY [EXTRA]: a mirror of URL trusting KEY, its own
# channel "local", EXTRA (with \n escapes) added to [upstream]. A state
# line init left (tests/integration/pg.sh) is kept.
mirror_conf() {
	"$CASCADE" init -d "$1" --channel local >/dev/null
	cp "$3" "$1/keys/upstream.pub"
	state=$(grep '^state = ' "$1/cascade.conf")
	printf '[repository]\nchannel = local\n%s\n[upstream]\nurl = %s\ntrust = keys/upstream.pub\nschedule = every 60m\n%b' \
	    "$state" "$2" "${4:-}" >"$1/cascade.conf"
}
# serial_of URL CHANNEL: the channel's serial in the server's /v1/state.
serial_of() {
	curl -s "${1}v1/state" | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p"
}
