#!/usr/bin/env bash
# Coordinator benchmark: samsa-coord and the real ZooKeeper 3.8 (Debian's `zookeeper` package),
# standalone, each on a free loopback port in a temporary directory on this machine, driven by the
# same client (zk_bench, on the ZooKeeper C client). Prints create / setData / getData throughput
# and p50/p99 latency with 1 and 100 requests outstanding (100-byte values), then the resident
# memory (VmRSS) of each server, freshly started, holding 100,000 such znodes, and the ratios
# samsa/zookeeper. Every run is preceded by a discarded warm-up (the JVM's JIT). Servers are
# started and stopped by pid through tests/integration/zkharness.py, also on failure (trap).
# Figures only: nothing here asserts a timing.
#
#   tests/bench/run_zk_bench.sh [samsa-coord] [zk_bench]
#     samsa-coord: $1, else $SAMSA_COORD, else build/coord/samsa-coord; when it does not exist,
#                  only the real ZooKeeper runs.
#     env BENCH_COUNT (default 20000 requests per run; a quarter of it at 1 outstanding for
#     writes), BENCH_REPEAT (default 3: each workload runs 3 times and the median-throughput run
#     is reported), BENCH_POPULATE (default 100000 znodes).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
coord=${1:-${SAMSA_COORD:-$root/build/coord/samsa-coord}}
bench=${2:-$root/build/tests/bench/zk_bench}
count=${BENCH_COUNT:-20000}
repeat=${BENCH_REPEAT:-3}
populate=${BENCH_POPULATE:-100000}
harness="/usr/bin/python3 $root/tests/integration/zkharness.py"
work=$(mktemp -d /tmp/samsa-bench.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then $harness stop "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$bench" ] || { echo "run_zk_bench.sh: no zk_bench at $bench" >&2; exit 1; }
kinds="real samsa"
if [ ! -x "$coord" ]; then
  echo "run_zk_bench.sh: no samsa-coord at '$coord': running the real ZooKeeper only" >&2
  kinds="real"
fi

run=0
start() { # kind -> sets hosts, pid
  run=$((run + 1))
  read -r hosts pid < <(SAMSA_COORD=$coord $harness start "$1" "$work/$1-$run")
}
stop() { $harness stop "$pid"; pid=""; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# run_parallel hosts op count: 2 x zk_bench, 50 outstanding each, run together; one combined
# line: throughput summed, p50 averaged, p99 and max the worse of the two
run_parallel() {
  local f1=$work/p1 f2=$work/p2 a b
  "$bench" "$1" --op "$2" --outstanding 50 --count $(($3 / 2)) --value-size 100 >"$f1" &
  a=$!
  "$bench" "$1" --op "$2" --outstanding 50 --count $(($3 / 2)) --value-size 100 >"$f2" &
  b=$!
  wait "$a"
  wait "$b"
  awk -v op="$2" '{for (i = 1; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } }
    END { printf "op=%s outstanding=100 clients=2 count=%d ops_per_sec=%.0f p50_us=%d p99_us=%d max_us=%d errors=%d\n",
      op, v[1, "count"] + v[2, "count"], v[1, "ops_per_sec"] + v[2, "ops_per_sec"],
      (v[1, "p50_us"] + v[2, "p50_us"]) / 2, (v[1, "p99_us"] > v[2, "p99_us"] ? v[1, "p99_us"] : v[2, "p99_us"]),
      (v[1, "max_us"] > v[2, "max_us"] ? v[1, "max_us"] : v[2, "max_us"]), v[1, "errors"] + v[2, "errors"] }' "$f1" "$f2"
}

declare -A result
for kind in $kinds; do
  start "$kind"
  echo "== $kind on $hosts (pid $pid)" >&2
  "$bench" "$hosts" --op create --outstanding 100 --count "$count" >/dev/null   # warm-up
  "$bench" "$hosts" --op get --outstanding 100 --count "$count" >/dev/null
  for op in create set get; do
    for out in 1 100; do
      n=$count
      [ "$out" = 1 ] && [ "$op" != get ] && n=$((count / 4))
      runs=""
      for _ in $(seq 1 "$repeat"); do
        if [ "$op" = get ] && [ "$out" = 100 ]; then
          # reads: two client processes with 50 requests in flight each, because one zk_bench
          # process is CPU-bound (~30k gets/s) before samsa-coord is. Writes are bound by the
          # server's fsyncs, and a second client only adds scheduling noise on 2 cores.
          one=$(run_parallel "$hosts" "$op" "$n")
        else
          one=$("$bench" "$hosts" --op "$op" --outstanding "$out" --count "$n" --value-size 100)
        fi
        echo "$kind $one" >&2
        runs+="$one"$'\n'
      done
      # the run with the median throughput
      line=$(printf "%s" "$runs" | sort -t= -k1,1 | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^ops_per_sec=/) { split($i, kv, "="); print kv[2], $0 } }' \
        | sort -n | cut -d' ' -f2- | sed -n "$(( (repeat + 1) / 2 ))p")
      result[$kind.$op.$out]=$line
    done
  done
  stop
  start "$kind"   # memory on a fresh server: only the populated znodes
  result[$kind.idle]=$(rss_kb "$pid")
  echo "$kind $("$bench" "$hosts" --populate "$populate" --value-size 100)" >&2
  result[$kind.rss]=$(rss_kb "$pid")
  echo "$kind RSS idle ${result[$kind.idle]} KiB, with $populate znodes ${result[$kind.rss]} KiB" >&2
  stop
done

field() { sed -n "s/.*[ ]$2=\([0-9]*\).*/\1/p" <<<"${1:-}"; }
ratio() { # a b -> a/b
  if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; else echo "-"; fi
}
dash() { echo "${1:--}"; }
fmt="%-24s %12s %12s %7s   %9s %9s   %9s %9s   %9s %9s\n"
printf "\n$fmt" "workload (100 B values)" "zk ops/s" "samsa ops/s" "ratio" "zk p50us" "samsa" "zk p99us" "samsa" \
  "zk maxus" "samsa"
for op in create set get; do
  for out in 1 100; do
    r=${result[real.$op.$out]:-}; s=${result[samsa.$op.$out]:-}
    printf "$fmt" "$op, $out outstanding" "$(dash "$(field "$r" ops_per_sec)")" \
      "$(dash "$(field "$s" ops_per_sec)")" \
      "$(ratio "$(field "$s" ops_per_sec)" "$(field "$r" ops_per_sec)")" \
      "$(dash "$(field "$r" p50_us)")" "$(dash "$(field "$s" p50_us)")" \
      "$(dash "$(field "$r" p99_us)")" "$(dash "$(field "$s" p99_us)")" \
      "$(dash "$(field "$r" max_us)")" "$(dash "$(field "$s" max_us)")"
  done
done
printf "%-24s %12s %12s %7s\n" "RSS idle (KiB)" "${result[real.idle]}" "$(dash "${result[samsa.idle]:-}")" \
  "$(ratio "${result[samsa.idle]:-}" "${result[real.idle]}")"
printf "%-24s %12s %12s %7s\n" "RSS $populate znodes (KiB)" "${result[real.rss]}" "$(dash "${result[samsa.rss]:-}")" \
  "$(ratio "${result[samsa.rss]:-}" "${result[real.rss]}")"
[ "$kinds" = "real" ] && echo "(samsa-coord not run: no binary at '$coord')"
exit 0
