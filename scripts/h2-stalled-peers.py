#!/usr/bin/env python3
"""Many HTTP/2 peers that ask and never read: PEERS connections, one from each of the
loopback addresses 127.0.0.FIRST, FIRST+1, ... (any 127.x is loopback on Linux), each with
a receive window of 0 (SETTINGS_INITIAL_WINDOW_SIZE 0, never a WINDOW_UPDATE) and STREAMS
requests for PATH; each pings once a second for SECS seconds, then prints what it got.
With RENEW=1 a peer the server drops connects again at once and asks again.
Usage: h2-stalled-peers.py PORT FIRST PEERS STREAMS PATH SECS  (needs: pip install hpack).
Loopback only."""
import os, socket, struct, sys, time
from hpack import Encoder
port, first, peers, streams = (int(a) for a in sys.argv[1:5])
path, secs = sys.argv[5].encode(), float(sys.argv[6])
renew = os.environ.get("RENEW") == "1"

def frame(kind, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + payload

def connect(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    enc = Encoder()
    out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, struct.pack(">HI", 4, 0))
    for i in range(streams):
        head = enc.encode([(b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x"), (b":path", path)])
        out += frame(1, 0x5, 1 + 2 * i, head)
    s.setblocking(True)
    s.sendall(out)
    s.setblocking(False)
    return s

srcs = [f"127.0.0.{first + i}" for i in range(peers)]
socks = {src: connect(src) for src in srcs}
got = {src: 0 for src in srcs}
dropped = {src: 0 for src in srcs}
end = time.time() + secs
while time.time() < end:
    for src in srcs:
        s = socks[src]
        if s is None:
            continue
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    raise ConnectionResetError
                got[src] += len(d)
        except BlockingIOError:
            pass
        except OSError:
            dropped[src] += 1
            s.close()
            socks[src] = connect(src) if renew else None
            continue
        try:
            s.send(frame(6, 0, 0, b"12345678"))
        except OSError:
            pass
    time.sleep(1)
alive = sum(s is not None for s in socks.values())
print(f"{peers} peers: {alive} connected at the end, dropped {sum(dropped.values())} times, "
      f"{sum(got.values())} bytes received")
