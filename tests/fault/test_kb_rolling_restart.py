"""Rolling restart under load (issue 9, "planned moves without errors"): 3 brokers, RF=3,
min.insync.replicas=2, 6 partitions, the ledger producer (acks=all, librdkafka's own retries:
RETRY="client") running throughout. Each broker in turn gets SIGTERM (its controlled shutdown
moves its leaderships away first), is started again on its log directory, and the next one
waits until the controller counts it online and it is back in the ISR of every partition.
The check: 0 failed sends, and every acknowledged message read back at its offset, in order
(ledger_check). SAMSA_ROLLING_PASSES (default 1) repeats the pass over the 3 brokers.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbfaultcase import BrokerFaultCase  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402


class RollingRestartTest(BrokerFaultCase):
    RF = 3
    ACKS = "all"
    RETRY = "client"
    BROKER_EXTRA = {"min.insync.replicas": "2"}

    def all_in_isr(self):
        return all(len((self.c.state(self.TOPIC, p) or {}).get("isr", [])) == self.BROKERS
                   for p in range(self.PARTITIONS))

    def controller_counts_online(self, bid):
        ctrl = self.c.controller()
        if ctrl is None or ctrl == bid:
            return ctrl is not None
        log = self.c.broker(ctrl).log_text()
        return log.rfind("controller: broker %d: offline -> online" % bid) > log.rfind(
            "controller: broker %d: online -> offline" % bid)

    def test_rolling_restart_under_load(self):
        passes = int(os.environ.get("SAMSA_ROLLING_PASSES", "1"))
        wait_for(self.all_in_isr, 60, "every replica in every ISR before the restarts")
        for n in range(passes):
            for i in range(self.BROKERS):
                self.c.stop_broker(i, timeout=60)  # SIGTERM: controlled shutdown
                self.progress(20, what="the cluster without broker %d (pass %d)" % (i, n + 1))
                self.c.start_broker(i).wait_ready()
                wait_for(lambda: self.controller_counts_online(i), 60,
                         "the controller to count broker %d online" % i)
                wait_for(self.all_in_isr, 90, "broker %d back in every ISR" % i)
                self.progress(20, what="the cluster with broker %d back" % i)
        rep = self.verify("rolling restart x%d (SIGTERM, controlled shutdown)" % passes)
        print("librdkafka sent again: %s" % sorted(set(ln.split(": ", 1)[1] for ln in self.prod.retry_log)), file=sys.stderr)
        self.assertEqual(rep.counts["failed"], 0, rep)
        self.assertEqual(rep.counts["unknown"], 0, rep)


if __name__ == "__main__":
    unittest.main()
