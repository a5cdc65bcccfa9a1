#!/usr/bin/env python3
"""HTTP/1.1 clients that never read: N sockets with a 4 KB receive buffer, each asking
for a Pokemon, held SECS seconds. Usage: slow-readers.py PORT N SECS. Loopback only.
SRC=127.0.0.2 connects from that address (any 127.x is loopback): a peer of its own."""
import os, socket, sys, time, resource
resource.setrlimit(resource.RLIMIT_NOFILE,(10000,10000))
port=int(sys.argv[1]); n=int(sys.argv[2])
socks=[]
for i in range(n):
    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); s.bind((os.environ.get('SRC','127.0.0.1'),0)); s.connect(('127.0.0.1',port))
    s.send(f"GET /api/v2/pokemon/{1+i%1025}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode()); socks.append(s)
time.sleep(float(sys.argv[3]))
