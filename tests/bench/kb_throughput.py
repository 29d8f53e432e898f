#!/usr/bin/env python3
"""What replication costs a producer: RF=1 with acks=1 against RF=3 with acks=all
(min.insync.replicas=2), in the same run on the same machine.

One coordinator and 3 brokers (broker defaults); two topics of one partition led by the same
broker: `rf1` (replicas [L]) and `rf3` (replicas [L, F1, F2], min.insync.replicas=2).
kafka-producer-perf-test (librdkafka; its batching defaults: linger.ms=5, batch.num.messages
10000, batch.size 1 MB) sends --records 100-byte records as fast as it can to each, alternating,
--repeat times (long form in meson: 2,000,000 records, 5 times: shorter runs last under a second and vary too much); for each the run with the median records/s is reported with its MB/s and p50/p99
latency (from produce() to the delivery report), then the ratio of the RF=3 acks=all figure to
the RF=1 acks=1 one. Asserts only that every run delivered every record (the tool's exit status);
the figures are never asserted.

    kb_throughput.py --perf build/tests/bench/kafka-producer-perf-test [--records 500000] [--repeat 3]
    env: SAMSA_COORD, SAMSA_BROKER (the daemons), PYTHONPATH=tests/lib
"""
import argparse
import os
import re
import subprocess
import sys
import warnings

from samsatest import kb
from samsatest.benchrun import BenchRun

warnings.simplefilter("ignore")
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

FINAL = re.compile(r"^(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                   r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th\.$")


def perf(tool, bootstrap, topic, acks, records):
    """One kafka-producer-perf-test run: its final line's figures as a dict."""
    argv = [tool, "--topic", topic, "--num-records", str(records), "--record-size", "100",
            "--throughput", "-1", "--producer-props", "bootstrap.servers=" + bootstrap, "acks=" + acks]
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
    text = out.stdout.decode(errors="replace")
    lines = [ln for ln in text.splitlines() if FINAL.match(ln)]
    if out.returncode != 0 or not lines:
        raise AssertionError("%s exited with %d:\n%s" % (" ".join(argv), out.returncode, text[-3000:]))
    m = FINAL.match(lines[-1])
    return {"records": int(m.group(1)), "rps": float(m.group(2)), "mbps": float(m.group(3)),
            "avg": float(m.group(4)), "max": float(m.group(5)), "p50": int(m.group(6)),
            "p99": int(m.group(8)), "line": lines[-1]}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perf", required=True, help="kafka-producer-perf-test")
    ap.add_argument("--records", type=int, default=500000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    tool = os.path.abspath(args.perf)

    run = BenchRun()
    try:
        c = kb.Cluster(run, brokers=3)
        ctrl = c.wait_brokers()
        lead = [i for i in range(3) if i != ctrl][0]
        followers = [i for i in range(3) if i != lead]
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        fs = admin.create_topics([
            NewTopic("rf1", 1, replica_assignment=[[lead]]),
            NewTopic("rf3", 1, replica_assignment=[[lead] + followers], config={"min.insync.replicas": "2"})])
        for f in fs.values():
            f.result(30)
        c.wait_leaders("rf1", 1)
        c.wait_leaders("rf3", 1)
        c.wait_state("rf3", 0, lambda s: len(s["isr"]) == 3, what="all 3 replicas in the ISR")
        print("== 1 coordinator, 3 brokers on %d cores (shared with other work); leader of both "
              "topics: broker %d (the controller: %d); %d records of 100 B per run, %d run(s) each"
              % (os.cpu_count(), lead, ctrl, args.records, args.repeat), file=sys.stderr)
        cases = [("RF=1 acks=1", "rf1", "1"), ("RF=3 acks=all", "rf3", "all")]
        runs = {name: [] for name, _, _ in cases}
        for i in range(args.repeat):
            for name, topic, acks in cases:
                r = perf(tool, c.bootstrap, topic, acks, args.records)
                runs[name].append(r)
                print("  run %d %-14s %s" % (i + 1, name, r["line"]), file=sys.stderr)
        med = {}
        for name, _, _ in cases:
            rs = sorted(runs[name], key=lambda r: r["rps"])
            med[name] = rs[(len(rs) - 1) // 2]
            r = med[name]
            print("%-14s records/s=%.0f MB/s=%.2f p50_ms=%d p99_ms=%d (median of %d)"
                  % (name, r["rps"], r["mbps"], r["p50"], r["p99"], len(rs)))
        print("ratio RF3-acks-all/RF1-acks-1=%.2f" % (med["RF=3 acks=all"]["rps"] / med["RF=1 acks=1"]["rps"]))
        run.ok()
        return 0
    finally:
        run.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
