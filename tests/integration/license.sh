# Licenses and editions on a running server: open to all with no license;
# once one is added (the server running), every endpoint but /v1/state asks
# for one (401 with WWW-Authenticate), an object of a higher edition is 403,
# and a removed license is refused, each within a second, without restart.
. "$(dirname "$0")/lib.sh"

D="$WORK/var"
"$CASCADE" init -d "$D" >/dev/null
printf '\n[editions]\norder = basic, business, premium\n' >>"$D/cascade.conf"
make_db 3000 1 >"$WORK/b1.db"
(cat "$WORK/b1.db"; make_db 50 2) >"$WORK/b2.db"
make_db 3000 3 >"$WORK/p1.db"
(cat "$WORK/p1.db"; make_db 50 4) >"$WORK/p2.db"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/b1.db" --edition basic \
    >/dev/null 2>&1
"$CASCADE" publish -d "$D" virus-pattern "$WORK/b2.db" >/dev/null 2>&1
"$CASCADE" publish -d "$D" scan-engine "$WORK/p1.db" --edition premium \
    >/dev/null 2>&1
"$CASCADE" publish -d "$D" scan-engine "$WORK/p2.db" >/dev/null 2>&1
B1=$(sha256 "$WORK/b1.db") B2=$(sha256 "$WORK/b2.db")
P1=$(sha256 "$WORK/p1.db") P2=$(sha256 "$WORK/p2.db")
NONE=$(printf '%064d' 0)
ms() { date +%s%3N; }

check "server starts" start_server "$D"

# no license: everyone is served everything
check "no license: a premium object is served to anyone" \
    test "$(status "$BASE/v1/objects/$P2")" = 200
check "no license: a delta is served to anyone" \
    test "$(status "$BASE/v1/deltas/$P1/$P2")" = 200
check "no license: the manifest is served to anyone" \
    test "$(status "$BASE/v1/channels/main/manifest")" = 200
check "no license: events are served to anyone" \
    test "$(status "$BASE/v1/events?since=0")" = 200
check "license list says everyone is served" sh -c \
    "'$CASCADE' license list -d '$D' | grep -q 'everyone'"

# what license add refuses
check "an edition not in [editions] order is refused, naming the order" sh -c \
    "! '$CASCADE' license add -d '$D' GOLD-0000-0001 --edition gold \
        2>'$WORK/err' &&
     grep -q \"unknown edition 'gold'\" '$WORK/err' &&
     grep -q 'basic, business, premium' '$WORK/err'"
check "--edition is required" sh -c \
    "! '$CASCADE' license add -d '$D' GOLD-0000-0001 2>/dev/null"
check "a key too short is refused" sh -c \
    "! '$CASCADE' license add -d '$D' abc --edition basic 2>/dev/null"
check "a username without a password is refused" sh -c \
    "! '$CASCADE' license add -d '$D' USER-0000-0001 --edition basic \
        --username u 2>/dev/null"
check "a username with ':' is refused" sh -c \
    "! '$CASCADE' license add -d '$D' USER-0000-0001 --edition basic \
        --username a:b --password p 2>/dev/null"
check "nothing refused was added" sh -c \
    "'$CASCADE' license list -d '$D' | grep -q 'everyone'"
check "still open to all" test "$(status "$BASE/v1/objects/$P2")" = 200

# the first license, added while serving
KEY=BASIC-1234-5678-ABCD
PASS='s3cret pass:word'
check "license add (basic, with username and password)" "$CASCADE" license \
    add -d "$D" "$KEY" --edition basic --username alice --password "$PASS"
t0=$(ms)
check "within a second, anonymous requests get 401" wait_for 3 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        '$BASE/v1/objects/$B2')\" = 401"
check "... measured: under a second" test $(( $(ms) - t0 )) -lt 1000
curl -s -D "$WORK/h401" -o "$WORK/b401" "$BASE/v1/objects/$B2"
check "401 carries WWW-Authenticate: Basic realm=\"cascade\"" grep -qi \
    '^WWW-Authenticate: Basic realm="cascade"' "$WORK/h401"
check "401 has a JSON error body" grep -q '"error": "license_required"' \
    "$WORK/b401"
check "/v1/state stays open" test "$(status "$BASE/v1/state")" = 200
for p in "/v1/channels/main/manifest" "/v1/channels/main/manifest.minisig" \
    "/v1/deltas/$B1/$B2" "/v1/events?since=0" "/v1/objects/$NONE"; do
	check "anonymous $p is 401" test "$(status "$BASE$p")" = 401
done
check "anonymous HEAD of an object is 401" test \
    "$(status "$BASE/v1/objects/$B2" -I)" = 401

# the right credentials
A="-H X-Cascade-License:$KEY"
check "right key, user and password: the basic object" sh -c \
    "curl -sf $A -u 'alice:$PASS' -o '$WORK/o' '$BASE/v1/objects/$B2' &&
     cmp '$WORK/o' '$WORK/b2.db'"
check "right credentials: the basic delta" test "$(status \
    "$BASE/v1/deltas/$B1/$B2" $A -u "alice:$PASS")" = 200
check "right credentials: a Range request" test "$(status \
    "$BASE/v1/objects/$B2" $A -u "alice:$PASS" -H 'Range: bytes=0-9')" = 206
check "right credentials: the manifest, premium components included" sh -c \
    "curl -sf $A -u 'alice:$PASS' '$BASE/v1/channels/main/manifest' |
     grep -q '\"edition\": \"premium\"'"
check "right credentials: the signature" test "$(status \
    "$BASE/v1/channels/main/manifest.minisig" $A -u "alice:$PASS")" = 200
