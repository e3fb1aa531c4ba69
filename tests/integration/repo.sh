# The offline commands: init, publish, status, verify, gc, keygen, diff/patch.
. "$(dirname "$0")/lib.sh"

D="$WORK/var"
check "init creates the data directory" "$CASCADE" init -d "$D"
check "secret key is mode 0600" \
    test "$(stat -c %a "$D/keys/main.key")" = 600
check "public key in minisign format" \
    grep -q '^untrusted comment: minisign public key ' "$D/keys/main.pub"
check "init twice is refused" sh -c "! '$CASCADE' init -d '$D' 2>/dev/null"
check "cascade.conf is written" grep -q '^\[repository\]' "$D/cascade.conf"

make_db 20000 1 >"$WORK/v1.db"
(cat "$WORK/v1.db"; make_db 100 2) >"$WORK/v2.db"
(cat "$WORK/v2.db"; make_db 100 3) >"$WORK/v3.db"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v1.db" --kind pattern \
    >"$WORK/p1.out" 2>&1
check "publish prints component, version and serial" \
    grep -q "virus-pattern version 1, channel 'main' serial 1" "$WORK/p1.out"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v2.db" >"$WORK/p2.out" 2>&1
check "second publish makes a delta" grep -q "version 2.*serial 2 (1 delta)" \
    "$WORK/p2.out"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v2.db" >"$WORK/p3.out" 2>&1
check "same bytes again is a no-op" grep -q "already holds these bytes" \
    "$WORK/p3.out"
check "version not greater is refused" sh -c \
    "! '$CASCADE' publish -d '$D' virus-pattern '$WORK/v3.db' --version 2"
"$CASCADE" publish -d "$D" virus-pattern "$WORK/v3.db" --version 10 \
    >"$WORK/p4.out" 2>&1
check "explicit version" grep -q "version 10.*serial 3 (2 deltas)" "$WORK/p4.out"
check "kind and edition are inherited" sh -c "'$CASCADE' status -d '$D' |
    grep -q 'virus-pattern  *pattern  *standard  *version 10'"
check "missing file is an error" sh -c \
    "! '$CASCADE' publish -d '$D' x '$WORK/nope' 2>'$WORK/err' &&
     grep -q \"cannot open '$WORK/nope'\" '$WORK/err'"
check "bad component name is refused" sh -c \
    "! '$CASCADE' publish -d '$D' ../etc '$WORK/v1.db' 2>/dev/null"
check "not a data directory" sh -c \
    "'$CASCADE' status -d '$WORK/none' 2>&1 | grep -q 'not a cascade data directory'"
check "manifest verifies with stock minisign" minisign -Vm \
    "$D/channels/main/current/manifest" \
    -x "$D/channels/main/current/manifest.minisig" -p "$D/keys/main.pub"
check "verify passes on a good repository" "$CASCADE" verify -d "$D"

# a delta no smaller than half the compressed file is not kept
head -c 300000 /dev/urandom >"$WORK/r1"
head -c 300000 /dev/urandom >"$WORK/r2"
"$CASCADE" publish -d "$D" random "$WORK/r1" >/dev/null 2>&1
check "a delta that saves nothing is not kept" sh -c \
    "'$CASCADE' publish -d '$D' random '$WORK/r2' | grep -q '(0 deltas)'"

# concurrent publishes are serialised: every one lands, serials distinct
for i in 1 2 3 4; do
	make_db 50 "1$i" >"$WORK/c$i.db"
	"$CASCADE" publish -d "$D" "comp$i" "$WORK/c$i.db" >"$WORK/c$i.out" 2>&1 &
done
wait
check "concurrent publishes all land with distinct serials" sh -c "
    cat '$WORK'/c?.out | sed -n 's/.*serial \([0-9]*\).*/\1/p' | sort -u |
    wc -l | grep -qx 4 && '$CASCADE' status -d '$D' | grep -q 'serial 9'"

# a publish killed between the state commit and the manifest switch
cp -r "$D" "$WORK/crash"
ln -sfn 8 "$WORK/crash/channels/main/current"
check "a manifest behind the state is re-signed by the next writer" sh -c "
    '$CASCADE' gc -d '$WORK/crash' >/dev/null 2>&1 &&
    test \"\$(readlink '$WORK/crash/channels/main/current')\" = 9 &&
    '$CASCADE' verify -d '$WORK/crash' >/dev/null"

