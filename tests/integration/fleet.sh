# A fleet on loopback: origin -> mirror -> four agents with different
# policies, each a real cascade-agent process. A publish at the origin
# reaches every agent by long-poll or push, by delta, and runs its
# post_update; the mirror retries a push to an agent that is down and
# gives up after retry_max; the agent catches up when it starts again;
# config_once_per_day; and `cascade agents` shows each agent's state.
. "$(dirname "$0")/lib.sh"
: "${CASCADE_AGENT:?set by tests/run}"

O="$WORK/origin"
M="$WORK/mirror"
"$CASCADE" init -d "$O" >/dev/null
for v in 1 2 3 4; do
	make_db $((2000 + v * 50)) 1 >"$WORK/p$v.db"
	printf 'scan_archives = yes\nrevision = %s\n' "$v" >"$WORK/gw$v.cfg"
done
"$CASCADE" publish -d "$O" virus-pattern "$WORK/p1.db" >/dev/null 2>&1
"$CASCADE" publish -d "$O" config/default "$WORK/gw1.cfg" --kind config \
    >/dev/null 2>&1
"$CASCADE" publish -d "$O" config/gateways "$WORK/gw1.cfg" --kind config \
    >/dev/null 2>&1
check "origin serves" serve_bg origin "$O"

mirror_conf "$M" "$origin_URL" "$O/keys/main.pub"
cat >>"$M/cascade.conf" <<EOF
[notify]
retry_interval = 1s
retry_max = 2
[group gateways]
config_once_per_day = yes
schedule = every 2s
window = 1s
[group desktops]
components = virus-pattern
post_update = echo "\$CASCADE_UPDATED" >>"$WORK/desktops.out"
EOF
check "mirror starts and syncs" serve_bg mirror "$M"
mirror_at() { test "$(serial_of "$mirror_URL" main)" = "$1"; }
check "mirror holds the origin's channel" wait_for 20 mirror_at 3

# agent NAME GROUP NOTIFY [EXTRA]: writes $WORK/NAME.conf.
agent() {
	cat >"$WORK/$1.conf" <<EOF
server = $mirror_URL
trust = $O/keys/main.pub
dir = $WORK/$1
group = $2
notify = $3
post_update = echo "\$CASCADE_UPDATED" >>"$WORK/$1.updated"
$4
EOF
}
# run_agent NAME: starts it; sets NAME_PID.
run_agent() {
	"$CASCADE_AGENT" -c "$WORK/$1.conf" run 2>>"$WORK/$1.log" &
	eval "$1_PID=$!"
	PIDS="$PIDS $!"
}
# holds NAME FILE: the agent's installed virus-pattern is FILE.
holds() { cmp -s "$WORK/$1/virus-pattern" "$2"; }
id_of() { sed -n 's/^id //p' "$WORK/$1/.cascade/agent"; }
# state_of NAME: the agent's state as `cascade agents --json` shows it.
state_of() {
	"$CASCADE" agents -d "$M" --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a["id"] == sys.argv[1]:
        print(a["state"])' "$(id_of "$1")"
}
is_state() { test "$(state_of "$1")" = "$2"; }

agent lp default longpoll			# long-poll, default group
agent gw gateways "listen 127.0.0.1:0"		# pushed to
agent dt desktops longpoll "server_post_update = yes"
agent bad default longpoll
sed -i 's|^post_update = .*|post_update = echo "cannot reload the scanner" >\&2; exit 3|' \
    "$WORK/bad.conf"
for a in lp gw dt bad; do run_agent $a; done
for a in lp gw dt bad; do
	check "agent $a enrols and installs at start" wait_for 30 holds $a \
	    "$WORK/p1.db"
done
check "the long-poll agent took its group's configuration" cmp -s \
    "$WORK/lp/config/default" "$WORK/gw1.cfg"
check "the gateway agent took its group's configuration" cmp -s \
    "$WORK/gw/config/gateways" "$WORK/gw1.cfg"
check "the desktop agent takes only what its group selects" \
    test ! -e "$WORK/dt/config/default"
for a in lp gw dt; do
	check "agent $a is current" wait_for 20 is_state $a current
done
check "the agent whose post_update fails is failed" wait_for 20 \
    is_state bad failed