check "right credentials: events" test "$(status \
    "$BASE/v1/events?since=0" $A -u "alice:$PASS")" = 200
curl -s -o "$WORK/b403" -w '%{http_code}' $A -u "alice:$PASS" \
    "$BASE/v1/objects/$P2" >"$WORK/c403"
check "a basic license gets 403 for a premium object" grep -qx 403 "$WORK/c403"
check "403 is JSON naming the editions" grep -q \
    '"error": "edition_not_licensed".*premium.*basic' "$WORK/b403"
check "a basic license gets 403 for a premium delta" test "$(status \
    "$BASE/v1/deltas/$P1/$P2" $A -u "alice:$PASS")" = 403
check "an object nothing names is 404 when licensed" test "$(status \
    "$BASE/v1/objects/$NONE" $A -u "alice:$PASS")" = 404

# the wrong ones
check "wrong password is 401" test "$(status "$BASE/v1/objects/$B2" $A \
    -u "alice:s3cret")" = 401
check "wrong username is 401" test "$(status "$BASE/v1/objects/$B2" $A \
    -u "bob:$PASS")" = 401
check "no Basic credentials is 401" test "$(status "$BASE/v1/objects/$B2" \
    $A)" = 401
check "no key, right username and password is 401" test "$(status \
    "$BASE/v1/objects/$B2" -u "alice:$PASS")" = 401
check "another key is 401" test "$(status "$BASE/v1/objects/$B2" \
    -H "X-Cascade-License: ${KEY}X" -u "alice:$PASS")" = 401
curl -s -o "$WORK/bad" $A -u "alice:wrong" "$BASE/v1/objects/$B2"
check "a rejection says what, not which part" grep -q \
    '"error": "license_rejected"' "$WORK/bad"
check "a rejection echoes no secret" sh -c \
    "! grep -q -e 'wrong' -e '$KEY' -e alice '$WORK/bad'"

# other editions
PKEY=PREMIUM-9999-0000-ZZZZ
check "license add (premium, key only)" "$CASCADE" license add -d "$D" \
    "$PKEY" --edition premium
echo pw2 | "$CASCADE" license add -d "$D" BUSINESS-0000-1111 \
    --edition business --username bob --password - >/dev/null
check "a premium license is taken within a second" wait_for 3 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H 'X-Cascade-License: $PKEY' '$BASE/v1/objects/$P2')\" = 200"
check "a premium license receives lower editions too" test "$(status \
    "$BASE/v1/objects/$B2" -H "X-Cascade-License: $PKEY")" = 200
check "a business license (password from stdin) gets basic" wait_for 3 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        -H 'X-Cascade-License: BUSINESS-0000-1111' -u bob:pw2 \
        '$BASE/v1/objects/$B2')\" = 200"
check "a business license gets 403 for premium" test "$(status \
    "$BASE/v1/objects/$P2" -H 'X-Cascade-License: BUSINESS-0000-1111' \
    -u bob:pw2)" = 403

# list: masked keys, editions, usernames
"$CASCADE" license list -d "$D" >"$WORK/list"
check "license list shows the three licenses" test "$(wc -l <"$WORK/list")" = 3
check "license list shows masked keys and editions" sh -c \
    "grep -q 'BASI…ABCD *basic *alice' '$WORK/list' &&
     grep -q 'PREM…ZZZZ *premium *-' '$WORK/list' &&
     grep -q 'BUSI…1111 *business *bob' '$WORK/list'"
check "license list never shows a whole key" sh -c \
    "! grep -q -e '$KEY' -e '$PKEY' '$WORK/list'"
check "the password is not stored in clear" sh -c \
    "! cat '$D'/state.db* | grep -aq -e 's3cret' -e 'pw2'"
check "a key cannot be added twice" sh -c \
    "! '$CASCADE' license add -d '$D' '$KEY' --edition basic 2>/dev/null"

# remove: that license is refused, the others go on
check "license remove" "$CASCADE" license remove -d "$D" "$KEY"
t0=$(ms)
check "within a second, the removed license gets 401" wait_for 3 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' $A \
        -u 'alice:$PASS' '$BASE/v1/objects/$B2')\" = 401"
check "... measured: under a second" test $(( $(ms) - t0 )) -lt 1000
check "the other licenses still work" test "$(status "$BASE/v1/objects/$P2" \
    -H "X-Cascade-License: $PKEY")" = 200
check "removing an unknown key fails" sh -c \
    "! '$CASCADE' license remove -d '$D' '$KEY' 2>/dev/null"
"$CASCADE" license remove -d "$D" "$PKEY" >/dev/null
"$CASCADE" license remove -d "$D" BUSINESS-0000-1111 >/dev/null
check "with the last license removed, everyone is served again" wait_for 3 \
    sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
        '$BASE/v1/objects/$P2')\" = 200"

# the history, without whole keys
"$CASCADE" events -d "$D" >"$WORK/events"
check "events list the license changes" sh -c \
    "grep -q 'license - added BASI…ABCD edition basic' '$WORK/events' &&
     grep -q 'license - removed BASI…ABCD edition basic' '$WORK/events' &&
     test \$(grep -c ' license ' '$WORK/events') -eq 6"
check "events never show a whole key" sh -c \
    "! grep -q -e '$KEY' -e '$PKEY' '$WORK/events'"
check "the server log holds no secret" sh -c \
    "! grep -q -e '$KEY' -e '$PKEY' -e 's3cret' '$WORK/server.log'"
check "SIGTERM shuts down cleanly" stop_server
