"""The systemd unit templates that `meson install` puts in lib/systemd/system: systemd's own
checker (`systemd-analyze verify`) accepts each, instantiated as the README says (NAME =
a config file's name) with this build's binaries in ExecStart, with no unknown key or
section; each runs its daemon with <sysconfdir>/samsa/NAME.properties and the config names the
README gives exist among the shipped configs (installed under that directory)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ["SAMSA_BUILD_ROOT"]
UNITS = {"samsa-coord@.service": ("samsa-coord", ["zookeeper", "zookeeper-1"]),
         "samsa-broker@.service": ("samsa-broker", ["server", "server-1"])}


class SystemdUnitsTest(unittest.TestCase):
    def test_units_verify_and_name_the_configs(self):
        if not shutil.which("systemd-analyze"):
            self.fail("systemd-analyze is missing (Debian's systemd package; deploy/install-deps installs it)")
        d = tempfile.mkdtemp(prefix="samsa-units-")
        self.addCleanup(shutil.rmtree, d, True)
        for unit, (daemon, names) in UNITS.items():
            with open(os.path.join(BUILD, unit)) as f:
                text = f.read()
            m = re.search(r"^ExecStart=(\S+)/%s (\S+)/samsa/%%i\.properties$" % daemon, text, re.M)
            self.assertIsNotNone(m, "%s: ExecStart runs %s with <sysconfdir>/samsa/%%i.properties" % (unit, daemon))
            self.assertIn("KillSignal=SIGTERM", text)
            exe = os.path.join(BUILD, "coord" if daemon == "samsa-coord" else "broker", daemon)
            local = text.replace(m.group(1) + "/" + daemon, exe).replace("User=samsa", "User=root") \
                        .replace("Group=samsa", "Group=root")
            for name in names:
                inst = os.path.join(d, unit.replace("@", "@" + name))
                with open(inst, "w") as f:
                    f.write(local)
                r = subprocess.run(["systemd-analyze", "verify", "--man=no", inst], capture_output=True, text=True,
                                   timeout=60)
                out = r.stdout + r.stderr
                self.assertEqual(r.returncode, 0, out)
                self.assertNotRegex(out, r"Unknown|ignoring|Failed", out)
                # the shipped config of that name (configs/ is installed as <sysconfdir>/samsa)
                found = [p for p in (os.path.join(ROOT, "configs", name + ".properties"),
                                     os.path.join(ROOT, "configs", "ensemble-3", name + ".properties"),
                                     os.path.join(ROOT, "configs", "cluster-3", name + ".properties"))
                         if os.path.exists(p)]
                self.assertTrue(found, "configs/ has no %s.properties (the README says which file each host "
                                "copies to <sysconfdir>/samsa/NAME.properties)" % name)


if __name__ == "__main__":
    unittest.main()
