# A small HTTP peer for the integration tests, in front of a cascade
# server: it passes requests through (GET, POST, PUT; 127.0.0.1 only) and
# brings the faults its control file asks for.
#
#   python3 faultpeer.py ORIGIN_URL CONTROL LOG PORTFILE
#
# It writes its port to PORTFILE once it listens. CONTROL holds key=value
# lines, read again on every request (the failure count restarts when the
# file changes):
#   fail=N status=S [retry_after=R] [delay=D]  the first N requests
#       (long-polls aside) get status S, with Retry-After: R, after D s
#   events=S      answer the long-polls with S instead of passing through
#   deltas=S      answer S for every delta
#   slow=1        objects in 64 KB chunks with a pause (about 3 MB/s)
#   flip=1        one byte of every object body flipped (offset 4096)
#   replay=PREFIX serve PREFIX.manifest and PREFIX.minisig as channel
#                 main's, announced as the newest serial
# LOG has a line per request: "METHOD PATH STATUS EXTRA", EXTRA being
# "by-peer", "replayed" or "range=RANGE sent=BYTES[ flipped]".
import os, sys, time, threading, urllib.request, urllib.error
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

ORIGIN, CTL, LOG, PORTFILE = sys.argv[1].rstrip("/"), sys.argv[2], \
    sys.argv[3], sys.argv[4]
lock = threading.Lock()
state = {"ctl": None, "failed": 0}
FWD_REQ = ("If-None-Match", "Range", "X-Cascade-License", "Authorization",
           "X-Cascade-Agent", "Content-Type")
FWD_RESP = ("ETag", "Content-Range", "Content-Type", "Retry-After",
            "WWW-Authenticate")
REPLAYED = ("/v1/state", "/v1/channels/main/manifest",
            "/v1/channels/main/manifest.minisig")


def control():
    try:
        with open(CTL) as f:
            text = f.read()
    except OSError:
        text = ""
    with lock:
        if text != state["ctl"]:
            state["ctl"], state["failed"] = text, 0
    return dict(l.strip().split("=", 1) for l in text.splitlines()
                if "=" in l)


class Peer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def note(self, status, extra):
        with lock, open(LOG, "a") as f:
            f.write("%s %s %d %s\n" % (self.command, self.path, status,
                                       extra))

    def reply(self, status, headers, body, extra="by-peer"):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.note(status, extra)

    def fault(self, c):
        """Answers in the origin's place if the control says so."""
        if self.path.startswith("/v1/events"):
            if c.get("events", "pass") != "pass":
                self.reply(int(c["events"]), {}, b"")
                return True
        else:
            with lock:
                fail = state["failed"] < int(c.get("fail", "0"))
                state["failed"] += fail
            if fail:
                time.sleep(float(c.get("delay", "0")))
                h = {"Content-Type": "application/json"}
                if "retry_after" in c:
                    h["Retry-After"] = c["retry_after"]
                self.reply(int(c.get("status", "503")), h,
                           b'{"error": "busy", "detail": "test peer"}')
                return True
        if c.get("replay") and self.path in REPLAYED:
            # an old signed manifest, announced as the newest
            if self.path == "/v1/state":
                data = b'{"serial": 999999, "channels": {"main": 999999}}'
            else:
                with open(c["replay"] + (".minisig" if self.path.endswith(
                        "minisig") else ".manifest"), "rb") as f:
                    data = f.read()
            self.reply(200, {}, data, "replayed")
            return True
        if self.path.startswith("/v1/deltas/") and "deltas" in c:
            self.reply(int(c["deltas"]), {}, b"")
            return True
        return False

    def forward(self):
        c = control()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.fault(c):
            return
        req = urllib.request.Request(ORIGIN + self.path, data=body,
                                     method=self.command)
        for k in FWD_REQ:
            if self.headers.get(k) is not None:
                req.add_header(k, self.headers[k])
        try:
            up = urllib.request.urlopen(req, timeout=120)
        except urllib.error.HTTPError as e:
            up = e
        except OSError as e:
            self.reply(502, {}, str(e).encode())
            return
        with up:
            self.relay(c, up)

    def relay(self, c, up):
        """Objects are streamed (slowed, flipped); the rest is buffered."""
        status = up.code
        obj = self.path.startswith("/v1/objects/")
        slow = obj and c.get("slow") == "1"
        flip = obj and c.get("flip") == "1" and status in (200, 206)
        data = b"" if obj else up.read()
        self.send_response(status)
        for k in FWD_RESP:
            if up.headers.get(k):
                self.send_header(k, up.headers[k])
        if status not in (204, 304):
            self.send_header("Content-Length", up.headers.get(
                "Content-Length", "0") if obj else str(len(data)))
        self.end_headers()
        sent = 0
        try:
            if not obj:
                self.wfile.write(data)
                sent = len(data)
            while obj and status not in (204, 304):
                chunk = up.read(65536 if slow else 1 << 20)
                if not chunk:
                    break
                if flip and sent <= 4096 < sent + len(chunk):
                    b = bytearray(chunk)
                    b[4096 - sent] ^= 0x20
                    chunk = bytes(b)
                self.wfile.write(chunk)
                sent += len(chunk)
                if slow:
                    time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        self.note(status, "range=%s sent=%d%s" % (
            self.headers.get("Range", "-"), sent,
            " flipped" if flip else ""))

    do_GET = do_POST = do_PUT = forward


class Server(ThreadingHTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), Peer)
with open(PORTFILE + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