# import an existing minisign key
minisign -G -W -p "$WORK/imp.pub" -s "$WORK/imp.key" >/dev/null 2>&1
check "init imports a minisign secret key" "$CASCADE" init -d "$WORK/imp" \
    --channel vendor --key "$WORK/imp.key"
check "imported public key is the same" sh -c \
    "tail -1 '$WORK/imp.pub' | cmp -s - '$WORK/imp/keys/vendor.pub' ||
     test \"\$(tail -1 '$WORK/imp.pub')\" = \"\$(tail -1 '$WORK/imp/keys/vendor.pub')\""
"$CASCADE" publish -d "$WORK/imp" cfg "$WORK/v1.db" >/dev/null 2>&1
check "manifest signed by an imported key verifies with minisign" \
    minisign -Vm "$WORK/imp/channels/vendor/current/manifest" \
    -x "$WORK/imp/channels/vendor/current/manifest.minisig" -p "$WORK/imp.pub"

# verify names each problem
cp -r "$D" "$WORK/bad"
obj=$(find "$WORK/bad/objects" -type f -size +100k | head -1)
printf 'X' | dd of="$obj" bs=1 seek=100 conv=notrunc 2>/dev/null
check "verify fails on a corrupted object" sh -c \
    "! '$CASCADE' verify -d '$WORK/bad' >/dev/null 2>&1"
check "verify names the corrupted object" sh -c \
    "'$CASCADE' verify -d '$WORK/bad' 2>&1 | grep -q \"object '\$(basename $obj)'\""
cp -r "$D" "$WORK/bad2"
sed -i 's/"serial": 9/"serial": 10/' "$WORK/bad2/channels/main/current/manifest"
check "verify finds a tampered manifest" sh -c \
    "'$CASCADE' verify -d '$WORK/bad2' 2>&1 | grep -q 'signature or hash mismatch'"
check "serve refuses a tampered manifest" sh -c \
    "! timeout 20 '$CASCADE' serve -d '$WORK/bad2' --listen 127.0.0.1:0 2>&1 |
     grep -q serving"
cp -r "$D" "$WORK/bad3"
rm "$WORK/bad3/objects/$(echo "$obj" | sed 's|.*/objects/||')"
check "verify finds a missing object" sh -c \
    "'$CASCADE' verify -d '$WORK/bad3' 2>&1 | grep -q 'is missing'"

# gc keeps what retention says and everything current
G="$WORK/gc"
"$CASCADE" init -d "$G" >/dev/null
printf '[repository]\nretention = 2\ndelta_window = 3\n' >"$G/cascade.conf"
for i in 1 2 3 4 5; do
	(cat "$WORK/v1.db"; make_db 50 "9$i") >"$WORK/g$i.db"
	"$CASCADE" publish -d "$G" sig "$WORK/g$i.db" >/dev/null 2>&1
done
before=$(find "$G/objects" -type f | wc -l)
"$CASCADE" gc -d "$G" >"$WORK/gc.out" 2>&1
after=$(find "$G/objects" -type f | wc -l)
check "gc removes old versions and superseded deltas" test "$after" -lt "$before"
check "gc keeps the retained versions" test -f \
    "$G/objects/$(sha256 "$WORK/g4.db" | cut -c1-2)/$(sha256 "$WORK/g4.db")"
check "gc removes versions beyond retention" test ! -f \
    "$G/objects/$(sha256 "$WORK/g1.db" | cut -c1-2)/$(sha256 "$WORK/g1.db")"
check "repository verifies after gc" "$CASCADE" verify -d "$G"
check "current deltas survive gc" sh -c \
    "grep -c '\"from\"' '$G/channels/main/current/manifest' | grep -qx 3"

# keygen and diff/patch on the command line
check "keygen writes a minisign key pair" sh -c \
    "'$CASCADE' keygen -o '$WORK/k' >/dev/null && test -f '$WORK/k.pub' &&
     test \"\$(stat -c %a '$WORK/k.key')\" = 600"
check "diff then patch reproduces the file" sh -c \
    "'$CASCADE' diff '$WORK/v1.db' '$WORK/v2.db' '$WORK/d' &&
     '$CASCADE' patch '$WORK/v1.db' '$WORK/d' '$WORK/out' &&
     cmp '$WORK/out' '$WORK/v2.db'"
check "unknown command exits 2" sh -c \
    "'$CASCADE' frobnicate 2>/dev/null; test \$? -eq 2"
exit $FAILED
