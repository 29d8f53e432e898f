#!/usr/bin/env bash
# Ensemble benchmark: a 3-server ensemble of the real ZooKeeper 3.8 (Debian's `zookeeper`
# package, QuorumPeerMain) and one of samsa-coord, one after the other on this machine, each
# configured as ZooKeeper is (tests/fault/ensemble.py: one zoo.cfg per server, myid files,
# loopback ports, tickTime=2000 initLimit=10 syncLimit=5). Prints:
#   * write throughput and p50/p99 latency, create and setData, 100-byte values, 100 requests
#     outstanding, driven by zk_bench (the ZooKeeper C client) connected to ONE server: a
#     follower (writes forwarded to the leader) and then the leader itself;
#   * failover time: from kill -9 of the leader until a write succeeds again, for a client
#     connected to all three servers (tests/bench/ensemble_failover.py), median of 10 trials,
#     the old leader restarted between trials.
# When samsa-coord does not form an ensemble (no binary; or it answers Mode: standalone, or
# never elects a leader) its half is skipped with a message saying so. Servers are stopped by
# pid (ensemble.py stop), also on failure (trap). Figures only: nothing here asserts a timing.
#
#   tests/bench/run_ensemble_bench.sh [samsa-coord] [zk_bench]
#     samsa-coord: $1, else $SAMSA_COORD, else build/coord/samsa-coord
#     env BENCH_COUNT (default 20000 requests per run), BENCH_REPEAT (default 3: the run with
#     the median throughput is reported), BENCH_TRIALS (default 10 failover trials).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
coord=${1:-${SAMSA_COORD:-$root/build/coord/samsa-coord}}
bench=${2:-$root/build/tests/bench/zk_bench}
count=${BENCH_COUNT:-20000}
repeat=${BENCH_REPEAT:-3}
trials=${BENCH_TRIALS:-10}
py=/usr/bin/python3
ens="$py $root/tests/fault/ensemble.py"
work=$(mktemp -d /tmp/samsa-ensbench.XXXXXX)
started=()
cleanup() {
  for d in "${started[@]}"; do $ens stop "$d" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$bench" ] || { echo "run_ensemble_bench.sh: no zk_bench at $bench" >&2; exit 1; }

# the run with the median throughput among $repeat runs of: zk_bench host op
median_run() {
  local runs="" one
  for _ in $(seq 1 "$repeat"); do
    one=$("$bench" "$1" --op "$2" --outstanding 100 --count "$count" --value-size 100)
    echo "  $3 $one" >&2
    runs+="$one"$'\n'
  done
  printf "%s" "$runs" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^ops_per_sec=/) { split($i, kv, "="); print kv[2], $0 } }' \
    | sort -n | cut -d' ' -f2- | sed -n "$(( (repeat + 1) / 2 ))p"
}
field() { sed -n "s/.*[ ]$2=\([0-9]*\).*/\1/p" <<<"${1:-}"; }

declare -A result
declare -A skipped
for kind in real samsa; do
  dir=$work/$kind
  if [ "$kind" = samsa ] && [ ! -x "$coord" ]; then
    skipped[$kind]="no samsa-coord binary at '$coord'"
    continue
  fi
  started+=("$dir")
  set +e
  out=$(SAMSA_COORD=$coord ENSEMBLE_START_TIMEOUT=60 $ens start "$kind" 3 "$dir" 2>"$work/$kind.err")
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    if [ "$kind" = samsa ]; then
      skipped[$kind]="samsa-coord cannot form a 3-server ensemble yet: $(tail -c 300 "$work/$kind.err" | head -3)"
      continue
    fi
    echo "run_ensemble_bench.sh: the real ZooKeeper ensemble did not start:" >&2
    cat "$work/$kind.err" >&2
    exit 1
  fi
  echo "== $kind: $out" >&2
  status=$($ens status "$dir")
  echo "$status" >&2
  leader=$(awk '$3 == "leader" {print $2; exit}' <<<"$status")
  follower=$(awk '$3 == "follower" {print $2; exit}' <<<"$status")
  # warm-up (the JVM's JIT), discarded
  "$bench" "$leader" --op create --outstanding 100 --count "$count" >/dev/null
  "$bench" "$follower" --op create --outstanding 100 --count "$count" >/dev/null
  for role in follower leader; do
    host=$follower
    [ "$role" = leader ] && host=$leader
    for op in create set; do
      result[$kind.$role.$op]=$(median_run "$host" "$op" "$kind $role")
    done
    result[$kind.$role.host]=$host
  done
  echo "== $kind: failover, $trials trials" >&2
  result[$kind.failover]=$(SAMSA_COORD=$coord $py "$root/tests/bench/ensemble_failover.py" "$dir" --trials "$trials" --label "$kind")
  $ens stop "$dir"
done

dash() { echo "${1:--}"; }
fmt="%-34s %12s %12s   %9s %9s   %9s %9s\n"
printf "\n3-server ensembles, tickTime=2000 initLimit=10 syncLimit=5, 100 B values, 100 outstanding\n"
printf "$fmt" "workload (client on one server)" "zk ops/s" "samsa ops/s" "zk p50us" "samsa" "zk p99us" "samsa"
for role in follower leader; do
  for op in create set; do
    r=${result[real.$role.$op]:-}; s=${result[samsa.$role.$op]:-}
    printf "$fmt" "$op, client on the $role" "$(dash "$(field "$r" ops_per_sec)")" \
      "$(dash "$(field "$s" ops_per_sec)")" "$(dash "$(field "$r" p50_us)")" \
      "$(dash "$(field "$s" p50_us)")" "$(dash "$(field "$r" p99_us)")" "$(dash "$(field "$s" p99_us)")"
  done
done
fo() { sed -n "s/.*[ ]$2=\([0-9]*\).*/\1/p" <<<"${1:-}"; }
printf "%-34s %12s %12s   (min/max zk %s/%s, samsa %s/%s)\n" "failover ms, median of $trials" \
  "$(dash "$(fo "${result[real.failover]:-}" median)")" "$(dash "$(fo "${result[samsa.failover]:-}" median)")" \
  "$(dash "$(fo "${result[real.failover]:-}" min)")" "$(dash "$(fo "${result[real.failover]:-}" max)")" \
  "$(dash "$(fo "${result[samsa.failover]:-}" min)")" "$(dash "$(fo "${result[samsa.failover]:-}" max)")"
for kind in real samsa; do
  [ -n "${result[$kind.leader.host]:-}" ] && echo "$kind: leader ${result[$kind.leader.host]}, follower ${result[$kind.follower.host]} (at the start; failover moved the leader after)"
done
for kind in "${!skipped[@]}"; do echo "($kind skipped: ${skipped[$kind]})"; done
exit 0
