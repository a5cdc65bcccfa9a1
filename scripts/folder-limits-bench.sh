#!/usr/bin/env bash
# `serve --from DIR` against big inputs (issue #13, F1 and F13). Loopback only; the
# folders are made under a temporary directory and removed at the end.
# Usage: scripts/folder-limits-bench.sh BINARY PORT
#   1. 64 concurrent GETs (oha, 10 s) of one 60 MB folder file: the server's VmHWM before
#      and after, its VmRSS at the end and 2 s later, the statuses and /asyncdex/meta.
#   2. one keep-alive client cycling ?limit=1..3000 over six lists of the embedded data,
#      gzip asked, for 15 s: VmRSS and gzip_kept_bytes.
set -euo pipefail
bin=$1 port=$2
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
python3 - "$work/site" <<'PY'
import json, os, sys
api = os.path.join(sys.argv[1], "data/api/v2/berry")
os.makedirs(os.path.join(api, "14"))
res = [{"name": f"b{i}", "url": f"/api/v2/berry/{i}/"} for i in range(1, 15)]
open(os.path.join(api, "index.json"), "w").write(json.dumps({"count": 14, "results": res}))
item = '{"name":"cheri","url":"/api/v2/berry/1/"}'
with open(os.path.join(api, "14/index.json"), "w") as f:  # 60 MB, 1.4 M links
    f.write('{"id":14,"items":[' + ",".join([item] * (60_000_000 // (len(item) + 1))) + "]}")
PY
meta() { curl -s "http://127.0.0.1:$port/asyncdex/meta" | python3 -c "import json,sys;d=json.load(sys.stdin);print({k:d[k] for k in sys.argv[1:]})" "$@"; }
echo "== 64 concurrent GETs of a 60 MB folder file"
"$bin" serve --from "$work/site" --bind "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
sleep 1.5
grep VmHWM /proc/$server/status
oha -z 10s -c 64 --no-tui "http://127.0.0.1:$port/api/v2/berry/14/" 2>&1 | grep -E 'Success rate|^ +\[[0-9]{3}\]'
grep -E 'VmHWM|VmRSS' /proc/$server/status
meta answers_in_flight_bytes over_budget requests
sleep 2
grep VmRSS /proc/$server/status
kill $server; wait $server || true
echo "== one client cycling ?limit= with gzip, 15 s"
"$bin" serve --bind "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
sleep 1.5
python3 - "$port" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
eps = ["pokemon", "item", "move", "pokemon-species", "location-area", "ability"]
start, n, limit = time.time(), 0, 1
while time.time() - start < 15:
    c.request("GET", f"/api/v2/{eps[n % len(eps)]}/?limit={limit}", headers={"Accept-Encoding": "gzip"})
    c.getresponse().read()
    n, limit = n + 1, limit % 3000 + 1
print("requests", n)
PY
grep -E 'VmHWM|VmRSS' /proc/$server/status
meta gzip_kept_bytes over_budget
