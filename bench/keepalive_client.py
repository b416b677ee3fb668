"""Keep-alive clients for bench/hostile.sh: each thread sends GET after GET on
one connection (reconnecting when the server closes it) and tells apart what
the server did: answered, closed cleanly between requests (FIN: the client
retries, as browsers do), or reset the connection (RST: an error a user sees).

    python3 bench/keepalive_client.py PORT PATH SECONDS THREADS
"""
import socket
import sys
import threading
import time

port, path, seconds, threads = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
request = ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode()
counts = {"answered": 0, "closed": 0, "reset": 0, "other": 0}
lock = threading.Lock()


def count(kind):
    with lock:
        counts[kind] += 1


def read_response(sock, pending):
    """One response (Content-Length framed); returns leftover bytes, or None at EOF."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return rest[length:]


def run(deadline):
    sock, pending = None, b""
    while time.monotonic() < deadline:
        try:
            if sock is None:
                sock, pending = socket.create_connection(("127.0.0.1", port), timeout=5), b""
            sock.sendall(request)
            pending = read_response(sock, pending)
            if pending is None:
                count("closed")
                sock.close()
                sock = None
            else:
                count("answered")
        except ConnectionResetError:
            count("reset")
            sock = None
        except (OSError, ValueError):
            count("other")
            sock = None


deadline = time.monotonic() + seconds
workers = [threading.Thread(target=run, args=(deadline,)) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print("answered %(answered)d, closed cleanly before an answer %(closed)d, reset %(reset)d, other errors %(other)d" % counts)
