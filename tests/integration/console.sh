# The web console in a real browser: origin -> mirror -> one agent, and
# headless chromium (playwright-core) logging in to the mirror's console
# (tests/browser/console.mjs). The screenshot is left in
# build/test-artifacts/console.png.
. "$(dirname "$0")/lib.sh"
: "${CASCADE_AGENT:?set by tests/run}"
top=$(cd "$(dirname "$0")/../.." && pwd)

O="$WORK/origin"
M="$WORK/mirror"
"$CASCADE" init -d "$O" >/dev/null
make_db 2000 1 >"$WORK/p1.db"
(cat "$WORK/p1.db"; make_db 50 2) >"$WORK/p2.db"
"$CASCADE" publish -d "$O" virus-pattern "$WORK/p1.db" >/dev/null 2>&1
check "origin serves" serve_bg origin "$O"
mirror_conf "$M" "$origin_URL" "$O/keys/main.pub"
check "mirror serves" serve_bg mirror "$M"
cat >"$WORK/agent.conf" <<EOF2
server = $mirror_URL
trust = $O/keys/main.pub
dir = $WORK/agent
EOF2
"$CASCADE_AGENT" -c "$WORK/agent.conf" run 2>>"$WORK/agent.log" &
PIDS="$PIDS $!"
check "the agent installs the first version" wait_for 30 \
    cmp -s "$WORK/agent/virus-pattern" "$WORK/p1.db"
if [ ! -d "$top/tests/browser/node_modules/playwright-core" ] ||
    [ ! -x /usr/bin/chromium ]; then
	notok "console: playwright-core or chromium missing (make deps)"
	exit 1
fi
mkdir -p "$top/build/test-artifacts"
node "$top/tests/browser/console.mjs" "$mirror_URL" "$(cat "$M/admin.token")" \
    "$(sed -n 's/^id //p' "$WORK/agent/.cascade/agent")" \
    "'$CASCADE' publish -d '$O' virus-pattern '$WORK/p2.db'" \
    "cmp -s '$WORK/agent/virus-pattern' '$WORK/p2.db'" \
    "$top/build/test-artifacts/console.png" || FAILED=1
check "mirror stops cleanly" stop_bg mirror
check "origin stops cleanly" stop_bg origin
exit $FAILED
