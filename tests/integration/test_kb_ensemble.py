"""A broker on a 3-server samsa-coord ensemble (zookeeper.connect lists all three, with a
chroot): the broker registers, creates topics and serves produce and fetch; kill -9 of the
coordinator leader does not cost the broker its session or registration (its client moves to
another server), and metadata changes (a new topic) work again once a new leader is elected."""
import os
import sys
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ensharness  # noqa: E402
import kbharness  # noqa: E402

warnings.simplefilter("ignore")
import confluent_kafka  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402


class _Cluster:
    def __init__(self, d, connect):
        self.dir = d
        self.zk_connect = connect


class BrokerOnEnsembleTest(unittest.TestCase):
    def test_broker_survives_coordinator_leader_kill(self):
        ens = ensharness.Ensemble(self, 3)
        ens.start_all()
        ens.wait_serving()
        b = kbharness.Broker(_Cluster(ens.tmp.name, ens.hosts() + "/kafka"), 0,
                             {"zookeeper.session.timeout.ms": "6000"})
        self.addCleanup(b.stop)
        b.start()
        b.wait_ready()
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        a.create_topics([NewTopic("t", 1, 1)])["t"].result(15)
        kbharness.wait_for(lambda: (kbharness.partition_meta(b.port, "t") or (0, -1, -1))[2] == 0, what="leader")
        p = confluent_kafka.Producer({"bootstrap.servers": b.bootstrap})
        for i in range(100):
            p.produce("t", b"before-%d" % i)
        self.assertEqual(p.flush(10), 0)
        zk = KazooClient(hosts=ens.hosts(), timeout=10)
        zk.start(15)
        owner = zk.get("/kafka/brokers/ids/0")[1].ephemeralOwner
        ens.kill9(ens.leader())
        for i in range(100):
            p.produce("t", b"after-%d" % i)
        self.assertEqual(p.flush(10), 0)
        ens.wait_serving([i for i in ens.ids if ens.running(i)])
        # same session: the registration was never lost
        st = zk.retry(zk.get, "/kafka/brokers/ids/0")[1]
        self.assertEqual(st.ephemeralOwner, owner)
        # the broker's client is connected to a live server again (its session in `cons`)
        sid = "sid=0x%x" % owner
        kbharness.wait_for(lambda: any(sid in ens.four(i, "cons") for i in ens.ids if ens.running(i)),
                           what="the broker's session on a live server")
        a.create_topics([NewTopic("t2", 1, 1)])["t2"].result(30)
        kbharness.wait_for(lambda: (kbharness.partition_meta(b.port, "t2") or (0, -1, -1))[2] == 0, what="t2")
        c = KafkaConsumer(bootstrap_servers=b.bootstrap, auto_offset_reset="earliest")
        c.assign([TopicPartition("t", 0)])
        got = [m.value for m in kbharness.read_records(c, 200)]
        c.close()
        self.assertEqual(got, [b"before-%d" % i for i in range(100)] + [b"after-%d" % i for i in range(100)])
        zk.stop()
        zk.close()


if __name__ == "__main__":
    unittest.main()