check "... with the command's message" sh -c \
    "'$CASCADE' agents -d '$M' | grep '$(id_of bad)' | grep -q 'exited 3'"

# a publish at the origin: every agent within seconds, by delta, and its
# post_update runs with the updated components named
"$CASCADE" publish -d "$O" virus-pattern "$WORK/p2.db" >/dev/null 2>&1
for a in lp gw dt bad; do
	check "agent $a installs the publish within seconds" wait_for 30 \
	    holds $a "$WORK/p2.db"
done
for a in lp gw dt bad; do
	check "agent $a took it by delta" sh -c \
	    "'$CASCADE_AGENT' -c '$WORK/$a.conf' log |
	     grep -q \"'virus-pattern': delta from version 1 to 2\""
done
check "post_update ran with CASCADE_UPDATED (long-poll agent)" \
    grep -qx virus-pattern "$WORK/lp.updated"
check "post_update ran with CASCADE_UPDATED (pushed agent)" \
    grep -qx virus-pattern "$WORK/gw.updated"
check "the group's post_update ran on the desktop agent" \
    grep -qx virus-pattern "$WORK/desktops.out"
check "the mirror pushed to the listening agent" sh -c \
    "'$CASCADE' events -d '$M' | grep notify-sent | grep -q '$(id_of gw)'"
check "the listening agent logged the push" sh -c \
    "'$CASCADE_AGENT' -c '$WORK/gw.conf' log | grep -qi notif"
check "the previous version is kept for rollback" \
    cmp -s "$WORK/lp/.cascade/prev/virus-pattern" "$WORK/p1.db"

# config_once_per_day: a second configuration the same day is not taken,
# a pattern is
"$CASCADE" publish -d "$O" config/gateways "$WORK/gw2.cfg" --kind config \
    >/dev/null 2>&1
"$CASCADE" publish -d "$O" virus-pattern "$WORK/p3.db" >/dev/null 2>&1
check "the gateway agent takes the pattern" wait_for 30 holds gw \
    "$WORK/p3.db"
check "... not the second configuration of the day" \
    cmp -s "$WORK/gw/config/gateways" "$WORK/gw1.cfg"
check "so the mirror shows it behind" wait_for 20 is_state gw behind
check "... on its configuration" sh -c \
    "'$CASCADE' agents -d '$M' | grep '$(id_of gw)' | grep -q config/gateways"
check "the long-poll agent is current again" wait_for 20 is_state lp current

# the listening agent down: the push is retried every retry_interval and
# given up after retry_max
gw_id=$(id_of gw)
kill -TERM "$gw_PID"
check "the agent stops cleanly on SIGTERM" wait "$gw_PID"
PIDS=$(echo " $PIDS " | sed "s/ $gw_PID / /")
before=$("$CASCADE" events -d "$M" | grep -c "notify-failed $gw_id")
"$CASCADE" publish -d "$O" virus-pattern "$WORK/p4.db" >/dev/null 2>&1
check "the mirror gives up on the agent after retry_max" wait_for 30 sh -c \
    "'$CASCADE' events -d '$M' | grep -q 'notify-gave-up $gw_id'"
after=$("$CASCADE" events -d "$M" | grep -c "notify-failed $gw_id")
check "... after 1 + retry_max attempts" test $((after - before)) -eq 2
check "the agent that is down shows offline" wait_for 30 is_state gw offline
for a in lp dt bad; do
	check "agent $a has the latest" wait_for 30 holds $a "$WORK/p4.db"
done
run_agent gw
check "the agent started again catches up" wait_for 30 holds gw \
    "$WORK/p4.db"
check "... and is no longer offline" wait_for 20 is_state gw behind
check "states: long-poll agent current" is_state lp current
check "states: desktop agent current" is_state dt current
check "states: failing post_update still failed" is_state bad failed

for a in lp gw dt bad; do
	eval "p=\$${a}_PID"
	kill -TERM "$p"
	check "agent $a exits 0 on SIGTERM" wait "$p"
	PIDS=$(echo " $PIDS " | sed "s/ $p / /")
done
check "mirror stops cleanly" stop_bg mirror
check "origin stops cleanly" stop_bg origin
exit $FAILED
