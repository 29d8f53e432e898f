#!/usr/bin/env bash
# Coordinator benchmark: samsa-coord and the real ZooKeeper 3.8 (Debian's `zookeeper` package),
# standalone, on free loopback ports in temporary directories on this machine, driven by the same
# client (zk_bench, on the ZooKeeper C client). Prints create / setData / getData throughput and
# p50/p99 latency with 1 and 100 requests outstanding (100-byte values), then the resident
# memory of each server holding 100,000 such znodes. Both servers are stopped by pid on exit.
#
#   tests/bench/run_zk_bench.sh [samsa-coord] [zk_bench]     (env BENCH_COUNT, default 20000)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
coord=${1:-${SAMSA_COORD:-$root/build/coord/samsa-coord}}
bench=${2:-$root/build/tests/bench/zk_bench}
count=${BENCH_COUNT:-20000}
harness="/usr/bin/python3 $root/tests/integration/zkharness.py"
work=$(mktemp -d /tmp/samsa-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && $harness stop "$p" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start() { # kind -> "host:port pid"
  SAMSA_COORD=$coord $harness start "$1" "$work/$1"
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

declare -A result
for kind in real samsa; do
  read -r hosts pid < <(start $kind)
  pids+=("$pid")
  echo "== $kind on $hosts (pid $pid), idle RSS $(rss_kb "$pid") KiB" >&2
  for op in create set get; do
    for out in 1 100; do
      n=$count
      [ "$out" = 1 ] && [ "$op" != get ] && n=$((count / 4))
      line=$("$bench" "$hosts" --op $op --outstanding $out --count "$n" --value-size 100)
      echo "$kind $line" >&2
      result[$kind.$op.$out]=$line
    done
  done
  "$bench" "$hosts" --populate 100000 --value-size 100 >&2
  result[$kind.rss]=$(rss_kb "$pid")
  echo "$kind RSS with 100,000 znodes: ${result[$kind.rss]} KiB" >&2
  $harness stop "$pid"
done

field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" <<<"$1"; }
printf "\n%-22s %14s %14s %7s   %10s %10s   %10s %10s\n" "workload" "zookeeper/s" "samsa/s" "ratio" "zk p50us" "samsa p50" "zk p99us" "samsa p99"
for op in create set get; do
  for out in 1 100; do
    r=${result[real.$op.$out]}; s=${result[samsa.$op.$out]}
    rt=$(field "$r" ops_per_sec); st=$(field "$s" ops_per_sec)
    printf "%-22s %14s %14s %7s   %10s %10s   %10s %10s\n" "$op, $out outstanding" "$rt" "$st" \
      "$(awk -v a="$st" -v b="$rt" 'BEGIN{printf "%.2fx", a/b}')" \
      "$(field "$r" p50_us)" "$(field "$s" p50_us)" "$(field "$r" p99_us)" "$(field "$s" p99_us)"
  done
done
printf "%-22s %14s %14s %7s\n" "RSS, 100k znodes (KiB)" "${result[real.rss]}" "${result[samsa.rss]}" \
  "$(awk -v a="${result[samsa.rss]}" -v b="${result[real.rss]}" 'BEGIN{printf "%.3fx", a/b}')"
