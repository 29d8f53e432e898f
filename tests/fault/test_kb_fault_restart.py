"""The broker fault framework end to end on faults that need no replication (RF=1, acks=1),
so that the ledger, the reader and the checker are proven against real brokers and clients:

- a clean restart (SIGTERM, start on the same log directory) of each of 3 brokers in turn while
  the producer runs: its partitions are unavailable meanwhile; afterwards every acknowledged
  message is read back at its offset, in order, and any duplicate belongs to a retried send;
- SIGSTOP of a partition leader while the producer sends to it, then kill -9 and a restart on
  its log directory: the requests in flight break, and their messages are sent again — by
  librdkafka (its own retries on: the ledger learns from librdkafka's log which messages it may
  have written and sends again) or by the producer (librdkafka's retries off: the messages come
  back failed); at least one is retried either way, and the read-back holds every acknowledged
  message (acks=1 writes survive kill -9: the page cache keeps them) and duplicates only of
  retried ones.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbfaultcase import BrokerFaultCase  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402


class CleanRestartTest(BrokerFaultCase):
    RF = 1
    ACKS = "1"
    RETRY = "app"

    def test_clean_restart_of_each_broker(self):
        for i in range(self.BROKERS):
            self.c.stop_broker(i)
            self.c.wait_brokers()
            self.progress(20, what="the cluster without broker %d" % i)
            self.c.start_broker(i).wait_ready()
            self.c.wait_brokers()
            self.c.wait_leaders(self.TOPIC, self.PARTITIONS)
            self.progress(20, what="the cluster with broker %d back" % i)
        self.verify("clean restart x%d" % self.BROKERS)


class KillRetryClientTest(BrokerFaultCase):
    RF = 1
    ACKS = "1"
    RETRY = "client"

    def test_kill9_of_a_paused_leader_with_requests_in_flight(self):
        victim = self.leader_of(0)
        others = [p for p in range(self.PARTITIONS) if self.leader_of(p) != victim]
        self.c.pause(victim)
        # the producer goes on with the other brokers' partitions; meanwhile its requests to the
        # paused broker wait in flight
        self.progress(50, what="the brokers other than %d (partitions %s)" % (victim, others))
        self.c.kill9(victim)
        # the broken connection makes librdkafka retry the requests that were in flight
        wait_for(lambda: self.prod.ledger()["retried"], 60, "librdkafka to retry the sets in flight")
        self.c.start_broker(victim).wait_ready()
        rep = self.verify("kill -9 of a paused leader (RF=1, acks=1)")
        self.assertGreater(rep.counts["retried"], 0, rep)


class KillRetryAppTest(KillRetryClientTest):
    """The same with librdkafka's retries off: the broken requests' messages come back failed
    and the producer sends them again itself."""
    RETRY = "app"


if __name__ == "__main__":
    unittest.main()
