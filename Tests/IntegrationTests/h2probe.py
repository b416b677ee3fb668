"""Frame-level HTTP/2 checks against swerve, with Debian's python3-h2.

Usage: h2probe.py SCENARIO PORT [ARGS...]; prints one JSON object. Each
scenario is bounded in time (socket timeouts, deadlines), so a server that
misbehaves makes it fail, never hang.
"""
import hashlib
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
from hyperframe.frame import ContinuationFrame, HeadersFrame

# python-h2 4.1 takes a GOAWAY for the end of the connection and refuses every
# frame after it; RFC 9113 §6.8 lets the streams up to its last stream ID
# finish, and browsers and nghttp2 read them. The probe does too.
_machine = h2.connection.H2ConnectionStateMachine
_open = h2.connection.ConnectionState.CLIENT_OPEN
_goaway = h2.connection.ConnectionInputs.RECV_GOAWAY
_machine._transitions[(_open, _goaway)] = (_machine._transitions[(_open, _goaway)][0], _open)


class Closed(Exception):
    pass


class Client:
    """One TLS connection speaking h2, and what it has heard so far."""

    def __init__(self, port, settings=None, auto_ack=True):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        assert self.sock.selected_alpn_protocol() == "h2", self.sock.selected_alpn_protocol()
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.auto_ack = auto_ack
        self.streams = {}
        self.goaways = []
        self.closed = False
        self.remote_settings = {}
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, headers=(), body=None, end=True):
        sid = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":path", path), (":scheme", "https"), (":authority", "localhost")]
        fields += list(headers)
        self.conn.send_headers(sid, fields, end_stream=end and body is None)
        self.streams[sid] = {"status": None, "body": bytearray(), "ended": False, "reset": None, "headers": {}}
        if body is not None:
            self.send_body(sid, body, end=end)
        self.flush()
        return sid

    def send_body(self, sid, body, end=True, deadline=None):
        """Sends as the flow-control windows allow, waiting for WINDOW_UPDATEs."""
        deadline = deadline or time.time() + 30
        offset = 0
        while offset < len(body):
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if window <= 0:
                self.pump(timeout=max(0.01, deadline - time.time()))
                if time.time() > deadline:
                    raise TimeoutError("no window to send in")
                continue
            chunk = body[offset:offset + window]
            self.conn.send_data(sid, chunk)
            offset += len(chunk)
            self.flush()
        if end:
            self.conn.end_stream(sid)
            self.flush()

    def pump(self, timeout=5.0):
        """Reads once (up to `timeout`), handles what came; False once closed."""
        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except (ConnectionResetError, ssl.SSLError, OSError):
            data = b""
        if not data:
            self.closed = True
            return False
        for event in self.conn.receive_data(data):
            self.handle(event)
        try:
            self.flush()
        except OSError:
            self.closed = True
        return True

    def handle(self, event):
        if isinstance(event, h2.events.ResponseReceived):
            stream = self.streams[event.stream_id]
            stream["headers"] = dict(event.headers)
            stream["status"] = int(stream["headers"][":status"])
        elif isinstance(event, h2.events.InformationalResponseReceived):
            self.streams[event.stream_id].setdefault("informational", []).append(dict(event.headers)[":status"])
        elif isinstance(event, h2.events.DataReceived):
            self.streams[event.stream_id]["body"] += event.data
            if self.auto_ack:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.streams[event.stream_id]["ended"] = True
        elif isinstance(event, h2.events.StreamReset):
            if event.stream_id in self.streams:
                self.streams[event.stream_id]["reset"] = int(event.error_code)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaways.append({"error": int(event.error_code), "last_stream_id": event.last_stream_id})
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for key, change in event.changed_settings.items():
                self.remote_settings[int(key)] = change.new_value

    def done(self, sid):
        stream = self.streams[sid]
        return stream["ended"] or stream["reset"] is not None

    def wait(self, predicate, timeout=10.0):
        deadline = time.time() + timeout
        while not predicate():
            if time.time() > deadline:
                raise TimeoutError("timed out")
            if not self.pump(timeout=max(0.01, deadline - time.time())) and not predicate():
                raise Closed()

    def summary(self, sid):
        stream = self.streams[sid]
        return {"status": stream["status"], "length": len(stream["body"]), "reset": stream["reset"],
                "ended": stream["ended"], "sha256": hashlib.sha256(stream["body"]).hexdigest(),
                "text": stream["body"][:300].decode("utf-8", "replace"), "headers": stream["headers"],
                "informational": stream.get("informational", [])}


