"""The two daemons and Kafka-named scripts: a bad properties file stops the start with a clear
message naming file, line, key and value; an unknown key is only a warning; the scripts start
in the foreground (their pid is the daemon's) or detached with -daemon, and -stop stops them."""
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zkharness  # noqa: E402
from samsatest.workdir import WorkDir  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COORD = zkharness.COORD
BROKER = os.path.abspath(os.environ["SAMSA_BROKER"]) if os.environ.get("SAMSA_BROKER") else None


class DaemonConfigTest(unittest.TestCase):
    def setUp(self):
        self.assertTrue(COORD and BROKER, "SAMSA_COORD and SAMSA_BROKER must be set")
        self.tmp = WorkDir(self, prefix="samsa-daemons-")

    def run_with(self, exe, text, name="x.properties"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        env = dict(os.environ, LOG_DIR=os.path.join(self.tmp.name, "logs"))
        return subprocess.run([exe, path], capture_output=True, text=True, timeout=30, env=env), path

    def test_coord_bad_values(self):
        r, path = self.run_with(COORD, "dataDir=/tmp/x\nclientPort=99999\n", "zookeeper.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:2: invalid value '99999' for 'clientPort'" % path, r.stderr)
        r, path = self.run_with(COORD, "dataDir=/tmp/x\ntickTime=\\u00zz\n", "zookeeper.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:2: Malformed \\uxxxx encoding" % path, r.stderr)
        r, path = self.run_with(COORD, "clientPort=2181\n", "zookeeper.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing required key 'dataDir'", r.stderr)
        r, path = self.run_with(COORD, "dataDir=/tmp/x\nforceSync=maybe\n", "zookeeper.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("'maybe' for 'forceSync'", r.stderr)
        r = subprocess.run([COORD, "/nonexistent/zk.properties"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot read config file /nonexistent/zk.properties", r.stderr)

    def test_broker_bad_values(self):
        r, path = self.run_with(BROKER, "broker.id=zero\nzookeeper.connect=localhost:2181\n", "server.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:1: invalid value 'zero' for 'broker.id'" % path, r.stderr)
        r, path = self.run_with(BROKER, "listeners=PLAINTEXT://:notaport\nzookeeper.connect=h:1\n", "server.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("for 'listeners'", r.stderr)
        r, path = self.run_with(BROKER, "broker.id=1\n", "server.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("'zookeeper.connect'", r.stderr)
        r, path = self.run_with(BROKER, "broker.id=1\nzookeeper.connect=h:1\ncontrol.plane.listener.port=70000\n",
                                "server.properties")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:3: invalid value '70000' for 'control.plane.listener.port'" % path, r.stderr)

    def test_unknown_key_is_a_warning_and_scripts_start_stop(self):
        port = zkharness.free_port()
        data = os.path.join(self.tmp.name, "zk")
        props = os.path.join(self.tmp.name, "zookeeper.properties")
        with open(props, "w") as f:
            f.write("dataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=ruok\n"
                    "notAZooKeeperKey=1\n" % (data, port))
        logs = os.path.join(self.tmp.name, "logs")
        env = dict(os.environ, LOG_DIR=logs, SAMSA_BUILD=os.path.dirname(os.path.dirname(COORD)))
        # foreground: the script execs the daemon, so its pid is the daemon's
        proc = subprocess.Popen([os.path.join(ROOT, "deploy/bin/zookeeper-server-start.sh"), props], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if zkharness.four_letter(port, "ruok", 1) == "imok":
                    break
            except OSError:
                time.sleep(0.05)
        self.assertEqual(zkharness.four_letter(port, "ruok"), "imok")
        with open(os.path.join(logs, "server.log")) as f:
            self.assertIn("unknown key 'notAZooKeeperKey' is ignored", f.read())
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(15), 0)
        # -daemon: detached, pid file in LOG_DIR, stopped by zookeeper-server-stop
        r = subprocess.run([os.path.join(ROOT, "deploy/bin/zookeeper-server-start"), "-daemon", props],
                           env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        pidfile = os.path.join(logs, "samsa-coord-zookeeper.properties.pid")
        pid = int(open(pidfile).read())
        self.addCleanup(lambda: os.path.exists("/proc/%d" % pid) and os.kill(pid, signal.SIGKILL))
        deadline = time.time() + 20
        ok = False
        while time.time() < deadline and not ok:
            try:
                ok = zkharness.four_letter(port, "ruok", 1) == "imok"
            except OSError:
                time.sleep(0.05)
        self.assertTrue(ok)
        r = subprocess.run([os.path.join(ROOT, "deploy/bin/zookeeper-server-stop"), props], env=env,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists("/proc/%d" % pid) and open("/proc/%d/stat" % pid).read().split()[2] != "Z")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


if __name__ == "__main__":
    unittest.main()
