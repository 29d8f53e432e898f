"""The coordinator's HTTP endpoints, over real HTTP (urllib) on free loopback ports: ZooKeeper's
Prometheus /metrics (metricsProvider.className = its PrometheusMetricsProvider) and its
AdminServer (admin.enableServer, /commands/<name>), against a standalone samsa-coord and an
ensemble of 3. Metrics follow znodes, sessions, watches and connections as kazoo changes them;
/commands/monitor carries mntr's keys and values; the leader's /commands/leader says is_leader
and the followers name it; a taken port or an unknown provider class stops the start with a
clear line and a non-zero exit; requests are bounded."""
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from samsatest import http  # noqa: E402
from samsatest.ensemble import Ensemble  # noqa: E402
from samsatest.ports import free_port  # noqa: E402
from samsatest.wait import wait_for  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402
from samsatest.zk import write_props  # noqa: E402
from kazoo.client import KazooClient  # noqa: E402

PROMETHEUS = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"


def http_settings(admin_port, metrics_port):
    return {
        "admin.enableServer": "true",
        "admin.serverAddress": "127.0.0.1",
        "admin.serverPort": str(admin_port),
        "metricsProvider.className": PROMETHEUS,
        "metricsProvider.httpHost": "127.0.0.1",
        "metricsProvider.httpPort": str(metrics_port),
    }


def mntr_dict(port):
    text = zkharness.four_letter(port, "mntr")
    return dict(line.split("\t", 1) for line in text.splitlines() if "\t" in line)


