"""Broker failover without losing an acknowledged message: 3 brokers, a topic of 6 partitions with
RF=3 and min.insync.replicas=2, a producer with acks=all (librdkafka's own retries on, the ledger
learning from librdkafka which messages it sent again) running through each fault; afterwards
every acknowledged message is read back at the offset its ack named, in order per partition,
duplicates only of retried sends, and every replica holds the same log (kbfaultcase.verify).

- kill -9 of a partition leader that is not the controller, restart on its log directory;
- the same with the idempotent producers of librdkafka and of kafkajs: no duplicate, no failure;
- kill -9 of the controller (also a partition leader), restart;
- SIGSTOP of a partition leader past replica.lag.time.max.ms, until the others lead its
  partitions, but within its coordinator session, then SIGCONT: the paused broker, fenced,
  acknowledged nothing they lack (an acks=all Produce that reached it while paused gets an
  error), keeps its registration, and follows them again, back in every ISR;
- SIGSTOP of the controller within its coordinator session: the brokers hear no heartbeat from
  it and a new controller is elected in seconds, partitions other brokers lead keep their
  leader and epoch, and the resumed one steps down;
- SIGTERM (a controlled shutdown) and restart of each broker in turn: no send fails at all;
- the kill -9 of a leader again with a 3-server coordinator ensemble.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kbfaultcase import FENCED_ERRORS, REPLICATED, ReplicatedFaultCase as FailoverBase  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402



class KillLeaderTest(FailoverBase):
    def test_kill9_leader(self):
        self.kill_and_restart(controller=False)
        self.verify("kill -9 of a partition leader")


class IdempotentKillLeaderTest(FailoverBase):
    """The same kill -9 with librdkafka's idempotent producer (enable.idempotence=true, acks=all,
    its retries on): the sets it sends again after the failover, which a plain producer's retries
    write twice, are answered with their originals' offsets by the new leader (the followers
    recorded the producer's sequences as they fetched), so every acknowledged message is in the
    log exactly once, in order."""
    PRODUCER_CONF = {"enable.idempotence": True}

    def test_kill9_leader_idempotent(self):
        self.kill_and_restart(controller=False)
        rep = self.verify("kill -9 of a partition leader, idempotent producer")
        self.assertEqual(rep.counts["duplicates"], 0, rep)
        self.assertEqual(rep.counts["failed"], 0, rep)


class KafkajsIdempotentKillLeaderTest(FailoverBase):
    """The same kill -9 with kafkajs's idempotent producer (idempotent: true, acks=-1, its own
    retries, one request in flight per connection): what it sends again to the new leader is
    answered with the original offsets, nothing fails, nothing is written twice."""
    PRODUCER = "kafkajs"
    RATE = 500

    def test_kill9_leader_idempotent_kafkajs(self):
        self.kill_and_restart(controller=False)
        rep = self.verify("kill -9 of a partition leader, kafkajs idempotent producer")
        self.assertEqual(rep.counts["duplicates"], 0, rep)
        self.assertEqual(rep.counts["failed"], 0, rep)


class KillControllerTest(FailoverBase):
    def test_kill9_controller(self):
        self.kill_and_restart(controller=True)
        self.verify("kill -9 of the controller")


class ControlledRestartTest(FailoverBase):
    def test_clean_restart_of_each_broker(self):
        """SIGTERM is a controlled shutdown: leaderships move away before the broker stops, so
        the producer (librdkafka's retries) sees no failed send."""
        for b in range(self.BROKERS):
            self.c.stop_broker(b)
            self.c.wait_brokers()
            self.c.wait_leaders(self.TOPIC, self.PARTITIONS)
            self.progress(50, what="the cluster without broker %d" % b)
            self.c.start_broker(b).wait_ready()
            self.c.wait_brokers()
            self.progress(20, what="the cluster with broker %d back" % b)
        rep = self.verify("controlled shutdown and restart of each broker")
        self.assertEqual((rep.counts["failed"], rep.counts["unknown"]), (0, 0), rep)


class PauseLeaderTest(FailoverBase):
    # a session long enough that the pause (past replica.lag.time.max.ms and the controller's
    # 3 s heartbeat timeout) ends well within it: the session-expiry case is
    # test_kb_fault_pause_session
    BROKER_EXTRA = dict(REPLICATED, **{"zookeeper.session.timeout.ms": "20000"})

    def test_sigstop_leader_past_lag_time(self):
        """SIGSTOP of a leader that is not the controller, past replica.lag.time.max.ms and
        until the others lead its partitions (the controller stops hearing its heartbeats), but
        within its coordinator session; then SIGCONT: it keeps its session and registration,
        answers an acks=all Produce that reached it while paused (a client with old metadata)
        with an error, never an offset, and follows the new leaders, truncated to their logs,
        back in every ISR; the record of that Produce is in no log at the end (verify)."""
        v = self.victim(controller=False)
        led = self.led_by(v)
        epochs = {p: self.c.state(self.TOPIC, p)["leader_epoch"] for p in led}
        reg = self.c.kazoo().get(self.c.chroot + "/brokers/ids/%d" % v)[1].ephemeralOwner
        lag_s = int(REPLICATED["replica.lag.time.max.ms"]) / 1000.0
        paused_at = time.monotonic()
        self.c.pause(v)
        stale = {p: self.stale_produce_send(v, p) for p in led}
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st, p=p: st["leader"] not in (v, -1) and
                              st["leader_epoch"] > epochs[p], what="a new leader")
        self.progress(50, what="the cluster with broker %d paused" % v)
        # the pause lasts past the lag time by construction (the fault's length, not a wait
        # for a state): new leaders take at least the 3 s heartbeat timeout
        wait_for(lambda: time.monotonic() - paused_at > lag_s, 10, "the lag time to pass")
        self.c.resume(v)
        resumed_after = time.monotonic() - paused_at
        for p, k in stale.items():
            err = self.stale_produce_answer(k)
            self.assertIn(err, FENCED_ERRORS, "broker %d, paused and replaced as leader of %s-%d, "
                          "answered an acks=all Produce with error %d" % (v, self.TOPIC, p, err))
        st = self.c.kazoo().exists(self.c.chroot + "/brokers/ids/%d" % v)
        self.assertTrue(st is not None and st.ephemeralOwner == reg,
                        "broker %d lost its coordinator session during a %.1f s pause"
                        % (v, resumed_after))
        self.c.wait_brokers()
        for p in range(self.PARTITIONS):
            self.c.wait_state(self.TOPIC, p, lambda st: v in st["isr"], timeout=60,
                              what="broker %d back in the ISR" % v)
        self.progress(20, what="the cluster with broker %d resumed" % v)
        self.verify("SIGSTOP of a partition leader for %.1f s (past replica.lag.time.max.ms, within "
                    "its session)" % resumed_after)


