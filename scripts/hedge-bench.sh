#!/usr/bin/env bash
# A slow tail, with and without --hedge p95, against one `serve` process (BENCHMARKS.md,
# Session 5).
#
#   [BIN=path/to/asyncdex] [ROUNDS=3] [N=2000] scripts/hedge-bench.sh
#
# Starts `serve --latency 20 --tail-rate 0.05 --tail-ms 2000` on 127.0.0.1:18095, then per
# round runs `names N --mode async` once plain and once with `--hedge p95`, and prints each
# run's p50/p90/p99/max (from --json), how many calls were hedged, and how many requests the
# server saw (its /asyncdex/meta counter before and after, less the counter's own request).
# The server is stopped by its PID at the end. Needs curl and python3.
set -euo pipefail
B=${BIN:-$(dirname "$0")/../target/release/asyncdex}
PORT=18095
API=http://127.0.0.1:$PORT/api/v2
ROUNDS=${ROUNDS:-3}
N=${N:-2000}
$B serve --bind 127.0.0.1:$PORT --latency 20 --tail-rate 0.05 --tail-ms 2000 --seed 1 >"${TMPDIR:-/tmp}/hedge-bench-serve.out" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:$PORT/asyncdex/meta && break; sleep 0.1; done
reqs() { curl -s http://127.0.0.1:$PORT/asyncdex/meta | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
for r in $(seq "$ROUNDS"); do
  for label in plain hedge; do
    extra=""; [ $label = hedge ] && extra="--hedge p95"
    before=$(reqs)
    line=$($B names "$N" --mode async --ids 1-898 --retries 0 --seed "$r" --api "$API" --json $extra 2>/dev/null)
    after=$(reqs)
    echo "$line" | python3 -c "
import json,sys
d=json.loads(sys.stdin.read()); l=d['latency_ms']
sent=$after-$before-1  # the meta request itself
print(f\"$label round $r: ok {d['ok']}/{d['n']} wall {d['wall_ms']:.0f} ms p50 {l['p50']} p90 {l['p90']} p99 {l['p99']} max {l['max']} hedged {d['hedged']} won-by-copy {d['hedges_won']} requests {sent} (+{(sent-d['n'])/d['n']*100:.1f} %)\")"
  done
done
kill $SPID; wait $SPID 2>/dev/null || true
trap - EXIT
