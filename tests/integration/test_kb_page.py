"""The live cluster page (kb_page) on a deploy/cluster of 3 coordinators and 3 brokers on free
ports, one cluster for the whole file:

- /api/cluster on broker 0: the ensemble's three servers with one leader and two followers, the
  three brokers alive with exactly one controller, the topic's partitions with their leaders,
  replicas and full ISRs, and a timeline that saw the registrations and the topic created;
- / in headless Chromium, driven through the W3C WebDriver HTTP API (chromedriver, plain urllib):
  the DOM lists the brokers and the partitions with the leaders the JSON names; after a kill -9
  of a partition's leader the page shows the new leader and marks the partition under-replicated
  without a reload, and /api/cluster's timeline has the leader change and the ISR shrink;
- a consumer group (kafka-python) shows on the broker that coordinates it, Stable with its
  member and its lag (high watermark - committed offset);
- a coordinator killed shows as down, with its event.
The page itself is self-contained (no external URL in it)."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

from samsatest.deploycluster import kill_left
from samsatest.ports import free_port, port_block
from samsatest.wait import wait_for
from samsatest.workdir import WorkDir

import logging
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

logging.getLogger("kafka").setLevel(logging.CRITICAL)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "deploy", "cluster")
BUILD = os.environ.get("SAMSA_BUILD_ROOT", os.path.join(ROOT, "build"))
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def get(url, timeout=10):
    return urllib.request.urlopen(url, timeout=timeout)


def cluster_json(port):
    return json.load(get("http://127.0.0.1:%d/api/cluster" % port))


def page_parts(c):
    """The partitions of the test's topic in an /api/cluster document."""
    return [p for t in c["topics"] if t["name"] == "page" for p in t["partitions"]]


