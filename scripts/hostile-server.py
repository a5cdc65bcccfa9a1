#!/usr/bin/env python3
"""Hostile HTTP/1.1 server: mode is the first path segment. http://127.0.0.1:PORT/<mode>/api/v2/..."""
import socket, threading, sys, time, json, gzip, zlib, os
PORT = int(sys.argv[1])
STOP = time.time() + float(sys.argv[2] if len(sys.argv) > 2 else 600)
counts = {}
lock = threading.Lock()

def poke(i, host, mode):
    return json.dumps({"id": i, "name": f"mon{i}", "height": 1, "weight": 1, "types": [], "stats": [], "base_experience": 1, "order": 1, "is_default": True, "abilities": [], "forms": [], "moves": [], "species": {"name": "x", "url": f"http://{host}/{mode}/api/v2/pokemon-species/1/"}, "sprites": {}}).encode()

def send(c, status, body=b"", headers=None, ctype="application/json"):
    h = [f"HTTP/1.1 {status}", f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
    for k, v in (headers or {}).items(): h.append(f"{k}: {v}")
    c.sendall(("\r\n".join(h) + "\r\n\r\n").encode() + body)

def handle(c, addr):
    c.settimeout(120)
    try:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                d = c.recv(65536)
                if not d: return
                buf += d
            head, buf = buf.split(b"\r\n\r\n", 1)
            line = head.split(b"\r\n")[0].decode("latin1")
            path = line.split(" ")[1]
            host = f"127.0.0.1:{PORT}"
            parts = path.split("/")
            mode = parts[1]
            rest = "/".join(parts[2:])
            with lock:
                counts[mode] = counts.get(mode, 0) + 1
                n = counts[mode]
            if time.time() > STOP: return
            if not serve(c, mode, rest, host, n, path): return
    except Exception as e:
        pass
    finally:
        try: c.close()
        except: pass

def listing(host, mode, count, nxt=None, results=None):
    if results is None:
        results = [{"name": f"mon{i}", "url": f"http://{host}/{mode}/api/v2/pokemon/{i}/"} for i in range(1, 11)]
    return json.dumps({"count": count, "next": nxt, "previous": None, "results": results}).encode()

def serve(c, mode, rest, host, n, path):
    """return True to keep the connection"""
    islist = rest.startswith("api/v2/pokemon/?") or rest.rstrip("/").endswith("api/v2/pokemon") or ("?" in rest and rest.split("?")[0].count("/") <= 3)
    if mode == "ok":
        if islist: send(c, "200 OK", listing(host, mode, 10)); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    if mode == "endless":  # chunked forever
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"a" * 65536
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        while time.time() < STOP: c.sendall(frame)
        return False
    if mode == "endless-nolen":  # no length, close-delimited
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        chunk = b"[" * 65536
        while time.time() < STOP: c.sendall(chunk)
        return False
    if mode == "bigcl":  # claims 10 GB
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{")
        time.sleep(5); return False
    if mode == "shortcl":  # claims more than sent, closes
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\":1"); return False
    if mode == "longcl":  # sends more than claimed (smuggle next response)
        body = poke(25, host, mode)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n" + body); return True
    if mode == "negcl":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}"); return False
    if mode == "dupcl":
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 300\r\n\r\n{}"); return False
    if mode == "hugeheader":  # one 4 MB header
        c.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (4 << 20) + b"\r\nContent-Length: 2\r\n\r\n{}"); return False
    if mode == "manyheaders":
        c.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200000)) + b"Content-Length: 2\r\n\r\n{}"); return False
    if mode == "endlessheaders":
        c.sendall(b"HTTP/1.1 200 OK\r\n")
        while time.time() < STOP: c.sendall(b"X-A: " + b"b" * 1000 + b"\r\n")
        return False
    if mode == "garbage":
        c.sendall(os.urandom(5000)); return False
    if mode == "garbage-status":
        c.sendall(b"HTTP/1.1 999999999999 WAT\r\nContent-Length: 2\r\n\r\n{}"); return False
    if mode == "http09":
        c.sendall(b'{"id":25}'); return False
    if mode == "continue":
        while time.time() < STOP: c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n"); time.sleep(0.001)
        return False
    if mode.startswith("ra-"):  # 429 with given Retry-After
        val = {"ra-huge": "99999999999", "ra-neg": "-5", "ra-float": "1e309", "ra-date": "Fri, 31 Dec 9999 23:59:59 GMT", "ra-junk": "soon\x1b[31m", "ra-u64": "18446744073709551616", "ra-zero": "0", "ra-past": "Thu, 01 Jan 1970 00:00:00 GMT"}[mode]
        if islist and "list" not in mode: send(c, "200 OK", listing(host, mode, 10)); return True
        send(c, "429 Too Many Requests", b'{"detail":"throttled"}', {"Retry-After": val}); return True
    if mode == "503ra":
        send(c, "503 Service Unavailable", b"", {"Retry-After": "99999999999"}); return True
    if mode == "redirloop":
        send(c, "302 Found", b"", {"Location": f"http://{host}/{mode}/{rest}x"}); return True
    if mode == "redirself":
        send(c, "301 Moved", b"", {"Location": path}); return True
    if mode == "redirfile":
        send(c, "302 Found", b"", {"Location": "file:///etc/passwd"}); return True
    if mode == "redirother":
        send(c, "302 Found", b"", {"Location": "http://127.0.0.2:9/x"}); return True
    if mode == "redirjunk":
        send(c, "302 Found", b"", {"Location": "ht!tp://\x7f\x00"}); return True
    if mode == "redirnone":
        send(c, "302 Found", b""); return True
    if mode == "slowloris":  # headers then 1 byte every 2s of a claimed-length body
        body = poke(25, host, mode)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        for b in body:
            if time.time() > STOP: return False
            c.sendall(bytes([b])); time.sleep(0.5)
        return True
    if mode == "slowhead":  # header 1 byte per 0.5s
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
            if time.time() > STOP: return False
            c.sendall(bytes([b])); time.sleep(0.5)
        return True
    if mode == "gzipbomb":
        z = open("/tmp/hp/srv/bomb.gz", "rb").read()
        send(c, "200 OK", z, {"Content-Encoding": "gzip"}); return True
    if mode == "deep":
        body = b"[" * 100000 + b"]" * 100000
        send(c, "200 OK", body); return True
    if mode == "deepobj":
        body = b'{"a":' * 100000 + b"1" + b"}" * 100000
        send(c, "200 OK", body); return True
    if mode == "bignum":
        send(c, "200 OK", b'{"id":' + b"9" * 1000000 + b',"name":"x"}'); return True
    if mode == "escape":
        send(c, "500 Internal \x1b[31mRED\x1b]0;pwned\x07", b"\x1b[2J\x1b[31merror body\nsecond line", ctype="text/plain"); return True
    if mode == "badjson":
        send(c, "200 OK", b"<html>not json</html>", ctype="text/html"); return True
    if mode == "hugecount":  # list with absurd count, next loop
        if islist:
            send(c, "200 OK", listing(host, mode, 10**18, nxt=f"http://{host}/{mode}/api/v2/pokemon/?offset=0&limit=10")); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    if mode == "negcount":
        if islist: send(c, "200 OK", listing(host, mode, -5)); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    if mode == "floatcount":
        if islist: send(c, "200 OK", json.dumps({"count": 1e308, "next": None, "previous": None, "results": []}).encode()); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    if mode == "nextprogress":  # next always new offset, endless
        if islist:
            off = n * 10
            res = [{"name": f"mon{i}", "url": f"http://{host}/{mode}/api/v2/pokemon/{i}/"} for i in range(off, off + 10)]
            send(c, "200 OK", listing(host, mode, 10**9, nxt=f"http://{host}/{mode}/api/v2/pokemon/?offset={off}&limit=10", results=res)); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    if mode == "nextother":
        if islist: send(c, "200 OK", listing(host, mode, 20, nxt="http://127.0.0.2:9/api/v2/pokemon/?offset=10")); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    if mode == "hugeids":
        if islist:
            res = [{"name": "x", "url": f"http://{host}/{mode}/api/v2/pokemon/{v}/"} for v in ["99999999999999999999", "-1", "0", "1e5", "../../etc", "%2e%2e", "4294967297", "2147483648"]]
            send(c, "200 OK", listing(host, mode, len(res), results=res)); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    if mode == "manyresults":  # a list page with 2M results
        if islist:
            parts = [b'{"count":2000000,"next":null,"previous":null,"results":[']
            parts.append(b",".join(b'{"name":"m","url":"http://%s/%s/api/v2/pokemon/%d/"}' % (host.encode(), mode.encode(), i) for i in range(1, 2000001)))
            parts.append(b"]}")
            send(c, "200 OK", b"".join(parts)); return True
        send(c, "200 OK", poke(25, host, mode)); return True
    BODIES = {
        "b-trailing": b'{"id":25,"name":"pikachu","height":4,"weight":60,"types":[],"stats":[]} garbage',
        "b-trunc": b'{"id":25,"name":"pikachu","height":4,"weight":60,"types":[],"stats":[',
        "b-badutf8": b'{"id":25,"name":"pika\xff\xfechu","height":4,"weight":60,"types":[],"stats":[]}',
        "b-dupkeys": b'{"id":25,"id":26,"name":"a","name":"b","height":4,"weight":60,"types":[],"stats":[]}',
        "b-nan": b'{"id":NaN,"name":"x","height":Infinity,"weight":60,"types":[],"stats":[]}',
        "b-esc": b'{"id":25,"name":"\\u001b[31mRED\\u001b]0;pwned\\u0007\\nline2\\r\\u001b[2J","height":4,"weight":60,"types":[{"slot":1,"type":{"name":"\\u001b[5mblink","url":"x"}}],"stats":[]}',
        "b-hugeid": b'{"id":1e400,"name":"x","height":-1,"weight":1e400,"types":[],"stats":[]}',
        "b-negid": b'{"id":-9223372036854775809,"name":"x","height":-1,"weight":-5,"types":[],"stats":[]}',
        "b-longname": b'{"id":25,"name":"' + b'x' * 5000000 + b'","height":4,"weight":60,"types":[],"stats":[]}',
        "b-manytypes": b'{"id":25,"name":"x","height":4,"weight":60,"types":[' + b','.join(b'{"slot":1,"type":{"name":"t%d","url":"x"}}' % i for i in range(200000)) + b'],"stats":[]}',
        "b-wrongtypes": b'{"id":"25","name":25,"height":"tall","weight":null,"types":"none","stats":{}}',
        "b-empty": b'',
        "b-null": b'null',
        "b-bom": b'\xef\xbb\xbf{"id":25,"name":"pikachu","height":4,"weight":60,"types":[],"stats":[]}',
    }
    if mode in BODIES:
        if islist and mode not in ("b-empty", "b-null"):
            send(c, "200 OK", listing(host, mode, 10)); return True
        send(c, "200 OK", BODIES[mode]); return True
    if mode == "big60":
        global BIG
        try: BIG
        except NameError: BIG = b'{"id":25,"name":"big","height":4,"weight":60,"types":[],"stats":[],"pad":"' + b"a" * (60 << 20) + b'"}'
        send(c, "200 OK", BIG); return True
    if mode == "stall":
        time.sleep(300); return False
    if mode == "reset":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"); return False
    send(c, "404 Not Found", b"unknown mode", ctype="text/plain"); return True

s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", PORT)); s.listen(1024); s.settimeout(1)
while time.time() < STOP:
    try: c, a = s.accept()
    except socket.timeout: continue
    threading.Thread(target=handle, args=(c, a), daemon=True).start()