class StandaloneTest(unittest.TestCase):
    def setUp(self):
        self.admin_port, self.metrics_port = free_port(), free_port()
        work = WorkDir(self, prefix="samsa-http-")
        self.srv = zkharness.samsa_server(work.path, http_settings(self.admin_port, self.metrics_port))
        self.addCleanup(self.srv.stop)
        self.srv.start()

    def scrape(self):
        status, headers, body = http.get("http://127.0.0.1:%d/metrics" % self.metrics_port)
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"), headers)
        return http.parse_prometheus(body.decode())

    def admin(self, name):
        return http.get_json("http://127.0.0.1:%d/commands/%s" % (self.admin_port, name))

    def client(self):
        zk = KazooClient(hosts=self.srv.hosts, timeout=10)
        zk.start(timeout=15)
        self.addCleanup(zk.close)
        self.addCleanup(zk.stop)
        return zk

    def test_metrics_follow_znodes_sessions_and_connections(self):
        before = self.scrape()
        # ZooKeeper 3.8's PrometheusMetricsProvider: HELP is the name; these types
        for name, typ in [("znode_count", "gauge"), ("watch_count", "gauge"), ("ephemerals_count", "gauge"),
                          ("num_alive_connections", "gauge"), ("outstanding_requests", "gauge"),
                          ("approximate_data_size", "gauge"), ("global_sessions", "gauge"),
                          ("open_file_descriptor_count", "gauge"), ("max_file_descriptor_count", "gauge"),
                          ("uptime", "gauge"), ("avg_latency", "gauge"), ("packets_received", "gauge"),
                          ("last_client_response_size", "gauge"), ("connection_request_count", "counter"),
                          ("readlatency", "summary"), ("updatelatency", "summary")]:
            self.assertIn(name, before)
            self.assertEqual(before[name]["type"], typ, name)
            self.assertEqual(before[name]["help"], name)
        self.assertNotIn("quorum_size", before)  # standalone: no ensemble figures
        self.assertNotIn("synced_followers", before)
        quantiles = sorted(lab["quantile"] for n, lab, _ in before["readlatency"]["samples"] if n == "readlatency")
        self.assertEqual(quantiles, ["0.5", "0.9", "0.99"])
        v0 = lambda n: http.value(before, n)  # noqa: E731
        self.assertEqual(v0("num_alive_connections"), 0)
        self.assertEqual(v0("global_sessions"), 0)
        self.assertGreater(v0("open_file_descriptor_count"), 0)

        zk = self.client()
        zk.create("/m", b"12345")
        zk.create("/m/a", b"")
        zk.create("/m/e", b"xy", ephemeral=True)
        zk.get("/m", watch=lambda ev: None)
        zk.get_children("/m")
        after = self.scrape()
        v1 = lambda n: http.value(after, n)  # noqa: E731
        self.assertEqual(v1("znode_count"), v0("znode_count") + 3)
        self.assertEqual(v1("ephemerals_count"), v0("ephemerals_count") + 1)
        self.assertEqual(v1("approximate_data_size") - v0("approximate_data_size"),
                         len("/m") + 5 + len("/m/a") + len("/m/e") + 2)
        self.assertEqual(v1("num_alive_connections"), 1)
        self.assertEqual(v1("global_sessions"), 1)
        self.assertGreaterEqual(v1("watch_count"), 1)
        self.assertEqual(v1("connection_request_count"), v0("connection_request_count") + 1)
        self.assertGreaterEqual(v1("updatelatency_count"), v0("updatelatency_count") + 3)
        self.assertGreaterEqual(v1("readlatency_count"), v0("readlatency_count") + 2)
        self.assertGreater(v1("packets_received"), v0("packets_received"))
        for q in ("0.5", "0.9", "0.99"):
            self.assertGreaterEqual(http.value(after, "updatelatency", {"quantile": q}), 0)
        self.assertGreater(v1("max_client_response_size"), 0)

        zk.stop()
        zk.close()
        wait_for(lambda: http.value(self.scrape(), "num_alive_connections") == 0, 10, "the connection to go")
        final = self.scrape()
        self.assertEqual(http.value(final, "ephemerals_count"), v0("ephemerals_count"))
        self.assertEqual(http.value(final, "znode_count"), v0("znode_count") + 2)
        self.assertEqual(http.value(final, "global_sessions"), 0)

    def test_monitor_has_mntr_keys_and_values(self):
        zk = self.client()
        zk.create("/x", b"abc", ephemeral=True)
        zk.exists("/x", watch=lambda ev: None)
        mon = self.admin("monitor")
        mntr = mntr_dict(self.srv.port)
        self.assertEqual(mon["command"], "monitor")
        self.assertIsNone(mon["error"])
        self.assertEqual(set(mon) - {"command", "error"}, {k[3:] for k in mntr})
        for key in ("server_state", "znode_count", "ephemerals_count", "watch_count", "global_sessions",
                    "approximate_data_size", "max_file_descriptor_count",
                    "last_zxid", "durable_zxid", "auth_failed_count"):
            self.assertEqual(str(mon[key]), mntr["zk_" + key], key)
        # mntr's own connection is one more (the HTTP request is none)
        self.assertEqual(mon["num_alive_connections"] + 1, int(mntr["zk_num_alive_connections"]))
        self.assertEqual(mon["server_state"], "standalone")
        self.assertEqual(mon["ephemerals_count"], 1)
        self.assertEqual(self.admin("mntr")["command"], "monitor")  # ZooKeeper's alias

    def test_admin_commands(self):
        status, headers, body = http.get("http://127.0.0.1:%d/commands" % self.admin_port)
        self.assertEqual(status, 200)
        for name in ("stats", "server_stats", "monitor", "ruok", "configuration", "connections", "leader",
                     "voting_view"):
            self.assertIn(('href="/commands/%s"' % name).encode(), body)
        self.assertEqual(self.admin("ruok"), {"command": "ruok", "error": None})
        zk = self.client()
        zk.create("/s", b"")
        stat = self.admin("stat")
        self.assertEqual(stat["command"], "stats")
        self.assertEqual(stat["server_stats"]["server_state"], "standalone")
        self.assertEqual(stat["server_stats"]["num_alive_client_connections"], 1)
        self.assertEqual(stat["node_count"], int(mntr_dict(self.srv.port)["zk_znode_count"]))
        self.assertEqual(len(stat["connections"]), 1)
        self.assertEqual(self.admin("srvr")["command"], "server_stats")
        conf = self.admin("conf")
        self.assertEqual(conf["command"], "configuration")
        self.assertEqual(conf["client_port"], self.srv.port)
        self.assertTrue(conf["data_dir"].endswith("/data/version-2"))
        cons = self.admin("cons")
        self.assertEqual(len(cons["connections"]), 1)
        self.assertEqual(cons["connections"][0]["session_id"], zk.client_id[0])
        self.assertEqual(self.admin("leader"), {"command": "leader", "error": "server is not initialized"})
        self.assertEqual(self.admin("voting_view")["current_config"], {})
        self.assertEqual(self.admin("nosuch"), {"command": "nosuch", "error": "Unknown command: nosuch"})
        status, _, _ = http.get("http://127.0.0.1:%d/elsewhere" % self.admin_port)
        self.assertEqual(status, 404)
        status, _, _ = http.get("http://127.0.0.1:%d/commands/ruok" % self.admin_port, method="POST")
        self.assertIn(status, (405, 501))
        status, _, _ = http.get("http://127.0.0.1:%d/nothing" % self.metrics_port)
        self.assertEqual(status, 404)

    def test_requests_are_bounded(self):
        # headers past the cap are refused, and the server goes on serving
        status, _, _ = http.get("http://127.0.0.1:%d/metrics" % self.metrics_port,
                                headers={"X-Big": "a" * 20000})
        self.assertGreaterEqual(status, 400)
        with socket.create_connection(("127.0.0.1", self.admin_port), 5) as s:
            s.sendall(b"GET /commands/ruok HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
            s.settimeout(5)
            head = s.recv(200)
            self.assertRegex(head, rb"^HTTP/1\.[01] 4\d\d")
        self.assertEqual(self.admin("ruok")["error"], None)
        self.assertEqual(zkharness.four_letter(self.srv.port, "ruok"), "imok")


class StartFailureTest(unittest.TestCase):
    def run_coord(self, extra):
        work = WorkDir(self, prefix="samsa-http-")
        props = write_props(os.path.join(work.path, "zookeeper.properties"),
                            {"dataDir": os.path.join(work.path, "data"), "clientPort": str(free_port()),
                             "clientPortAddress": "127.0.0.1"}, extra)
        env = dict(os.environ, LOG_DIR=os.path.join(work.path, "logs"))
        return subprocess.run([zkharness.COORD, props], env=env, capture_output=True, text=True, timeout=60)

    def test_a_taken_port_stops_the_start(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            r = self.run_coord(http_settings(free_port(), port))
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("metricsProvider.httpPort: cannot listen on 127.0.0.1:%d: Address already in use" % port,
                          r.stderr)
            r = self.run_coord(http_settings(port, free_port()))
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("admin.serverPort: cannot listen on 127.0.0.1:%d: Address already in use" % port,
                          r.stderr)

    def test_an_unknown_provider_class_stops_the_start(self):
        r = self.run_coord({"metricsProvider.className": "com.example.Nope"})
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("invalid value 'com.example.Nope' for 'metricsProvider.className'", r.stderr)


class EnsembleTest(unittest.TestCase):
    def test_three_servers(self):
        ens = Ensemble(n=3, kind="samsa", testcase=self)
        ports = {}
        for sid in ens.ids:
            m = ens[sid]
            ports[sid] = (free_port(), free_port())
            with open(m.cfg) as f:
                lines = [ln for ln in f if not ln.startswith("admin.enableServer=")]
            with open(m.cfg, "w") as f:
                f.writelines(lines)
                for k, v in http_settings(*ports[sid]).items():
                    f.write("%s=%s\n" % (k, v))
        ens.start_all()
        ens.wait_serving()
        leader = ens.leader()
        self.assertIsNotNone(leader)

        def admin(sid, name):
            return http.get_json("http://127.0.0.1:%d/commands/%s" % (ports[sid][0], name))

        def scrape(sid):
            status, _, body = http.get("http://127.0.0.1:%d/metrics" % ports[sid][1])
            self.assertEqual(status, 200)
            return http.parse_prometheus(body.decode())

        for sid in ens.ids:
            lead = admin(sid, "leader")
            self.assertEqual(lead["is_leader"], sid == leader, (sid, lead))
            self.assertEqual(lead["leader_id"], leader)
            self.assertEqual(lead["leader_ip"], "127.0.0.1")
            self.assertIsNone(lead["error"])
            view = admin(sid, "voting_view")["current_config"]
            self.assertEqual(sorted(view), ["1", "2", "3"])
            self.assertEqual(view[str(leader)]["serverAddresses"], ["127.0.0.1:%d" % ens[leader].peer_port])
            self.assertEqual(view[str(leader)]["learnerType"], "participant")
            fams = scrape(sid)
            self.assertEqual(http.value(fams, "quorum_size"), 3)
            self.assertGreaterEqual(http.value(fams, "election_time_count"), 1)
            self.assertEqual(fams["election_time"]["type"], "summary")
            mon = admin(sid, "monitor")
            self.assertEqual(mon["server_state"], "leader" if sid == leader else "follower")
            self.assertEqual(str(mon["leader_id"]), mntr_dict(ens[sid].client_port)["zk_leader_id"])
            if sid != leader:
                self.assertNotIn("synced_followers", fams)
        wait_for(lambda: http.value(scrape(leader), "synced_followers") == 2, 30, "two synced followers")
        fams = scrape(leader)
        self.assertEqual(http.value(fams, "learners"), 2)
        self.assertGreater(http.value(fams, "leader_uptime"), 0)

        # a znode written through a follower shows on every server's znode_count
        follower = [s for s in ens.ids if s != leader][0]
        base = {sid: http.value(scrape(sid), "znode_count") for sid in ens.ids}
        zk = KazooClient(hosts=ens[follower].hostport, timeout=10)
        zk.start(timeout=15)
        self.addCleanup(zk.close)
        self.addCleanup(zk.stop)
        zk.create("/through-follower", b"v")
        for sid in ens.ids:
            wait_for(lambda: http.value(scrape(sid), "znode_count") == base[sid] + 1, 15,
                     "znode_count on server %d" % sid)
        fams = scrape(follower)
        self.assertEqual(http.value(fams, "num_alive_connections"), 1)
        self.assertGreaterEqual(http.value(fams, "updatelatency_count"), 1)


if __name__ == "__main__":
    unittest.main()