def descendants(pid):
    """Every process under pid (children first found by /proc's ppid), deepest last."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


class WebDriver:
    """chromedriver on a free loopback port and one headless Chromium session, spoken to with
    the W3C WebDriver protocol over urllib. stop() ends the session and kills chromedriver and
    every process under it (the browser) by pid, whatever state they are in."""

    def __init__(self, work):
        self.port = free_port()
        self.log = open(os.path.join(work, "chromedriver.log"), "w")
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port, "--allowed-ips=127.0.0.1"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        self.session = None
        wait_for(self._ready, 30, "chromedriver ready on port %d" % self.port, interval=0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + os.path.join(work, "chromium-profile"), "--window-size=1200,900"]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def _ready(self):
        try:
            return json.load(get(self.base + "/status", 2))["value"]["ready"]
        except (OSError, ValueError, KeyError):
            return False

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            raise AssertionError("WebDriver %s %s: %s" % (method, path, e.read().decode(errors="replace")))

    def open(self, url):
        self.call("POST", "/session/%s/url" % self.session, {"url": url})

    def js(self, script):
        return self.call("POST", "/session/%s/execute/sync" % self.session, {"script": script, "args": []})

    def stop(self):
        if self.session and self.proc.poll() is None:
            try:
                self.call("DELETE", "/session/%s" % self.session)
            except (OSError, AssertionError):
                pass
        for pid in [self.proc.pid] + descendants(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(10)
        self.log.close()


# What the page shows, read from its DOM: brokers (id, state text, controller tag) and partitions
# (topic, partition, leader cell, row class).
DOM = """
return {
  brokers: Array.from(document.querySelectorAll('#brokers tbody tr[data-broker]')).map(r => ({
    id: Number(r.dataset.broker), state: r.cells[2].textContent,
    controller: r.cells[3].textContent.includes('controller')})),
  partitions: Array.from(document.querySelectorAll('#partitions tbody tr[data-topic="page"]')).map(r => ({
    topic: r.dataset.topic, partition: Number(r.dataset.partition),
    leader: r.querySelector('.leader').textContent, cls: r.className})),
  events: document.querySelectorAll('#events tr[data-seq]').length,
  loads: performance.getEntriesByType('navigation').length,
  marker: window.samsaTestMarker || null,
};
"""


class KbPageTest(unittest.TestCase):
    def setUp(self):
        self.work = WorkDir(self, prefix="samsa-kb-page-")
        self.state = os.path.join(self.work.path, "cluster")
        self.base = port_block(100)
        self.env = dict(os.environ, SAMSA_CLUSTER_DIR=self.state, SAMSA_BUILD=BUILD)
        self.addCleanup(self.leave_nothing)

    def tool(self, *args):
        r = subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True, env=self.env,
                           timeout=180)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def leave_nothing(self):
        subprocess.run([sys.executable, TOOL, "down"], capture_output=True, env=self.env, timeout=180)
        kill_left(self.state)

    def test_page_follows_a_failover(self):
        for exe in (CHROMIUM, CHROMEDRIVER):
            self.assertTrue(os.access(exe, os.X_OK), "%s missing: run deploy/install-deps" % exe)
        self.tool("up", "--coords", "3", "--brokers", "3", "--port-base", str(self.base))
        http0 = self.base + 80  # broker 0's samsa.http.port: it serves the page throughout
        boot = "127.0.0.1:%d" % (self.base + 40)
        r = subprocess.run([os.path.join(BUILD, "broker", "tools", "kafka-topics"), "--create", "--bootstrap-server",
                            boot, "--topic", "page", "--partitions", "3", "--replication-factor", "3"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

        # ---- /api/cluster: the whole cluster as broker 0 sees it ----
        def settled():
            c = cluster_json(http0)
            parts = [p for t in c["topics"] if t["name"] == "page" for p in t["partitions"]]
            servers = c["ensemble"]["servers"]
            ok = (len(servers) == 3 and all(s["state"] == "up" for s in servers) and
                  sorted(s["mode"] for s in servers) == ["follower", "follower", "leader"] and
                  [(b["id"], b["alive"]) for b in c["brokers"]] == [(0, True), (1, True), (2, True)] and
                  c["controller"]["id"] in (0, 1, 2) and c["controller"]["epoch"] >= 1 and
                  len(parts) == 3 and all(p["leader"] >= 0 and sorted(p["isr"]) == [0, 1, 2] for p in parts))
            return c if ok else None
        c = wait_for(settled, 60, lambda: "a settled cluster in %s" % json.dumps(cluster_json(http0)))
        self.assertEqual(c["broker"], 0)
        self.assertEqual(c["coordinator_session"], "connected")
        self.assertEqual(sorted(s["port"] for s in c["ensemble"]["servers"]), [self.base + n for n in (1, 2, 3)])
        self.assertEqual([b["id"] for b in c["brokers"] if b["controller"]], [c["controller"]["id"]])
        self.assertEqual([b["port"] for b in c["brokers"]], [self.base + 40 + n for n in range(3)])
        for p in page_parts(c):
            self.assertEqual(sorted(p["replicas"]), [0, 1, 2])
            self.assertFalse(p["under_replicated"] or p["offline"], p)
        self.assertEqual(c["groups"], [])
        self.assertTrue(c["groups_available"])
        kinds = [(e["kind"], e["broker"]) for e in c["events"]]
        for b in range(3):
            self.assertIn(("broker_up", b), kinds)
        self.assertIn("topic_created", [e["kind"] for e in c["events"]])
        self.assertEqual(sum(1 for e in c["events"] if e["kind"] == "coordinator_up"), 3)
        seqs = [e["seq"] for e in c["events"]]
        self.assertEqual(seqs, sorted(seqs))

        # ---- a consumer group, on the broker that coordinates it ----
        boots = ["127.0.0.1:%d" % (self.base + 40 + n) for n in range(3)]
        producer = KafkaProducer(bootstrap_servers=boots, acks="all")
        for i in range(6):
            producer.send("page", value=b"r%d" % i, partition=i % 3).get(30)
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=boots, group_id="page-group", enable_auto_commit=False)
        consumer.subscribe(["page"])
        wait_for(lambda: consumer.poll(timeout_ms=200) is not None and len(consumer.assignment()) == 3, 60,
                 "the consumer assigned page's 3 partitions")
        consumer.commit({TopicPartition("page", n): OffsetAndMetadata(1, "") for n in range(3)})

        def group_shown():
            found = [g for n in range(3) for g in cluster_json(self.base + 80 + n)["groups"] if g["group"] == "page-group"]
            return found if len(found) == 1 and found[0]["state"] == "Stable" and found[0]["members"] == 1 and \
                found[0]["lag"] == 3 else None
        g = wait_for(group_shown, 30, "page-group Stable with 1 member and lag 3 (6 records, committed at 1 of 2 each)")[0]
        self.assertEqual((g["protocol_type"], g["partitions"], g["lag_unknown_partitions"]), ("consumer", 3, 0))
        consumer.close()

        # ---- / in headless Chromium ----
        html = get("http://127.0.0.1:%d/" % http0)
        self.assertTrue(html.headers["Content-Type"].startswith("text/html"))
        text = html.read().decode()
        self.assertIsNone(re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', text), "an external asset in the page")
        wd = WebDriver(self.work.path)
        self.addCleanup(wd.stop)
        wd.open("http://127.0.0.1:%d/" % http0)
        leaders = {p["partition"]: p["leader"] for p in page_parts(c)}

        def shown():
            d = wd.js(DOM)
            ok = ([b["id"] for b in d["brokers"]] == [0, 1, 2] and
                  all(b["state"] == "alive" for b in d["brokers"]) and
                  sum(b["controller"] for b in d["brokers"]) == 1 and
                  {(p["topic"], p["partition"], p["leader"]) for p in d["partitions"]} ==
                  {("page", n, str(leaders[n])) for n in range(3)} and d["events"] > 0)
            return d if ok else None
        wait_for(shown, 30, lambda: "the page to show 3 brokers and the partitions: %r" % wd.js(DOM), interval=0.2)
        wd.js("window.samsaTestMarker = 'no reload'; return 1;")

        # kill -9 the leader of a partition led by another broker than the page's
        victim_part = min(n for n in range(3) if leaders[n] != 0)
        victim = leaders[victim_part]
        self.tool("kill", "broker-%d" % victim)

        def failed_over():
            d = wd.js(DOM)
            row = [p for p in d["partitions"] if p["partition"] == victim_part]
            ok = (row and row[0]["leader"] not in (str(victim), "none") and "under" in row[0]["cls"])
            return d if ok else None
        d = wait_for(failed_over, 60, lambda: "the page to show a new leader of page-%d: %r" % (victim_part, wd.js(DOM)),
                     interval=0.2)
        self.assertEqual(d["marker"], "no reload", "the page was reloaded")
        new_leader = int([p for p in d["partitions"] if p["partition"] == victim_part][0]["leader"])

        c = cluster_json(http0)
        p = [p for p in page_parts(c) if p["partition"] == victim_part][0]
        self.assertEqual(p["leader"], new_leader)
        self.assertNotIn(victim, p["isr"])
        self.assertTrue(p["under_replicated"])
        self.assertGreater(p["leader_epoch"], 0)
        changes = [e for e in c["events"] if e["kind"] == "leader_change" and e["topic"] == "page" and
                   e["partition"] == victim_part]
        self.assertTrue(changes, c["events"])
        self.assertEqual(changes[-1]["broker"], new_leader)
        self.assertIn("leader %d -> %d" % (victim, new_leader), changes[-1]["text"])
        self.assertTrue([e for e in c["events"] if e["kind"] == "isr_shrink" and e["partition"] == victim_part and
                         e["broker"] == victim], c["events"])
        self.assertLessEqual(len(c["events"]), 256)

        # ---- a coordinator follower killed shows as down ----
        follower = [s for s in c["ensemble"]["servers"] if s["mode"] == "follower"][0]
        self.tool("kill", "coord-%d" % (follower["port"] - self.base))

        def coord_down():
            c = cluster_json(http0)
            s = [s for s in c["ensemble"]["servers"] if s["port"] == follower["port"]][0]
            ev = [e for e in c["events"] if e["kind"] == "coordinator_down" and str(follower["port"]) in e["text"]]
            return s["state"] == "down" and s["error"] and ev
        wait_for(coord_down, 30, lambda: "coordinator %d down in %s" % (follower["port"], cluster_json(http0)["ensemble"]))


if __name__ == "__main__":
    unittest.main()