def concurrent(port, count, path):
    client = Client(port)
    ids = [client.request("GET", path) for _ in range(int(count))]
    client.wait(lambda: all(client.done(s) for s in ids))
    return {"max_concurrent_streams": client.remote_settings.get(h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS),
            "max_header_list_size": client.remote_settings.get(h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE),
            "initial_window_size": client.remote_settings.get(h2.settings.SettingCodes.INITIAL_WINDOW_SIZE),
            "streams": [client.summary(s) for s in ids]}


def slow_reader(port, path):
    """A 4 KiB window, opened again slowly: the server must never send past it."""
    window = 4096
    client = Client(port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}, auto_ack=False)
    sid = client.request("GET", path)
    unacked = 0
    max_unacked = 0
    deadline = time.time() + 30
    while not client.done(sid):
        if time.time() > deadline:
            raise TimeoutError("slow read timed out")
        before = len(client.streams[sid]["body"])
        client.pump(timeout=1.0)
        got = len(client.streams[sid]["body"]) - before
        unacked += got
        max_unacked = max(max_unacked, unacked)
        if unacked >= window // 2 or client.done(sid):
            time.sleep(0.005)
            if unacked:
                if not client.done(sid):
                    client.conn.increment_flow_control_window(unacked, stream_id=sid)
                client.conn.increment_flow_control_window(unacked)
                client.flush()
            unacked = 0
    result = client.summary(sid)
    result["max_unacked"] = max_unacked
    return result


def big_post(port, path, size, content_type="application/octet-stream"):
    """A body larger than the server's stream window: sent as its WINDOW_UPDATEs allow."""
    body = bytes((i * 7) % 251 for i in range(int(size)))
    client = Client(port)
    sid = client.request("POST", path, headers=[("content-type", content_type), ("content-length", str(len(body)))],
                         body=body)
    client.wait(lambda: client.done(sid), timeout=30)
    result = client.summary(sid)
    result["sent_sha256"] = hashlib.sha256(body).hexdigest()
    return result


def upload_reset(port, path, boundary="probeboundary"):
    """A multipart upload reset half-way; then the connection still serves."""
    client = Client(port)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    sid = client.request("POST", path, headers=[("content-type", f"multipart/form-data; boundary={boundary}"),
                                                 ("content-length", str(10 << 20))], body=None, end=False)
    client.send_body(sid, head + b"x" * (200 << 10), end=False)
    time.sleep(0.3)
    client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
    client.flush()
    after = client.request("GET", "/")
    client.wait(lambda: client.done(after))
    return {"after": client.summary(after), "goaways": client.goaways}


def headers(port, size, path):
    client = Client(port)
    try:
        sid = client.request("GET", path, headers=[("x-large", "a" * int(size))])
        client.wait(lambda: client.done(sid) or client.goaways, timeout=10)
        result = client.summary(sid)
    except Closed:
        result = {"status": None}
    result["goaways"] = client.goaways
    return result


def host_field(port, path, host):
    """A request whose host field sits beside :authority ("localhost")."""
    client = Client(port)
    sid = client.request("GET", path, headers=[("host", host)])
    client.wait(lambda: client.done(sid))
    return client.summary(sid)


