# The shared state on PostgreSQL: a real PostgreSQL in a temporary
# directory (tests/pg.sh). First the db unit tests of the shared tables on
# it (test_db with CASCADE_TEST_PG), the integration tests of agents,
# licenses, events, metrics, the admin API and downstream servers with
# their state there, and four processes
# migrating a new database at once (once); then two `cascade serve` processes,
# each with its own data directory, mirrors of one origin, sharing one
# database: an agent enrolled on one reports to the other, a license added
# on one is used on the other, events from both are one history, and the
# scheduled sync runs once across both (the lease), the other taking over
# when the holder stops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../pg.sh"
trap 'pg_stop; cleanup' EXIT

pg_start
rc=$?
if [ $rc -eq 2 ]; then
	echo "not ok postgresql: postgresql not installed (scripts/install-deps)"
	exit 1
fi
[ $rc -eq 0 ] || { echo "not ok postgresql starts"; exit 1; }
ok "a PostgreSQL starts in a temporary directory"

# ---- the db unit tests of the shared tables --------------------------------
UNIT=$(pg_createdb unit)
CASCADE_TEST_PG=$UNIT "$TESTS_BIN/test_db" >"$WORK/unit.out" 2>"$WORK/unit.err"
urc=$?
grep -a '(postgresql)' "$WORK/unit.out" | sed 's/^\(not \)\{0,1\}ok /&db: /'
if [ $urc -ne 0 ] || ! grep -q '^ok .*(postgresql)' "$WORK/unit.out"; then
	notok "test_db on postgresql exits 0"
	tail -20 "$WORK/unit.err" | sed 's/^/    /' >&2
fi

