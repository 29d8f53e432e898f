#!/usr/bin/env python3
"""The controller against real daemons: three brokers and one coordinator, the partition
states read with kazoo as Kafka's tools would. A new partition is led by its first replica with
every replica in the ISR; when a broker dies (kill -9, its registration expires), the partitions
it led elect the next live ISR member in assignment order with the leader epoch bumped, and it
leaves the ISR of those it followed; when the controller itself dies, another broker takes over
and does the same. The topic is created with kafka-python's admin client (explicit replica
assignment) and its leaders checked through Metadata with confluent-kafka."""
import json
import os
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbharness  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402

warnings.simplefilter("ignore")
from confluent_kafka.admin import AdminClient  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

ASSIGN = {0: [0, 1, 2], 1: [1, 2, 0], 2: [2, 0, 1]}


class ControllerTest(unittest.TestCase):
    def setUp(self):
        self.cluster = kbharness.Cluster(self, brokers=3)
        self.zk = KazooClient(hosts=self.cluster.zk_connect)
        self.zk.start(15)
        self.addCleanup(self.zk.close)
        self.addCleanup(self.zk.stop)
        ka = KafkaAdminClient(bootstrap_servers=self.cluster.bootstrap)
        try:
            ka.create_topics([NewTopic("r3", num_partitions=-1, replication_factor=-1,
                                       replica_assignments=ASSIGN)])
        finally:
            ka.close()
        for p, reps in ASSIGN.items():
            self.wait_state(p, reps[0], reps, 0)

    def state(self, p):
        try:
            data, _ = self.zk.get("/brokers/topics/r3/partitions/%d/state" % p)
        except Exception:
            return None
        return json.loads(data)

    def controller(self):
        data, _ = self.zk.get("/controller")
        return json.loads(data)["brokerid"]

    def wait_state(self, p, leader, isr, epoch, timeout=60):
        want = (leader, sorted(isr), epoch)
        last = [None]

        def ok():
            s = self.state(p)
            last[0] = s
            return s is not None and (s["leader"], sorted(s["isr"]), s["leader_epoch"]) == want

        wait_for(ok, timeout, lambda: "r3-%d to have leader %d isr %s epoch %d (last: %r)"
                 % (p, leader, sorted(isr), epoch, last[0]))
        return last[0]

    def metadata_leaders(self, broker):
        md = AdminClient({"bootstrap.servers": broker.bootstrap}).list_topics("r3", timeout=10)
        return {p: m.leader for p, m in md.topics["r3"].partitions.items()}

    def kill(self, victim):
        self.cluster.brokers[victim].kill9()
        return [b for b in self.cluster.brokers if b.id != victim]

    def check_after_death(self, victim):
        for p, reps in ASSIGN.items():
            live = [r for r in reps if r != victim]
            if reps[0] == victim:
                # the next replica in assignment order that is in the ISR leads
                self.wait_state(p, live[0], live, 1)
            else:
                # its leader stays; the dead follower leaves the ISR (epoch bumped)
                self.wait_state(p, reps[0], live, 1)
        live = [b for b in self.cluster.brokers if b.id != victim]
        want = {p: [r for r in reps if r != victim][0] for p, reps in ASSIGN.items()}
        wait_for(lambda: self.metadata_leaders(live[0]) == want, 30,
                 lambda: "metadata to show leaders %r" % want)

    def test_follower_and_leader_death(self):
        ctrl = self.controller()
        victim = (ctrl + 1) % 3  # not the controller
        self.kill(victim)
        self.check_after_death(victim)
        self.assertEqual(self.controller(), ctrl)
        log = self.cluster.brokers[ctrl].log_text()
        self.assertIn("broker %d: online -> offline (registration gone)" % victim, log)
        self.assertIn("online -> offline", log)

    def test_controller_death(self):
        ctrl = self.controller()
        self.kill(ctrl)
        # another broker wins /controller, reads the states and elects
        wait_for(lambda: self.zk.exists("/controller") and self.controller() != ctrl, 60,
                 "a new controller")
        self.check_after_death(ctrl)
        new = self.controller()
        epoch = int(self.zk.get("/controller_epoch")[0])
        for p in ASSIGN:
            self.assertEqual(self.state(p)["controller_epoch"], epoch)
        self.assertIn("this broker (%d) is now the controller" % new, self.cluster.brokers[new].log_text())


if __name__ == "__main__":
    unittest.main()