def fuzz(port, seed, count):
    """COUNT connections, each a random run of HTTP/2 frames after the
    preface, valid and not, from SEED (so a failure can be replayed). The
    server may answer anything; this only reports what it sent back."""
    import random
    import struct
    import hpack

    rng = random.Random(int(seed))
    encoder_headers = [
        [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"), (":path", "/index.html")],
        [(":method", "POST"), (":scheme", "https"), (":authority", "localhost"), (":path", "/up"),
         ("content-type", "multipart/form-data; boundary=b"), ("content-length", "3")],
        [(":method", "GET"), (":path", "/")],
        [(":path", "/"), (":method", "GET"), (":scheme", "https"), (":method", "HEAD")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/"), ("Upper", "x"), ("connection", "close")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/"), ("te", "gzip"), (":status", "200")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/cgi/env.py"), ("x", "a" * rng.randrange(1, 9000))],
        [(":method", "CONNECT"), (":authority", "localhost:443")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/%2e%2e/etc/passwd"), ("host", "other")],
    ]

    def frame(kind, flags, stream, payload):
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream & 0xFFFFFFFF) + payload

    def random_bytes(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    def sized(valid, other):
        """Mostly the frame's legal size, so most runs go past the framing layer."""
        return valid if rng.random() < 0.9 else rng.choice(other)

    def one_frame(stream):
        choice = rng.randrange(12)
        if choice < 4:
            block = hpack.Encoder().encode(rng.choice(encoder_headers))
            if rng.random() < 0.2:
                block = bytearray(block)
                block[rng.randrange(len(block))] = rng.getrandbits(8)
                block = bytes(block)
            flags = rng.choice([0x4, 0x5, 0x4, 0x5, 0x1, 0x0, 0x8 | 0x4, 0x20 | 0x5])
            if flags & 0x20:
                block = struct.pack(">IB", rng.choice([0, stream, 3]), rng.getrandbits(8)) + block
            if flags & 0x8:
                pad = rng.randrange(0, 10)
                block = bytes([sized(pad, [pad + 1, 255])]) + block + b"\0" * pad
            return frame(1, flags, stream, block)
        if choice == 4:
            return frame(0, rng.choice([0, 1, 0, 1, 8]), stream, random_bytes(rng.randrange(0, 40)))
        if choice == 5:
            increment = rng.choice([0, 1, 1000, 65535, 0x7FFFFFFF, 0xFFFFFFFF])
            return frame(8, 0, rng.choice([0, stream]), struct.pack(">I", increment)[:sized(4, [3, 0])])
        if choice == 6:
            ident = rng.choice([1, 2, 3, 4, 5, 6, 8, 9, 0x99])
            value = rng.choice([0, 1, 100, 16383, 16384, 65535, 0x7FFFFFFF, 0xFFFFFFFF])
            payload = struct.pack(">HI", ident, value)
            return frame(4, sized(0, [1]), sized(0, [stream]), payload[:sized(6, [5])])
        if choice == 7:
            return frame(6, rng.choice([0, 1]), sized(0, [stream]), random_bytes(sized(8, [7, 9])))
        if choice == 8:
            return frame(3, 0, sized(rng.choice([stream, stream + 2, stream - 2]), [0]), random_bytes(sized(4, [3, 5])))
        if choice == 9:
            return frame(2, 0, stream, struct.pack(">IB", rng.choice([stream, 0, 3]), rng.getrandbits(8))[:sized(5, [4])])
        if choice == 10:
            return frame(9, rng.choice([0, 4]), stream, random_bytes(rng.randrange(0, 30)))
        return frame(rng.choice([10, 0x42, 255, 7, 5]), rng.getrandbits(8), stream, random_bytes(rng.randrange(8, 30)))

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    answered = 0
    for _ in range(int(count)):
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        if rng.random() < 0.05:
            preface = bytearray(preface)
            preface[rng.randrange(len(preface))] = rng.getrandbits(8)
            preface = bytes(preface)
        data = preface + frame(4, 0, 0, b"")
        stream = 1
        for _ in range(rng.randrange(1, 12)):
            data += one_frame(stream)
            if rng.random() < 0.5:
                stream += 2
        if rng.random() < 0.1:
            data = bytearray(data)
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            data = bytes(data)
        if rng.random() < 0.1:
            data = data[:rng.randrange(len(data))]
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            sock = context.wrap_socket(raw, server_hostname="localhost")
            sock.sendall(data)
            sock.settimeout(0.02)
            try:
                while sock.recv(65536):
                    answered += 1
            except (socket.timeout, ssl.SSLError, OSError):
                pass
            sock.close()
        except (ssl.SSLError, OSError):
            raw.close()
    return {"connections": int(count), "reads": answered}


def truncated(port, path, file_path, keep):
    """A download held at the client's first window while its file shrinks to
    KEEP bytes: the response can no longer match its content-length, and the
    server must end the stream (a reset), not leave it open."""
    client = Client(port, auto_ack=False)
    sid = client.request("GET", path)
    client.wait(lambda: len(client.streams[sid]["body"]) >= 65535 or client.done(sid))
    os.truncate(file_path, int(keep))
    client.conn.increment_flow_control_window(1 << 20, stream_id=sid)
    client.conn.increment_flow_control_window(1 << 20)
    client.flush()
    try:
        client.wait(lambda: client.done(sid), timeout=10)
        outcome = "ended"
    except TimeoutError:
        outcome = "still open"
    result = client.summary(sid)
    result["outcome"] = outcome
    return result


def idle_after_refused(port, path):
    """A request the server must refuse as malformed (two :path fields), one it
    answers, then nothing: the idle timeout must still close the connection."""
    client = Client(port)
    refused = client.request("GET", path, headers=[(":path", path)])
    client.wait(lambda: client.done(refused))
    answered = client.request("GET", path)
    client.wait(lambda: client.done(answered))
    start = time.time()
    closed = until_closed(client, 20)
    return {"refused_reset": client.streams[refused]["reset"], "status": client.streams[answered]["status"],
            "seconds": round(time.time() - start, 2), "closed": closed, "goaways": client.goaways}


def until_closed(client, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and client.pump(timeout=max(0.01, deadline - time.time())):
        pass
    return client.closed


def rapid_reset(port, count):
    client = Client(port)
    sent = 0
    try:
        for _ in range(int(count)):
            sid = client.request("GET", "/")
            client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            client.flush()
            sent += 1
            # Read as we go: the GOAWAY must be seen before the close that follows it.
            if sent % 10 == 0:
                client.pump(timeout=0.001)
                if client.goaways or client.closed:
                    break
    except (OSError, h2.exceptions.ProtocolError):
        pass
    closed = until_closed(client, 10)
    return {"sent": sent, "goaways": client.goaways[:3], "closed": closed}


def continuation_flood(port, count):
    """HEADERS without END_HEADERS, then CONTINUATION frames that never end it."""
    client = Client(port)
    client.pump(timeout=0.5)
    encoder = client.conn.encoder
    block = encoder.encode([(":method", "GET"), (":path", "/"), (":scheme", "https"), (":authority", "localhost")])
    first = HeadersFrame(1)
    first.data = block
    first.flags.add("END_STREAM")
    sent = 0
    try:
        client.sock.sendall(first.serialize())
        for i in range(int(count)):
            frame = ContinuationFrame(1)
            frame.data = encoder.encode([(f"x-{i}", "y")])
            client.sock.sendall(frame.serialize())
            sent += 1
    except OSError:
        pass
    # The connection's own state no longer matches what went out: read raw.
    deadline = time.time() + 10
    goaway = False
    closed = False
    data = b""
    while time.time() < deadline:
        client.sock.settimeout(max(0.01, deadline - time.time()))
        try:
            chunk = client.sock.recv(65536)
        except socket.timeout:
            break
        except (OSError, ssl.SSLError):
            chunk = b""
        if not chunk:
            closed = True
            break
        data += chunk
    # A GOAWAY frame's type is 0x7, on stream 0.
    index = 0
    while index + 9 <= len(data):
        length = int.from_bytes(data[index:index + 3], "big")
        if data[index + 3] == 0x7 and goaway is False:  # the first; what follows answers the flood's tail
            goaway = int.from_bytes(data[index + 13:index + 17], "big") if index + 17 <= len(data) else True
        index += 9 + length
    return {"sent": sent, "goaway_error": goaway, "closed": closed}


def idle(port):
    client = Client(port)
    start = time.time()
    closed = until_closed(client, 20)
    return {"seconds": round(time.time() - start, 2), "closed": closed, "goaways": client.goaways}


def max_streams(port, path, count):
    """Streams kept open (bodies never sent) up to the limit and one more."""
    client = Client(port)
    client.wait(lambda: h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS in client.remote_settings)
    # Past what the server allows: the library would not send it.
    client.conn.remote_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = int(count) + 10
    client.conn.remote_settings.acknowledge()
    ids = []
    for _ in range(int(count)):
        ids.append(client.request("POST", path, headers=[("content-type", "multipart/form-data; boundary=x"),
                                                          ("content-length", "1000")], end=False))
    deadline = time.time() + 2
    while time.time() < deadline and not client.closed:
        client.pump(timeout=0.2)
    return {"resets": {str(s): client.streams[s]["reset"] for s in ids if client.streams[s]["reset"] is not None},
            "goaways": client.goaways, "open": sum(1 for s in ids if client.streams[s]["reset"] is None)}


def drain(port, path, marker, pid, signal_name):
    """A slow response under way (its script made MARKER) when the master is
    told to reload or quit."""
    client = Client(port)
    sid = client.request("GET", path)
    deadline = time.time() + 10
    while not os.path.exists(marker):
        if time.time() > deadline:
            raise TimeoutError("the script did not start")
        client.pump(timeout=0.01)
    os.kill(int(pid), getattr(signal, signal_name))
    client.wait(lambda: client.done(sid), timeout=20)
    closed = until_closed(client, 15)
    result = client.summary(sid)
    result.update({"goaways": client.goaways, "closed": closed, "stream_id": sid})
    return result


def load(port, path, expected_sha, stop_file, h2_connections, h1_connections, limit=120):
    """Mixed h1/h2 load until STOP_FILE exists (or LIMIT seconds pass, so that
    it never outlives its test). Clients reconnect after GOAWAY or a close, as
    browsers do; a request is failed only if the server accepted it (at or
    below a GOAWAY's last stream) and did not answer it whole."""
    deadline = time.time() + float(limit)

    def running():
        return not os.path.exists(stop_file) and time.time() < deadline

    stats = {"ok": 0, "failed": 0, "retried": 0, "first_failure": None, "h2": 0, "h1": 0}
    lock = threading.Lock()

    def record(kind, ok, why=None):
        with lock:
            if ok:
                stats["ok"] += 1
                stats[kind] += 1
            else:
                stats["failed"] += 1
                stats["first_failure"] = stats["first_failure"] or why

    def retried():
        with lock:
            stats["retried"] += 1

    def h2_loop():
        client = None
        while running():
            time.sleep(0.005)  # load, not a CPU hog beside the other tests
            try:
                if client is None or client.closed or client.goaways:
                    client = Client(port)
                ids = [client.request("GET", path) for _ in range(4)]
                try:
                    client.wait(lambda: all(client.done(s) for s in ids), timeout=10)
                except Closed:
                    pass
                last = min([g["last_stream_id"] for g in client.goaways], default=None)
                for s in ids:
                    stream = client.streams[s]
                    if stream["ended"] and stream["status"] == 200 and hashlib.sha256(stream["body"]).hexdigest() == expected_sha:
                        record("h2", True)
                    elif last is not None and s > last and stream["status"] is None:
                        retried()  # never processed: safe to send again (RFC 9113 §6.8)
                    elif stream["reset"] == int(h2.errors.ErrorCodes.REFUSED_STREAM):
                        retried()
                    else:
                        record("h2", False, f"h2 stream {s}: {client.summary(s)['status']} reset={stream['reset']} goaways={client.goaways} closed={client.closed}")
            except (OSError, ssl.SSLError) as error:
                record("h2", False, f"h2 connection: {error!r}")
                client = None

    def h1_loop():
        import http.client
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
        connection = None
        while running():
            time.sleep(0.005)
            if connection is None:
                connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
            try:
                connection.request("GET", path, headers={"Host": "localhost"})
            except OSError:
                connection = None
                retried()
                continue
            try:
                response = connection.getresponse()
                body = response.read()
            except http.client.RemoteDisconnected:
                connection = None  # an idle keep-alive connection closed: retry, as clients do
                retried()
                continue
            except (OSError, http.client.HTTPException) as error:
                record("h1", False, f"h1: {error!r}")
                connection = None
                continue
            ok = response.status == 200 and hashlib.sha256(body).hexdigest() == expected_sha
            record("h1", ok, f"h1 status {response.status}")
            if response.getheader("connection", "").lower() == "close":
                connection.close()
                connection = None

    threads = [threading.Thread(target=h2_loop) for _ in range(int(h2_connections))]
    threads += [threading.Thread(target=h1_loop) for _ in range(int(h1_connections))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return stats


SCENARIOS = {
    "concurrent": concurrent, "slow-reader": slow_reader, "big-post": big_post, "upload-reset": upload_reset,
    "headers": headers, "rapid-reset": rapid_reset, "continuation": continuation_flood, "idle": idle,
    "max-streams": max_streams, "drain": drain, "load": load, "truncated": truncated,
    "idle-after-refused": idle_after_refused, "host-field": host_field, "fuzz": fuzz,
}

if __name__ == "__main__":
    scenario, port, *arguments = sys.argv[1:]
    print(json.dumps(SCENARIOS[scenario](int(port), *arguments)))