# ---- the integration tests of the shared tables, on PostgreSQL --------------
# The same scripts, with a cascade whose `init` puts the state of each data
# directory in a PostgreSQL database of its own (named after the script),
# as an operator would: init, state = ... in cascade.conf, and init again
# over it (before anything was published), which makes the first admin
# token there.
PG_PORT=${PG_URL##*:}
PG_PORT=${PG_PORT%%/*}
W="$WORK/cascade-pg"
cat >"$W" <<WRAPPER
#!/bin/sh
[ "\$1" = init ] || exec "$CASCADE" "\$@"
"$CASCADE" "\$@" >/dev/null || exit \$?
dir=
prev=
for a in "\$@"; do
	[ "\$prev" = -d ] && dir=\$a
	prev=\$a
done
n=0
while [ -e "$WORK/db.\$CASCADE_TEST_DB.\$n" ]; do n=\$((n + 1)); done
: >"$WORK/db.\$CASCADE_TEST_DB.\$n"
"$PG_BIN/createdb" -h 127.0.0.1 -p $PG_PORT -U cascade \
    "\${CASCADE_TEST_DB}_\$n" || exit 1
printf '\n[repository]\nstate = postgresql://cascade@127.0.0.1:$PG_PORT/%s\n' \
    "\${CASCADE_TEST_DB}_\$n" >>"\$dir/cascade.conf"
rm -f "\$dir/state.db" "\$dir/state.db-wal" "\$dir/state.db-shm"
exec "$CASCADE" "\$@"
WRAPPER
chmod +x "$W"
for t in agents_api license events metrics admin_api downstreams; do
	CASCADE="$W" CASCADE_TEST_DB="it_$t" sh "$(dirname "$0")/$t.sh" \
	    >"$WORK/$t.out" 2>"$WORK/$t.err"
	trc=$?
	grep -a '^\(not \)\{0,1\}ok ' "$WORK/$t.out" |
	    sed "s/^\(not \)\{0,1\}ok /&$t (postgresql): /"
	if [ $trc -ne 0 ] || grep -q '^not ok' "$WORK/$t.out"; then
		notok "$t on postgresql exits 0"
		tail -20 "$WORK/$t.err" | sed 's/^/    /' >&2
	fi
	check "$t kept its events in postgresql" sh -c \
	    "test \"\$('$PG_BIN/psql' -h 127.0.0.1 -p $PG_PORT -U cascade \
	    -d it_${t}_0 -Atc 'SELECT count(*) FROM events')\" -gt 0"
done

# ---- migrations: processes starting at once on a new database --------------
RACE=$(pg_createdb race)
PIDS_RACE=""
for n in 1 2 3 4; do
	"$CASCADE" init -d "$WORK/race$n" >/dev/null
	printf '\n[repository]\nstate = %s\n' "$RACE" \
	    >>"$WORK/race$n/cascade.conf"
done
for n in 1 2 3 4; do
	"$CASCADE" license list -d "$WORK/race$n" >/dev/null \
	    2>"$WORK/race$n.err" &
	PIDS_RACE="$PIDS_RACE $!"
done
race_ok=0
for p in $PIDS_RACE; do wait "$p" || race_ok=1; done
check "four commands opening a new database at once all succeed" \
    test $race_ok -eq 0
check "... and it was migrated once" test "$(cat "$WORK"/race?.err |
    grep -c 'schema version 0 -> 1')" -eq 1
check "its schema version is recorded" test "$("$PG_BIN/psql" -h 127.0.0.1 \
    -p "$PG_PORT" -U cascade -d race -Atc 'SELECT version FROM schema_version')" -ge 1

# ---- two servers, one database ---------------------------------------------
O="$WORK/origin"
"$CASCADE" init -d "$O" >/dev/null
make_db 2000 1 >"$WORK/v1.db"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/v1.db" >/dev/null 2>&1
check "origin serves" serve_bg origin "$O"

# shared DIR: a mirror of the origin on a 2 s schedule, state in PostgreSQL
shared() {
	"$CASCADE" init -d "$1" --channel local >/dev/null
	cp "$O/keys/main.pub" "$1/keys/upstream.pub"
	printf '[repository]\nchannel = local\nstate = %s\n[upstream]\nurl = %s\ntrust = keys/upstream.pub\nschedule = every 2s\nsync_at_startup = no\n' \
	    "$PG_URL" "$origin_URL" >"$1/cascade.conf"
}
A="$WORK/a"
B="$WORK/b"
shared "$A"
shared "$B"
check "server a starts on the shared database" serve_bg a "$A"
check "server b starts on the shared database" serve_bg b "$B"
check "the schema was migrated once" sh -c \
    "test \$(cat '$WORK/a.log' '$WORK/b.log' | grep -c 'schema version 0 -> 1') -eq 1"

# an agent enrols on a, reports to b
curl -s -o "$WORK/enrolled" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' \
    --data-binary '{"hostname": "ws-1"}' "${a_URL}v1/agents" >"$WORK/code"
check "an agent enrols on a (201)" test "$(cat "$WORK/code")" = 201
field() { sed -n "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" "$2"; }
ID=$(field id "$WORK/enrolled")
TOK=$(field token "$WORK/enrolled")
report() {	# report URL: the status of a status report as the agent
	curl -s -o /dev/null -w '%{http_code}' -X PUT \
	    -H "X-Cascade-Agent: $ID" -H "Authorization: Bearer $TOK" \
	    -H 'Content-Type: application/json' --data-binary \
	    '{"hostname": "ws-1-on-b", "agent_version": "0.4.0", "result": "ok", "message": "", "group": "default", "installed": []}' \
	    "$1v1/agents/$ID/status"
}
report_is() { test "$(report "$2")" = "$1"; }
# b knows the agent within a tick of its credential set
check "it reports to b (204)" wait_for 5 report_is 204 "$b_URL"
check "a's agent list shows the report made to b" sh -c \
    "'$CASCADE' agents -d '$A' | grep '^$ID ' | grep -q 'ws-1-on-b'"
check "a wrong token is refused on b too (401)" test "$(curl -s -o /dev/null \
    -w '%{http_code}' -X PUT -H "X-Cascade-Agent: $ID" \
    -H "Authorization: Bearer $(printf '%064d' 0)" \
    --data-binary '{}' "${b_URL}v1/agents/$ID/status")" = 401

# a license added on a is used on b
KEY=SHARED-0000-0001
check "license add on a" "$CASCADE" license add -d "$A" "$KEY" \
    --edition standard
check "b asks anonymous clients for a license at once" wait_for 5 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
    '${b_URL}v1/events?since=0')\" = 401"
check "b serves the license added on a" test "$(status \
    "${b_URL}v1/events?since=0" -H "X-Cascade-License: $KEY")" = 200
check "b lists it" sh -c \
    "'$CASCADE' license list -d '$B' | grep -q 'SHAR…0001 *standard'"
check "a second license, on b" "$CASCADE" license add -d "$B" \
    SHARED-0000-0002 --edition standard
check "license remove on b" "$CASCADE" license remove -d "$B" "$KEY"
check "a refuses the removed license (401)" wait_for 5 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'X-Cascade-License: $KEY' '${a_URL}v1/events?since=0')\" = 401"
check "a serves the one added on b" test "$(status \
    "${a_URL}v1/events?since=0" -H "X-Cascade-License: SHARED-0000-0002")" = 200

# one history
for d in "$A" "$B"; do
	check "events on $(basename "$d") hold the enrolment (a), the report (b) and the licenses" \
	    sh -c "'$CASCADE' events -d '$d' >'$WORK/ev' &&
	    grep -q 'agent-enrolled' '$WORK/ev' &&
	    grep -q 'agent-report' '$WORK/ev' &&
	    grep -q 'added SHAR' '$WORK/ev' && grep -q 'removed SHAR' '$WORK/ev'"
done

# admin tokens and schedules set at run time
# (init made one in each state.db; the first server to start on the
# database made the one there, and wrote it in its directory)
check "one server made the admin token in the database" test "$(cat \
    "$WORK/a.log" "$WORK/b.log" | grep -c 'made the admin token')" -eq 1
if grep -q 'made the admin token' "$WORK/a.log"; then TOKEN=$(cat "$A/admin.token")
else TOKEN=$(cat "$B/admin.token"); fi
check "the admin token made by the first server works on both" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' '${a_URL}v1/admin/summary')\" = 200 &&
     test \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' '${b_URL}v1/admin/summary')\" = 200"
check "a token made on b is accepted on a" sh -c \
    "'$CASCADE' token create -d '$B' ops --role viewer >'$WORK/ops' &&
     test \"\$(curl -s -o /dev/null -w '%{http_code}' -H \"Authorization: Bearer \$(cat '$WORK/ops')\" '${a_URL}v1/admin/agents')\" = 200"
check "a schedule set on a (the one configured) is seen on b" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Authorization: Bearer $TOKEN' \
        -H 'Content-Type: application/json' --data-binary '{\"schedule\": \"every 2s\", \"at_startup\": false}' \
        '${a_URL}v1/admin/schedules/upstream')\" = 200 &&
     curl -s -H 'Authorization: Bearer $TOKEN' '${b_URL}v1/admin/schedules' | grep -q 'every 2s'"

# the schedule runs once across both: one holds the lease, the other
# leaves each of its turns to it
runs() { grep -c "(schedule)" "$WORK/$1.log"; }
check "scheduled syncs run" wait_for 30 sh -c \
    "test \$(( \$(grep -c '(schedule)' '$WORK/a.log') + \$(grep -c '(schedule)' '$WORK/b.log') )) -ge 3"
if [ "$(runs a)" -gt 0 ]; then H=a; O2=b; else H=b; O2=a; fi
check "only $H ran them" test "$(runs "$O2")" -eq 0
check "$O2 left its turns to $H" grep -q "left to another server" \
    "$WORK/$O2.log"

# the holder stops: the other takes over within a period and the margin
check "$H stops" stop_bg "$H"
check "$O2 takes the schedule over" wait_for 40 sh -c \
    "test \$(grep -c '(schedule)' '$WORK/$O2.log') -ge 1"
check "$O2 stops" stop_bg "$O2"
check "the shared history holds each scheduled sync of both, once" sh -c \
    "test \$('$CASCADE' events -d '$A' | grep -c 'sync-start.*(schedule)') -eq \$(( \$(grep -c '(schedule)' '$WORK/a.log') + \$(grep -c '(schedule)' '$WORK/b.log') ))"

exit $FAILED
