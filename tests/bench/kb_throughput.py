#!/usr/bin/env python3
"""What replication costs a producer: RF=1 with acks=1 against RF=3 with acks=all
(min.insync.replicas=2), in the same run on the same machine; with --tls, also what TLS costs.

One coordinator and 3 brokers (broker defaults); two topics of one partition led by the same
broker: `rf1` (replicas [L]) and `rf3` (replicas [L, F1, F2], min.insync.replicas=2).
kafka-producer-perf-test (librdkafka; its batching defaults: linger.ms=5, batch.num.messages
10000, batch.size 1 MB) sends --records 100-byte records as fast as it can to each, alternating,
--repeat times (long form in meson: 2,000,000 records, 5 times: shorter runs last under a second
and vary too much); for each the run with the median records/s is reported with its MB/s and p50/p99
latency (from produce() to the delivery report), then the ratio of the RF=3 acks=all figure to
the RF=1 acks=1 one. Asserts only that every run delivered every record (the tool's exit status);
the figures are never asserted.

With --tls every broker also has an SSL listener (certificates of samsatest.certs: RSA 2048, CA
verification by the client, ssl.client.auth=none; inter-broker traffic stays on PLAINTEXT, the
only inter-broker protocol samsa starts with), and each case runs over PLAINTEXT and over SSL in
turn, in the same run: the ratio SSL/PLAINTEXT is printed per case, of the medians and of each
round (an SSL run right after its PLAINTEXT run, so under much the same load). Then the
handshake cost: --handshakes fresh connections to the leader, each a TCP connect (+ a full TLS
handshake, no session resumption) and one ApiVersions round trip, alternating PLAINTEXT and SSL;
the median and p99 ms per connection of each, and their difference. A client of Python's ssl
(OpenSSL), one connection at a time.

With --idempotent, each case runs with acks=all without and with enable.idempotence=true in turn
(librdkafka's idempotent producer: InitProducerId, sequence numbers checked by the leader, at
most 5 requests in flight per connection), and the ratio idempotent/plain is printed per case,
of the medians and of each round, as for --tls.

    kb_throughput.py --perf build/tests/bench/kafka-producer-perf-test [--records 500000] [--repeat 3]
        [--tls [--handshakes 500] | --idempotent]
    env: SAMSA_COORD, SAMSA_BROKER (the daemons), PYTHONPATH=tests/lib
"""
import argparse
import os
import re
import ssl
import statistics
import subprocess
import sys
import time
import warnings

from samsatest import kb
from samsatest.benchrun import BenchRun
from samsatest.certs import CA
from samsatest.ports import free_port

warnings.simplefilter("ignore")
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

FINAL = re.compile(r"^(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                   r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th\.$")


def perf(tool, bootstrap, topic, acks, records, props=()):
    """One kafka-producer-perf-test run: its final line's figures as a dict."""
    argv = [tool, "--topic", topic, "--num-records", str(records), "--record-size", "100",
            "--throughput", "-1", "--producer-props", "bootstrap.servers=" + bootstrap, "acks=" + acks] + list(props)
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
    text = out.stdout.decode(errors="replace")
    lines = [ln for ln in text.splitlines() if FINAL.match(ln)]
    if out.returncode != 0 or not lines:
        raise AssertionError("%s exited with %d:\n%s" % (" ".join(argv), out.returncode, text[-3000:]))
    m = FINAL.match(lines[-1])
    return {"records": int(m.group(1)), "rps": float(m.group(2)), "mbps": float(m.group(3)),
            "avg": float(m.group(4)), "max": float(m.group(5)), "p50": int(m.group(6)),
            "p99": int(m.group(8)), "line": lines[-1]}


