#!/usr/bin/env bash
# Honest curl requests against `asyncdex serve` while hostile clients hold answers unread.
# Usage: scripts/slow-clients-bench.sh BINARY PORT SRC SECS HOSTILE...
#   SRC: the hostile clients' address (127.0.0.2: a peer of their own; 127.0.0.1: the
#   honest client's peer); HOSTILE: "h2 CONNS STREAMS", "h1 N", or "peers FIRST N STREAMS
#   PATH" (N peers of one connection each, from 127.0.0.FIRST on, STREAMS zero-window
#   streams of PATH each; RENEW=1 in the environment: a dropped peer comes back at once)
#   (several allowed).
# Prints, once a second for SECS seconds: the honest requests' statuses and times (a
# Pokemon, then a list's default page), the server's RSS and its answers in flight; then
# the honest totals, the server's VmHWM and its closing lines. Loopback only.
set -euo pipefail
bin=$1 port=$2 src=$3 secs=$4
shift 4
here=$(dirname "$0")
"$bin" serve --bind "127.0.0.1:$port" >"/tmp/slow-clients-$port.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1
pids=()
while [ $# -gt 0 ]; do
  case $1 in
    h2) SRC=$src python3 "$here/h2-zero-window.py" "$port" "$2" "$3" "$((secs + 5))" >/dev/null & pids+=($!); shift 3 ;;
    peers) python3 "$here/h2-stalled-peers.py" "$port" "$2" "$3" "$4" "$5" "$((secs + 5))" & pids+=($!); shift 5 ;;
    h1) SRC=$src python3 "$here/slow-readers.py" "$port" "$2" "$((secs + 5))" & pids+=($!); shift 2 ;;
    *) echo "unknown hostile client: $1" >&2; exit 2 ;;
  esac
done
sleep 3
ok=0 refused=0 list_ok=0
for i in $(seq 1 "$secs"); do
  line=$(curl -s -o /dev/null -m 90 -w '%{http_code} %{time_total}' "http://127.0.0.1:$port/api/v2/pokemon/$((i % 1000 + 1))/" || echo "000 -")
  case $line in 200*) ok=$((ok + 1)) ;; *) refused=$((refused + 1)) ;; esac
  list=$(curl -s -o /dev/null -m 90 -w '%{http_code}' "http://127.0.0.1:$port/api/v2/item/?offset=$i" || echo "000")
  [ "$list" = 200 ] && list_ok=$((list_ok + 1))
  line="$line list:$list"
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
  meta=$(curl -s -m 5 --interface 127.0.0.3 "http://127.0.0.1:$port/asyncdex/meta" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["answers_in_flight_bytes"], m["over_budget"], m["stalled_connections_dropped"])' 2>/dev/null || echo "(meta did not answer)")
  echo "t=${i}s honest: $line  rss_kb=$rss  in_flight/over_budget/stalled: $meta"
  sleep 1
done
echo "honest: $ok answered 200, $refused not; list pages $list_ok/$secs 200"
grep VmHWM "/proc/$server/status"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
kill -INT $server
wait $server || true
cat "/tmp/slow-clients-$port.log"
