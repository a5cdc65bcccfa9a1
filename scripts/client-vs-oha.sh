#!/usr/bin/env bash
# Client throughput against oha, measured alternately so both see the same machine.
#
#   scripts/client-vs-oha.sh [ROUNDS] [N] [label=extra asyncdex flags]...
#
# Needs a release build, oha (`cargo install oha --locked`) and a server on
# 127.0.0.1:18093, e.g. `./target/release/asyncdex serve --bind 127.0.0.1:18093 --latency 0`.
# Each round runs `asyncdex names N --mode async -c 64` once per label, then
# `oha -n N -c 64` asking random ids like asyncdex does, and prints requests/s per label:
# the mean, then every round's figure. oha runs with --disable-compression: by default it
# asks for gzip, and the mirror would send it a ~8 KB compressed copy of each ~250 KB
# body that asyncdex reads whole.
set -euo pipefail
rounds=${1:-6}
n=${2:-20000}
shift $(($# < 2 ? $# : 2))
[ $# -gt 0 ] || set -- "asyncdex="
api=${API:-http://127.0.0.1:18093/api/v2}
bin=${BIN:-$(dirname "$0")/../target/release/asyncdex}
for _ in $(seq "$rounds"); do
  for spec in "$@"; do
    label=${spec%%=*}
    # shellcheck disable=SC2086 # the flags are meant to split
    rate=$("$bin" names "$n" --mode async -c 64 --api "$api" --retries 0 --json ${spec#*=} 2>/dev/null |
      grep -o '"requests_per_s":[0-9.]*' | cut -d: -f2)
    echo "$label $rate"
  done
  rate=$(oha -n "$n" -c 64 --no-tui --disable-compression --rand-regex-url "$api/pokemon/[1-9][0-9]{0,2}/" |
    awk '/Requests\/sec/ {print $2}')
  echo "oha $rate"
done | awk '{ all[$1] = all[$1] " " int($2); sum[$1] += $2; count[$1]++ }
  END { for (k in all) printf "%-10s mean %6d :%s\n", k, sum[k] / count[k], all[k] }' | sort
