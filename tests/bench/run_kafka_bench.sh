#!/usr/bin/env bash
# Broker benchmark: a coordinator and one samsa-broker on free loopback ports in a temporary
# directory, driven by kafka-producer-perf-test and kafka-consumer-perf-test (librdkafka) on
# the same machine: 100-byte records, acks=1, one partition. Prints the tools' reports, the
# broker's resident memory (VmRSS) idle before and after, and this machine's limits measured the
# same way each run: loopback TCP bandwidth (one stream) and the disk's sequential write rate
# with fdatasync. Figures only: nothing here asserts them. Stops everything by pid (trap).
#
#   tests/bench/run_kafka_bench.sh [build dir]        env BENCH_RECORDS (default 5000000)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
records=${BENCH_RECORDS:-5000000}
harness="/usr/bin/python3 $root/tests/integration/zkharness.py"
export SAMSA_COORD=${SAMSA_COORD:-$build/coord/samsa-coord}
work=$(mktemp -d /tmp/samsa-kbench.XXXXXX)
zk_pid="" kb_pid=""
cleanup() {
  [ -n "$kb_pid" ] && { kill -TERM "$kb_pid" 2>/dev/null; wait "$kb_pid" 2>/dev/null || true; }
  [ -n "$zk_pid" ] && $harness stop "$zk_pid"
  rm -rf "$work"
}
trap cleanup EXIT
# a port outside the kernel's ephemeral range, free now (tests/lib/samsatest/ports.py)
free_port() { /usr/bin/python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from samsatest.ports import free_port; print(free_port())' "$root/tests/lib"; }
rss() { awk '/VmRSS/ {print $2 / 1024 " MB"}' "/proc/$1/status"; }

echo "== machine: $(nproc) cores, $(uname -r)"
/usr/bin/python3 - <<'PY'
import socket, threading, time
N = 2 << 30
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
def sink():
    c, _ = srv.accept(); got = 0
    while got < N:
        b = c.recv(1 << 20)
        if not b: break
        got += len(b)
th = threading.Thread(target=sink); th.start()
s = socket.create_connection(srv.getsockname()); buf = b"x" * (1 << 20); t0 = time.time()
for _ in range(N >> 20): s.sendall(buf)
s.close(); th.join(); dt = time.time() - t0
print("== loopback TCP, one stream: %.0f MB/s" % (N / dt / 1e6))
PY
dd if=/dev/zero of="$work/ddtest" bs=1M count=1024 conv=fdatasync 2>&1 | awk '/copied/ {print "== disk sequential write (1 GiB, fdatasync): " $(NF-1) " " $NF}'
rm -f "$work/ddtest"

read -r zk_hosts zk_pid < <($harness start samsa "$work/zk")
port=$(free_port)
ctl_port=$(free_port)
cat >"$work/server.properties" <<PROPS
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$port
control.plane.listener.port=$ctl_port
log.dirs=$work/kafka-logs
zookeeper.connect=$zk_hosts/bench
PROPS
LOG_DIR="$work/logs" "$build/broker/samsa-broker" "$work/server.properties" >"$work/broker.out" 2>&1 &
kb_pid=$!
bs=127.0.0.1:$port
for _ in $(seq 1 200); do "$build/broker/tools/kafka-topics" --list --bootstrap-server "$bs" >/dev/null 2>&1 && break; sleep 0.05; done
"$build/broker/tools/kafka-topics" --create --bootstrap-server "$bs" --topic perf --partitions 1 --replication-factor 1
echo "== broker RSS at idle: $(rss $kb_pid)"
echo "== kafka-producer-perf-test --num-records $records --record-size 100 --throughput -1 acks=1 (1 partition)"
"$build/tests/bench/kafka-producer-perf-test" --topic perf --num-records "$records" --record-size 100 \
  --throughput -1 --producer-props bootstrap.servers="$bs" acks=1 | tail -1
echo "== kafka-consumer-perf-test --messages $records"
"$build/tests/bench/kafka-consumer-perf-test" --bootstrap-server "$bs" --topic perf --messages "$records" | tail -2
echo "== broker RSS after the runs (idle again): $(rss $kb_pid)"
echo "== log on disk: $(du -sh "$work/kafka-logs/perf-0" | cut -f1)"
