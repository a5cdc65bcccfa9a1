#!/usr/bin/env bash
# The shared crawl measured (BENCHMARKS.md, Session 5): N crawl processes sharing one
# PostgreSQL queue, against `asyncdex serve` mirrors run as separate processes.
#
#     scripts/postgres-bench.sh [BIN] [WHICH...]     WHICH: baseline shared per-worker overhead kill faults rate
#
# Uses the server ASYNCDEX_POSTGRES_URL names, or starts a throwaway one (.ci/postgres).
# Every run gets a fresh database; counts are SQL counts of what was stored.
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-target/release/asyncdex}"
shift || true
which="${*:-baseline shared per-worker overhead kill faults rate}"
[ -n "${ASYNCDEX_POSTGRES_URL:-}" ] || source .ci/postgres
admin="$ASYNCDEX_POSTGRES_URL"
base="${admin%/*}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

now() { date +%s.%N; }
fresh() {
    psql -qAt "$admin" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
    echo "$base/$1"
}
# serve PORT ARGS...: a mirror on 127.0.0.1:PORT; its PID in $served.
serve() {
    local port="$1"
    shift
    "$B" serve --bind "127.0.0.1:$port" "$@" >"/tmp/pgbench-serve-$port.log" 2>&1 &
    served=$!
    pids+=("$served")
    for _ in $(seq 100); do
        kill -0 "$served" 2>/dev/null || { cat "/tmp/pgbench-serve-$port.log" >&2; exit 1; }
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return
        sleep 0.05
    done
    echo "mirror on $port did not start" >&2
    exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# worker I URL API ARGS...: a crawl process; its PID in $worker.
worker() {
    local i="$1" url="$2" api="$3"
    shift 3
    "$B" crawl --out "$url" --api "$api" "$@" >"/tmp/pgbench-w$i.out" 2>"/tmp/pgbench-w$i.err" &
    worker=$!
}
stored() {
    psql -qAt "$1" -c "SELECT (SELECT count(*) FROM asyncdex.resources) || ' rows, '
        || (SELECT coalesce(sum(writes), 0) FROM asyncdex.resources) || ' writes, '
        || (SELECT sum(count) FROM asyncdex.lists) || ' listed, '
        || (SELECT count(*) FROM asyncdex.queue WHERE state <> 'done') || ' not done, '
        || (SELECT coalesce(sum(leases - 1), 0) FROM asyncdex.queue WHERE leases > 1) || ' leases taken over'"
}
# crawl_n N C URL API...: N workers (-c C each), the i-th from the i-th API (the last one
# repeats), started together; prints the wall time to the last one's end.
crawl_n() {
    local n="$1" c="$2" url="$3"
    shift 3
    local apis=("$@") ws=() t0
    t0=$(now)
    for i in $(seq 0 $((n - 1))); do
        local api="${apis[$((i < ${#apis[@]} ? i : ${#apis[@]} - 1))]}"
        worker "$i" "$url" "$api" -c "$c"
        ws+=("$worker")
    done
    for w in "${ws[@]}"; do wait "$w" || echo "a worker exited $?" >&2; done
    echo "$(now) - $t0" | bc
}

if [[ " $which " == *" baseline "* ]]; then
    echo "== the same mirror (--capacity 64 --latency 100) crawled into SQLite, -c 64: what one process does without a queue"
    serve 28100 --latency 100 --capacity 64
    rm -f /tmp/pgbench.db /tmp/pgbench.db-wal /tmp/pgbench.db-shm
    t0=$(now)
    "$B" crawl --out /tmp/pgbench.db --api http://127.0.0.1:28100/api/v2 -c 64 >/dev/null 2>/tmp/pgbench-sqlite.err
    echo "sqlite: $(echo "$(now) - $t0" | bc) s; $(grep 'stored in' /tmp/pgbench-sqlite.err)"
    stop "$served"
fi

if [[ " $which " == *" shared "* ]]; then
    echo "== one mirror, --capacity 64 --latency 100; N workers with -c 64/N (ideal: 242 rounds of 100 ms = 24.2 s for any N)"
    for n in 1 2 4; do
        serve 28100 --latency 100 --capacity 64
        url=$(fresh pgbench_shared_$n)
        t=$(crawl_n "$n" $((64 / n)) "$url" http://127.0.0.1:28100/api/v2)
        echo "N=$n: ${t} s; $(stored "$url")"
        stop "$served"
    done
fi

if [[ " $which " == *" per-worker "* ]]; then
    echo "== one mirror per worker (a per-address limit), each --capacity 64 --latency 100; -c 64 each (ideal: 24.2 s / N)"
    for n in 1 2 4; do
        apis=()
        mirrors=()
        for i in $(seq 1 "$n"); do
            serve $((28100 + i)) --latency 100 --capacity 64
            mirrors+=("$served")
            apis+=("http://127.0.0.1:$((28100 + i))/api/v2")
        done
        url=$(fresh pgbench_each_$n)
        t=$(crawl_n "$n" 64 "$url" "${apis[@]}")
        echo "N=$n: ${t} s; $(stored "$url")"
        for m in "${mirrors[@]}"; do stop "$m"; done
    done
fi

if [[ " $which " == *" overhead "* ]]; then
    echo "== the queue's own cost: one worker, -c 64, a mirror at latency 0, SQLite against PostgreSQL"
    serve 28100 --latency 0
    for run in 1 2; do
        rm -f /tmp/pgbench.db /tmp/pgbench.db-wal /tmp/pgbench.db-shm
        t0=$(now)
        "$B" crawl --out /tmp/pgbench.db --api http://127.0.0.1:28100/api/v2 -c 64 >/dev/null 2>/tmp/pgbench-sqlite.err
        ts=$(echo "$(now) - $t0" | bc)
        url=$(fresh pgbench_overhead)
        t0=$(now)
        "$B" crawl --out "$url" --api http://127.0.0.1:28100/api/v2 -c 64 >/dev/null 2>/tmp/pgbench-pg.err
        tp=$(echo "$(now) - $t0" | bc)
        echo "run $run: sqlite ${ts} s, postgres ${tp} s; per resource: sqlite $(echo "scale=3; $ts * 1000 / 15464" | bc) ms, postgres $(echo "scale=3; $tp * 1000 / 15464" | bc) ms; $(stored "$url")"
    done
    stop "$served"
fi

if [[ " $which " == *" kill "* ]]; then
    echo "== kill -9: three workers -c 21 a second apart, --lease 10, one mirror --capacity 64 --latency 100"
    for kill in no yes; do
        serve 28100 --latency 100 --capacity 64
        url=$(fresh pgbench_kill)
        t0=$(now)
        t0_ms=$(date +%s%3N)
        ws=()
        for i in 0 1 2; do
            [ "$i" = 0 ] || sleep 1
            worker "$i" "$url" http://127.0.0.1:28100/api/v2 -c 21 --lease 10
            ws+=("$worker")
        done
        if [ "$kill" = yes ]; then
            sleep 6
            kill -9 "${ws[1]}"
            echo "killed worker 1 (pid ${ws[1]}) at $(echo "$(now) - $t0" | bc) s"
        fi
        for w in "${ws[@]}"; do wait "$w" 2>/dev/null || true; done
        t=$(echo "$(now) - $t0" | bc)
        echo "kill=$kill: ${t} s; $(stored "$url")"
        psql -qAt "$url" -c "SELECT 'the batch taken over was stored between '
            || round((min(r.fetched_at) - $t0_ms) / 1000.0, 1) || ' and '
            || round((max(r.fetched_at) - $t0_ms) / 1000.0, 1) || ' s'
            FROM asyncdex.resources r JOIN asyncdex.queue q USING (endpoint, id) WHERE q.leases > 1
            HAVING count(*) > 0"
        grep -h "^queue" /tmp/pgbench-w0.err /tmp/pgbench-w2.err || true
        stop "$served"
    done
fi

if [[ " $which " == *" faults "* ]]; then
    echo "== 20 % injected faults (500/502/503), three workers -c 21, one mirror --capacity 64 --latency 100, --retries 10"
    serve 28100 --latency 100 --capacity 64 --fail-rate 0.2 --seed 5
    url=$(fresh pgbench_faults)
    t0=$(now)
    ws=()
    for i in 0 1 2; do
        worker "$i" "$url" http://127.0.0.1:28100/api/v2 -c 21 --retries 10
        ws+=("$worker")
    done
    for w in "${ws[@]}"; do wait "$w" || echo "a worker exited $?" >&2; done
    echo "faults: $(echo "$(now) - $t0" | bc) s; $(stored "$url")"
    grep -h "retried" /tmp/pgbench-w*.err | grep "stored in" || true
    stop "$served"
    tail -2 /tmp/pgbench-serve-28100.log
fi

if [[ " $which " == *" rate "* ]]; then
    echo "== --rate 100 for the whole crawl: three workers -c 16, ability+type (394 resources and 2 lists: ideal 3.96 s at 100/s), a mirror at latency 0"
    serve 28100 --latency 0
    url=$(fresh pgbench_rate)
    t0=$(now)
    ws=()
    for i in 0 1 2; do
        worker "$i" "$url" http://127.0.0.1:28100/api/v2 -c 16 --rate 100 --resources ability,type
        ws+=("$worker")
    done
    for w in "${ws[@]}"; do wait "$w" || echo "a worker exited $?" >&2; done
    t=$(echo "$(now) - $t0" | bc)
    echo "rate: ${t} s; $(stored "$url")"
    grep -h "stored in" /tmp/pgbench-w*.err || true
    stop "$served"
    grep -h "stopped after" /tmp/pgbench-serve-28100.log
fi
