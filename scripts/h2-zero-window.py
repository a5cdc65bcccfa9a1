#!/usr/bin/env python3
"""HTTP/2 clients that never read: CONNS connections x STREAMS streams with an initial
window of 0, a different Pokemon per stream, held SECS seconds; prints the statuses seen.
Usage: h2-zero-window.py PORT CONNS STREAMS SECS  (needs: pip install h2). Loopback only.
SRC=127.0.0.2 connects from that address (any 127.x is loopback): a peer of its own."""
import os, socket, sys, time, collections
import h2.connection, h2.config, h2.events, h2.settings
port=int(sys.argv[1]); conns=int(sys.argv[2]); streams=int(sys.argv[3])
socks=[]; statuses=collections.Counter()
for c in range(conns):
    s=socket.create_connection(('127.0.0.1',port), source_address=(os.environ.get('SRC','127.0.0.1'),0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    conn=h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.local_settings=h2.settings.Settings(client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE:0})
    conn.initiate_connection()
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE:0})
    s.sendall(conn.data_to_send())
    for i in range(streams):
        sid=conn.get_next_available_stream_id()
        # a different resource per stream: nothing shared
        n=1+((c*streams+i)%1025)
        conn.send_headers(sid,[(':method','GET'),(':path',f'/api/v2/pokemon/{n}/'),(':scheme','http'),(':authority','x')],end_stream=True)
    s.sendall(conn.data_to_send())
    socks.append((s,conn))
time.sleep(float(sys.argv[4]) if len(sys.argv)>4 else 5)
for s,conn in socks:
    s.setblocking(False)
    try:
        while True:
            d=s.recv(65536)
            if not d: break
            for e in conn.receive_data(d):
                if isinstance(e,h2.events.ResponseReceived):
                    statuses[dict(e.headers).get(b':status')]+=1
    except BlockingIOError: pass
print(dict(statuses))