class PauseControllerTest(FailoverBase):
    # a session much longer than the silence the brokers wait for (3 s without a heartbeat):
    # the controller must be replaced well before its session could expire
    SESSION_MS = 20000
    BROKER_EXTRA = dict(REPLICATED, **{"zookeeper.session.timeout.ms": str(SESSION_MS)})

    def test_sigstop_controller(self):
        """SIGSTOP of the controller (a partition leader too): it keeps its TCP connections and
        its coordinator session, so no EOF tells the brokers; they hear no heartbeat from it for
        3 s and delete /controller (conditionally, as the EOF path does), and a new controller is
        elected well before the session timeout. The partitions other brokers lead keep their
        leader and leader epoch throughout (the new controller only takes the paused broker out
        of their ISRs), the paused one's partitions get new leaders. SIGCONT: the old controller
        finds /controller taken and steps down (its writes carry a check of /controller_epoch's
        version and fail), follows the new leaders back into every ISR, and no acknowledged
        record is lost (verify)."""
        v = self.c.wait_brokers()
        others = {p: self.c.state(self.TOPIC, p) for p in range(self.PARTITIONS)
                  if self.c.state(self.TOPIC, p)["leader"] != v}
        led = self.led_by(v)
        self.assertTrue(others, "the controller leads every partition")
        t0 = time.monotonic()
        self.c.pause(v)
        wait_for(lambda: self.c.controller() not in (None, -1, v), self.SESSION_MS / 2000.0,
                 "a new controller while broker %d (the controller) is paused" % v)
        took = time.monotonic() - t0
        new = self.c.controller()
        for p in led:
            self.c.wait_state(self.TOPIC, p, lambda st: st["leader"] not in (v, -1), what="a new leader")
        self.progress(50, what="the cluster with the controller (%d) paused" % v)
        for p, st in others.items():
            now = self.c.state(self.TOPIC, p)
            self.assertEqual((now["leader"], now["leader_epoch"]), (st["leader"], st["leader_epoch"]),
                             "partition %d led by %d changed leader or epoch while the controller was "
                             "replaced" % (p, st["leader"]))
        paused_for = time.monotonic() - t0
        self.c.resume(v)
        wait_for(lambda: "no longer the controller" in self.c.broker(v).log_text(), 30,
                 "the resumed broker %d to step down as controller" % v)
        self.assertEqual(self.c.controller(), new, "the controller changed again after broker %d resumed" % v)
        for p in range(self.PARTITIONS):
            self.c.wait_state(self.TOPIC, p, lambda st: v in st["isr"], timeout=60,
                              what="broker %d back in the ISR" % v)
        self.progress(20, what="the cluster with broker %d resumed" % v)
        print("\nnew controller %d elected %.1f s after the SIGSTOP of controller %d (session timeout "
              "%.0f s); paused %.1f s" % (new, took, v, self.SESSION_MS / 1000.0, paused_for), file=sys.stderr)
        self.assertLess(took, self.SESSION_MS / 2000.0)
        self.verify("SIGSTOP of the controller for %.1f s (within its session)" % paused_for)


class KillLeaderEnsembleTest(KillLeaderTest):
    COORDINATORS = 3


if __name__ == "__main__":
    unittest.main()