def connect_ms(port, tls):
    """(ms from a TCP connect (and TLS handshake when tls is a context) to ApiVersions' answer,
    the TLS version and cipher or "TCP")."""
    t0 = time.perf_counter()
    raw = kb.KafkaRaw(port, timeout=10, tls=tls)
    try:
        raw.request(18, 0, b"")
        frame = raw.recv()
        what = "%s %s" % (raw.sock.version(), raw.sock.cipher()[0]) if tls else "TCP"
    finally:
        raw.close()
    ms = (time.perf_counter() - t0) * 1000.0
    if frame is None or frame[4:6] != b"\0\0":
        raise AssertionError("no ApiVersions answer on port %d (tls=%s)" % (port, tls is not None))
    return ms, what


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def tls_cluster(run):
    """3 brokers, each with a PLAINTEXT (inter-broker) and an SSL listener; (cluster, CA, ssl ports)."""
    c = kb.Cluster(run, brokers=3, start=False)
    ca = CA(os.path.join(c.dir, "certs"))
    server = ca.issue("server", "/O=samsa/CN=localhost", server=True)
    ports = []
    for b in c.brokers:
        ports.append(free_port())
        with open(b.props, "a") as f:
            f.write("listeners=PLAINTEXT://127.0.0.1:%d,SSL://127.0.0.1:%d\n" % (b.port, ports[-1]))
            f.write("inter.broker.listener.name=PLAINTEXT\nssl.client.auth=none\n")
            f.write("ssl.keystore.type=PEM\nssl.keystore.location=%s\n" % server[0])
        b.start()
    for b in c.brokers:
        b.wait_ready()
    return c, ca, ports


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--perf", required=True, help="kafka-producer-perf-test")
    ap.add_argument("--records", type=int, default=500000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tls", action="store_true", help="also over an SSL listener, and the handshake cost")
    ap.add_argument("--handshakes", type=int, default=500)
    ap.add_argument("--idempotent", action="store_true", help="acks=all without and with enable.idempotence")
    args = ap.parse_args(argv)
    tool = os.path.abspath(args.perf)

    run = BenchRun()
    try:
        if args.tls:
            c, ca, ssl_ports = tls_cluster(run)
        else:
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
        plain = (c.bootstrap, ())
        cases = [("RF=1 acks=1", "rf1", "1", plain), ("RF=3 acks=all", "rf3", "all", plain)]
        if args.tls:
            over_ssl = (",".join("127.0.0.1:%d" % p for p in ssl_ports),
                        ("security.protocol=ssl", "ssl.ca.location=" + ca.crt))
            cases = [("RF=1 acks=1", "rf1", "1", plain), ("RF=1 acks=1 SSL", "rf1", "1", over_ssl),
                     ("RF=3 acks=all", "rf3", "all", plain), ("RF=3 acks=all SSL", "rf3", "all", over_ssl)]
        variant = None  # the suffix of the cases compared with their plain twin
        if args.tls:
            variant = " SSL"
        elif args.idempotent:
            variant = " idempotent"
            idem = (c.bootstrap, ("enable.idempotence=true",))
            cases = [("RF=1 acks=all", "rf1", "all", plain), ("RF=1 acks=all idempotent", "rf1", "all", idem),
                     ("RF=3 acks=all", "rf3", "all", plain), ("RF=3 acks=all idempotent", "rf3", "all", idem)]
        runs = {name: [] for name, _, _, _ in cases}
        for i in range(args.repeat):
            for name, topic, acks, (bootstrap, props) in cases:
                r = perf(tool, bootstrap, topic, acks, args.records, props)
                runs[name].append(r)
                print("  run %d %-24s %s" % (i + 1, name, r["line"]), file=sys.stderr)
        med = {}
        for name, _, _, _ in cases:
            rs = sorted(runs[name], key=lambda r: r["rps"])
            med[name] = rs[(len(rs) - 1) // 2]
            r = med[name]
            print("%-24s records/s=%.0f MB/s=%.2f p50_ms=%d p99_ms=%d (median of %d)"
                  % (name, r["rps"], r["mbps"], r["p50"], r["p99"], len(rs)))
        if "RF=1 acks=1" in med:
            print("ratio RF3-acks-all/RF1-acks-1=%.2f" % (med["RF=3 acks=all"]["rps"] / med["RF=1 acks=1"]["rps"]))
        for name in [n for n, _, _, _ in cases if variant and n + variant in med]:
            # each round's variant run follows its plain run: their ratio sees the same load
            rounds = [t["rps"] / p["rps"] for p, t in zip(runs[name], runs[name + variant])]
            print("ratio %s%s/%s=%.2f (of the medians; median of the %d rounds' ratios %.2f: %s)"
                  % (name, variant, "PLAINTEXT" if args.tls else "plain", med[name + variant]["rps"] / med[name]["rps"],
                     len(rounds), statistics.median(rounds), " ".join("%.2f" % x for x in rounds)))
        if args.tls:
            ctx = ssl.create_default_context(cafile=ca.crt)
            ms = {"PLAINTEXT": [], "SSL": []}
            what = {}
            for _ in range(args.handshakes):
                for name, port, tls in (("PLAINTEXT", c.brokers[lead].port, None), ("SSL", ssl_ports[lead], ctx)):
                    t, what[name] = connect_ms(port, tls)
                    ms[name].append(t)
            for name in ("PLAINTEXT", "SSL"):
                print("connect+ApiVersions %-9s median_ms=%.3f p99_ms=%.3f (%d connections, %s)"
                      % (name, statistics.median(ms[name]), pct(ms[name], 99), len(ms[name]), what[name]))
            print("client: Python's ssl on %s; server certificate RSA 2048" % ssl.OPENSSL_VERSION)
            print("TLS handshake cost per connection (SSL minus PLAINTEXT): median_ms=%.3f p99_ms=%.3f"
                  % (statistics.median(ms["SSL"]) - statistics.median(ms["PLAINTEXT"]),
                     pct(ms["SSL"], 99) - pct(ms["PLAINTEXT"], 99)))
        run.ok()
        return 0
    finally:
        run.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
