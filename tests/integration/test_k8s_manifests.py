"""The Kubernetes deployment (deploy/k8s, the Dockerfile), checked without a cluster or Docker
(neither is available here):

- every manifest parses (Debian's python3-yaml) and validates against the Kubernetes API's
  OpenAPI schemas bundled in the npm package kubernetes-models (tests/package.json), which is
  also shown to refuse a broken StatefulSet; every field is one the API has, by Debian's
  python3-kubernetes models (kubernetes-models does not refuse unknown fields);
- the invariants between the objects: each StatefulSet's serviceName is a headless Service
  (clusterIP: None) of the same pods, every Service and PodDisruptionBudget selects a
  StatefulSet's pods, the PDBs keep a majority, the ConfigMap the pods mount exists and holds the
  base configs the entrypoint reads, the container ports are the configs' ports, the probes name
  declared ports, the data paths of the configs lie on the volumeClaimTemplates' mounts;
- the entrypoint (deploy/k8s/entrypoint), run with fake pod names and the StatefulSets' own
  environment: samsa-coord-K gets myid K+1 on its volume and one server.N line per replica
  naming the headless Service's pod DNS names; samsa-broker-N gets broker.id N and
  advertised.listeners at its pod DNS name;
- the configs it writes run: three coordinators on them (their names moved to loopback)
  form a quorum, with the readiness probe (deploy/k8s/probe) failing on a lone server and passing
  once the quorum serves; a broker started through the entrypoint itself registers as
  broker.id 1 and serves /metrics (the liveness probe's path);
- the Dockerfile builds on debian:bookworm-slim with deploy/install-deps --build-only, runs as
  the manifests' non-root uid, installs the entrypoint and probe the manifests call, and its
  runtime stage lists the Debian package of every shared library the daemons link."""
import glob
import json
import os
import re
import shutil
import subprocess
import unittest

import yaml

from samsatest.daemon import Daemon
from samsatest.net import four_letter
from samsatest.ports import free_port
from samsatest.wait import wait_for
from samsatest.workdir import WorkDir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K8S = os.path.join(ROOT, "deploy", "k8s")
ENTRYPOINT = os.path.join(K8S, "entrypoint")
PROBE = os.path.join(K8S, "probe")
COORD = os.environ["SAMSA_COORD"]
BROKER = os.environ["SAMSA_BROKER"]
NS = "ns1"


def load_all():
    docs = []
    for path in sorted(glob.glob(os.path.join(K8S, "*.yaml"))):
        with open(path) as f:
            for i, d in enumerate(yaml.safe_load_all(f)):
                if d is not None:
                    docs.append(("%s#%d" % (os.path.basename(path), i), d))
    return docs


def props(text):
    """key -> value of a properties text (the last occurrence wins)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([^#!\s=:][^=:\s]*)\s*[=:]\s*(.*?)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def run_env():
    """The test's environment without LOG_DIR (the entrypoint puts the daemons' logs under its
    run directory unless LOG_DIR is set)."""
    return {k: v for k, v in os.environ.items() if k != "LOG_DIR"}


def under(path, mount):
    return os.path.normpath(path).startswith(os.path.normpath(mount).rstrip("/") + "/")


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def unknown_fields(obj, typ, path="", out=None):
    """Fields of obj (a parsed manifest, or part of one of type typ) that the Kubernetes API
    does not have, and values of the wrong JSON type, by the models of Debian's
    python3-kubernetes (generated from the API's OpenAPI spec, Kubernetes 1.22): the strictness
    kubernetes-models' validators lack (as kubeconform -strict adds it)."""
    import kubernetes.client.models as models
    out = [] if out is None else out
    if typ.startswith("list["):
        if not isinstance(obj, list):
            out.append("%s: a list expected" % path)
        else:
            for i, x in enumerate(obj):
                unknown_fields(x, typ[5:-1], "%s[%d]" % (path, i), out)
    elif typ.startswith("dict("):
        if not isinstance(obj, dict):
            out.append("%s: a map expected" % path)
        else:
            for k, v in obj.items():
                unknown_fields(v, typ[5:-1].split(", ", 1)[1], "%s.%s" % (path, k), out)
    elif typ in ("str", "int", "bool", "float"):
        want = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float)}[typ]
        if not isinstance(obj, want) or (typ == "int" and isinstance(obj, bool)):
            out.append("%s: %s expected, not %r" % (path, typ, obj))
    elif typ in ("object", "datetime", "date"):
        pass  # IntOrString, Quantity, free-form
    else:
        cls = getattr(models, typ)
        if not isinstance(obj, dict):
            out.append("%s: an object (%s) expected" % (path, typ))
            return out
        known = {v: k for k, v in cls.attribute_map.items()}
        for k, v in obj.items():
            if k not in known:
                out.append("%s.%s: %s has no field %r" % (path, k, typ, k))
            else:
                unknown_fields(v, cls.openapi_types[known[k]], "%s.%s" % (path, k), out)
    return out


def model_of(doc):
    """The python3-kubernetes model class name of a manifest (core, apps and policy v1)."""
    version = doc["apiVersion"].split("/")[-1]
    return version[0].upper() + version[1:] + doc["kind"]


class K8sManifestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = load_all()
        cls.by_kind = {}
        for where, d in cls.docs:
            cls.by_kind.setdefault(d["kind"], []).append(d)
        cls.sts = {s["metadata"]["name"]: s for s in cls.by_kind.get("StatefulSet", [])}
        cls.svc = {s["metadata"]["name"]: s for s in cls.by_kind.get("Service", [])}
        cms = cls.by_kind.get("ConfigMap", [])
        cls.cm = {c["metadata"]["name"]: c for c in cms}

    # ---- helpers over the parsed objects

    def container(self, sts_name):
        cs = self.sts[sts_name]["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(cs), 1, "%s has one container" % sts_name)
        return cs[0]

    def ports(self, sts_name):
        return {p["name"]: p["containerPort"] for p in self.container(sts_name)["ports"]}

    def env(self, sts_name):
        return {e["name"]: e.get("value") for e in self.container(sts_name).get("env", [])}

    def base_config(self, sts_name, fname):
        """The text of the ConfigMap file the pod sees at the entrypoint's default path."""
        spec = self.sts[sts_name]["spec"]["template"]["spec"]
        mounts = {m["name"]: m["mountPath"] for m in self.container(sts_name)["volumeMounts"]}
        vols = {v["name"]: v for v in spec["volumes"]}
        cm_vols = [n for n, v in vols.items() if "configMap" in v]
        self.assertEqual(len(cm_vols), 1, "%s mounts one ConfigMap" % sts_name)
        self.assertEqual(mounts[cm_vols[0]], "/etc/samsa/k8s", "the entrypoint reads /etc/samsa/k8s/%s" % fname)
        cm_name = vols[cm_vols[0]]["configMap"]["name"]
        self.assertIn(cm_name, self.cm, "%s mounts ConfigMap %s, which exists" % (sts_name, cm_name))
        self.assertIn(fname, self.cm[cm_name]["data"])
        return self.cm[cm_name]["data"][fname]

    def data_mount(self, sts_name):
        s = self.sts[sts_name]
        claims = [c["metadata"]["name"] for c in s["spec"]["volumeClaimTemplates"]]
        mounts = [m for m in self.container(sts_name)["volumeMounts"] if m["name"] in claims]
        self.assertEqual(len(mounts), 1, "%s mounts its volumeClaimTemplate once" % sts_name)
        return mounts[0]["mountPath"]

    def run_entrypoint(self, wd, role, pod, base_text, env, extra=(), dry=True):
        base = os.path.join(wd.sub("base"), "%s.properties" % pod)
        with open(base, "w") as f:
            f.write(base_text)
        bindir = wd.sub("bin")
        for exe in (COORD, BROKER):
            link = os.path.join(bindir, os.path.basename(exe))
            if not os.path.lexists(link):
                os.symlink(exe, link)
        e = run_env()
        e.update({k: v for k, v in env.items() if v is not None})
        e.update({"SAMSA_POD_NAME": pod, "SAMSA_NAMESPACE": NS, "SAMSA_BASE_CONFIG": base,
                  "SAMSA_RUN_DIR": wd.sub("run", pod), "SAMSA_BIN_DIR": bindir, "SAMSA_DNS_WAIT": "0"})
        if dry:
            e["SAMSA_DRY_RUN"] = "1"
            r = subprocess.run([ENTRYPOINT, role] + list(extra), env=e, capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout.strip(), e
        return None, e

    # ---- the tests

    def test_schema_validation(self):
        """kubernetes-models' bundled OpenAPI validators accept every object, and refuse a
        StatefulSet with a string port or without its selector (the validator is live)."""
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is missing (deploy/install-deps installs it)")
        self.assertTrue(os.path.isdir(os.path.join(ROOT, "tests", "node_modules", "kubernetes-models")),
                        "tests/node_modules/kubernetes-models is missing: run deploy/install-deps")
        items = [{"where": w, "doc": d} for w, d in self.docs]
        bad = json.loads(json.dumps(self.sts["samsa-broker"]))
        bad["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "ninety"
        items.append({"where": "bad-port", "doc": bad})
        bad2 = json.loads(json.dumps(self.sts["samsa-coord"]))
        del bad2["spec"]["selector"]
        items.append({"where": "no-selector", "doc": bad2})
        items.append({"where": "unknown-kind", "doc": {"apiVersion": "apps/v1", "kind": "StatefulSett",
                                                        "metadata": {"name": "x"}}})
        r = subprocess.run([node, os.path.join(ROOT, "tests", "integration", "k8s_validate.mjs")],
                           input=json.dumps(items), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = {j["where"]: j for j in map(json.loads, r.stdout.splitlines())}
        self.assertEqual(len(res), len(items), r.stdout)
        for w, _ in self.docs:
            self.assertTrue(res[w]["ok"], "%s (%s %s): %s" % (w, res[w]["kind"], res[w]["name"], res[w]["error"]))
        self.assertFalse(res["bad-port"]["ok"])
        self.assertIn("containerPort", res["bad-port"]["error"])
        self.assertFalse(res["no-selector"]["ok"])
        self.assertIn("selector", res["no-selector"]["error"])
        self.assertFalse(res["unknown-kind"]["ok"])
        kinds = sorted(set(d["kind"] for _, d in self.docs))
        self.assertEqual(kinds, ["ConfigMap", "PodDisruptionBudget", "Service", "StatefulSet"])

    def test_no_unknown_fields(self):
        """Every field is one the Kubernetes API has (a misspelt field is what kubectl apply's
        strict field validation refuses and kubernetes-models does not); shown to catch one."""
        for where, d in self.docs:
            self.assertEqual(unknown_fields(d, model_of(d)), [], where)
        bad = json.loads(json.dumps(self.svc["samsa-coord"]))
        bad["spec"]["publishNotReadyAddress"] = True
        bad["spec"]["ports"][0]["port"] = "2181"
        errs = unknown_fields(bad, model_of(bad))
        self.assertEqual(len(errs), 2, errs)
        self.assertIn("publishNotReadyAddress", errs[0] + errs[1])

    def test_services_selectors_and_budgets(self):
        self.assertEqual(sorted(self.sts), ["samsa-broker", "samsa-coord"])
        for name, s in self.sts.items():
            spec = s["spec"]
            labels = spec["template"]["metadata"]["labels"]
            self.assertTrue(selects(spec["selector"]["matchLabels"], labels),
                            "%s: selector matches its pod labels" % name)
            self.assertEqual(spec["replicas"], 3)
            headless = self.svc.get(spec["serviceName"])
            self.assertIsNotNone(headless, "%s: serviceName %s is a Service here" % (name, spec["serviceName"]))
            self.assertEqual(headless["spec"].get("clusterIP"), "None", "%s is headless" % spec["serviceName"])
            self.assertTrue(headless["spec"].get("publishNotReadyAddresses"),
                            "%s publishes not-ready pods (peers find each other before they are ready)"
                            % spec["serviceName"])
            self.assertTrue(selects(headless["spec"]["selector"], labels))
            # every headless Service port is a container port (by number)
            cports = set(self.ports(name).values())
            for p in headless["spec"]["ports"]:
                self.assertIn(p.get("targetPort", p["port"]), cports, "%s port %s" % (spec["serviceName"], p))
            # probes name declared ports
            c = self.container(name)
            for probe in ("readinessProbe", "livenessProbe"):
                self.assertIn(probe, c, "%s has a %s" % (name, probe))
                pr = c[probe]
                for h in ("httpGet", "tcpSocket"):
                    if h in pr:
                        port = pr[h]["port"]
                        self.assertTrue(port in self.ports(name) or port in cports, "%s %s port %s" % (name, probe, port))
            self.assertIn("requests", c["resources"])
            self.assertTrue(s["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"])
        # every Service selects the pods of one StatefulSet
        for sname, svc in self.svc.items():
            owners = [n for n, s in self.sts.items()
                      if selects(svc["spec"]["selector"], s["spec"]["template"]["metadata"]["labels"])]
            self.assertEqual(len(owners), 1, "Service %s selects one StatefulSet's pods: %s" % (sname, owners))
        # PDBs: one per StatefulSet, one pod at a time, a majority of coordinators stays
        pdbs = self.by_kind["PodDisruptionBudget"]
        covered = []
        for pdb in pdbs:
            sel = pdb["spec"]["selector"]["matchLabels"]
            owners = [n for n, s in self.sts.items() if selects(sel, s["spec"]["template"]["metadata"]["labels"])]
            self.assertEqual(len(owners), 1, "PDB %s selects one StatefulSet's pods" % pdb["metadata"]["name"])
            self.assertEqual(pdb["spec"].get("maxUnavailable"), 1)
            n = self.sts[owners[0]]["spec"]["replicas"]
            if owners[0] == "samsa-coord":
                self.assertGreater(n - pdb["spec"]["maxUnavailable"], n // 2, "a majority of the ensemble stays")
            covered.append(owners[0])
        self.assertEqual(sorted(covered), sorted(self.sts))

    def test_coordinator_ports_paths_and_replicas(self):
        name = "samsa-coord"
        s = self.sts[name]
        cfg = props(self.base_config(name, "zookeeper.properties"))
        ports = self.ports(name)
        env = self.env(name)
        self.assertEqual(self.container(name)["args"][0], "coord")
        self.assertEqual(int(env["SAMSA_COORD_REPLICAS"]), s["spec"]["replicas"],
                         "SAMSA_COORD_REPLICAS (the server.N lines) equals replicas")
        self.assertEqual(s["spec"].get("podManagementPolicy"), "Parallel",
                         "a coordinator is ready only with a quorum: OrderedReady would never start pod 1")
        self.assertEqual(ports["client"], int(cfg["clientPort"]))
        self.assertEqual(ports["peer"], int(env.get("SAMSA_PEER_PORT") or 2888))
        self.assertEqual(cfg["admin.enableServer"], "true")
        self.assertEqual(ports["admin"], int(cfg["admin.serverPort"]))
        self.assertEqual(ports["metrics"], int(cfg["metricsProvider.httpPort"]))
        self.assertNotIn("clientPortAddress", cfg, "the client port listens on the pod's addresses")
        self.assertFalse([k for k in cfg if k.startswith("server.")], "server.N lines come from the entrypoint")
        self.assertTrue(under(cfg["dataDir"], self.data_mount(name)), "dataDir (and myid) on the volume")
        if "dataLogDir" in cfg:
            self.assertTrue(under(cfg["dataLogDir"], self.data_mount(name)))
        c = self.container(name)
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/commands/ruok")
        self.assertEqual(c["readinessProbe"]["exec"]["command"][:2], ["samsa-probe", "coord-serving"])
        wl = cfg["4lw.commands.whitelist"]
        self.assertTrue(wl == "*" or "srvr" in wl.split(","), "the readiness probe's srvr is allowed")
        client = self.svc["samsa-coord-client"]
        self.assertNotEqual(client["spec"].get("clusterIP"), "None")
        self.assertEqual([p["port"] for p in client["spec"]["ports"]], [ports["client"]])

    def test_broker_ports_paths_and_coordinators(self):
        name = "samsa-broker"
        cfg = props(self.base_config(name, "server.properties"))
        ports = self.ports(name)
        self.assertEqual(self.container(name)["args"][0], "broker")
        self.assertNotIn("broker.id", cfg)
        self.assertNotIn("advertised.listeners", cfg)
        m = re.fullmatch(r"PLAINTEXT://:(\d+)", cfg["listeners"])
        self.assertIsNotNone(m, cfg["listeners"])
        self.assertEqual(ports["kafka"], int(m.group(1)))
        self.assertEqual(ports["control"], int(cfg["control.plane.listener.port"]))
        self.assertEqual(ports["http"], int(cfg["samsa.http.port"]))
        for d in cfg["log.dirs"].split(","):
            self.assertTrue(under(d, self.data_mount(name)), "log.dirs %s on the volume" % d)
        # zookeeper.connect names the coordinators' client Service and port
        host, port = cfg["zookeeper.connect"].split("/")[0].split(":")
        self.assertIn(host, self.svc)
        self.assertEqual(int(port), self.ports("samsa-coord")["client"])
        self.assertTrue(selects(self.svc[host]["spec"]["selector"],
                                self.sts["samsa-coord"]["spec"]["template"]["metadata"]["labels"]))
        c = self.container(name)
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/metrics")
        self.assertGreaterEqual(self.sts[name]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 30,
                                "time for the controlled shutdown")
        self.assertGreaterEqual(int(cfg["default.replication.factor"]), 3)
        self.assertLess(int(cfg["min.insync.replicas"]), int(cfg["default.replication.factor"]),
                        "one broker down (the PDB) keeps acks=all writes going")

    def test_entrypoint_identities(self):
        """The entrypoint with the StatefulSets' env and fake pod names: myid, server.N,
        broker.id, advertised.listeners; a volume of another server is refused."""
        wd = WorkDir(self, "samsa-k8s-")
        coord_base = self.base_config("samsa-coord", "zookeeper.properties")
        data_dir = props(coord_base)["dataDir"]
        n = self.sts["samsa-coord"]["spec"]["replicas"]
        svc = self.sts["samsa-coord"]["spec"]["serviceName"]
        for k in range(n):
            pod = "samsa-coord-%d" % k
            local_data = os.path.join(wd.path, "vol-" + pod) + data_dir
            base = coord_base.replace("dataDir=" + data_dir, "dataDir=" + local_data)
            cmd, _ = self.run_entrypoint(wd, "coord", pod, base, self.env("samsa-coord"))
            conf = os.path.join(wd.path, "run", pod, "zookeeper.properties")
            self.assertEqual(cmd, "%s %s" % (os.path.join(wd.path, "bin", "samsa-coord"), conf))
            with open(os.path.join(local_data, "myid")) as f:
                self.assertEqual(f.read().strip(), str(k + 1))
            with open(conf) as f:
                text = f.read()
            lines = re.findall(r"^server\.(\d+)=(.*)$", text, re.M)
            self.assertEqual([int(i) for i, _ in lines], list(range(1, n + 1)), text)
            for i, v in lines:
                self.assertEqual(v, "samsa-coord-%d.%s.%s.svc.cluster.local:2888:3888;2181" % (int(i) - 1, svc, NS))
            self.assertEqual(props(text)["dataDir"], local_data)
        # the volume of server 1 given to pod samsa-coord-2: refused
        local_data = os.path.join(wd.path, "vol-samsa-coord-0") + data_dir
        base = coord_base.replace("dataDir=" + data_dir, "dataDir=" + local_data)
        with open(os.path.join(wd.sub("base"), "wrong.properties"), "w") as f:
            f.write(base)
        e = dict(run_env(), SAMSA_POD_NAME="samsa-coord-2", SAMSA_BASE_CONFIG=os.path.join(wd.path, "base", "wrong.properties"),
                 SAMSA_RUN_DIR=wd.sub("run", "wrong"), SAMSA_COORD_REPLICAS="3", SAMSA_DRY_RUN="1", SAMSA_DNS_WAIT="0")
        r = subprocess.run([ENTRYPOINT, "coord"], env=e, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("belongs to another server", r.stderr)
        # an ordinal past SAMSA_COORD_REPLICAS (scaled without the env): refused
        e.update(SAMSA_POD_NAME="samsa-coord-3", SAMSA_BASE_CONFIG=os.path.join(wd.path, "base", "samsa-coord-0.properties"))
        r = subprocess.run([ENTRYPOINT, "coord"], env=e, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SAMSA_COORD_REPLICAS", r.stderr)
        # brokers: broker.id = ordinal, advertised at the pod's DNS name; overrides passed on
        bsvc = self.sts["samsa-broker"]["spec"]["serviceName"]
        bbase = self.base_config("samsa-broker", "server.properties")
        for k in range(self.sts["samsa-broker"]["spec"]["replicas"]):
            pod = "samsa-broker-%d" % k
            cmd, _ = self.run_entrypoint(wd, "broker", pod, bbase, self.env("samsa-broker"),
                                         extra=["--override", "num.partitions=6"])
            conf = os.path.join(wd.path, "run", pod, "server.properties")
            self.assertEqual(cmd, "%s %s --override num.partitions=6" % (os.path.join(wd.path, "bin", "samsa-broker"), conf))
            with open(conf) as f:
                p = props(f.read())
            self.assertEqual(p["broker.id"], str(k))
            self.assertEqual(p["advertised.listeners"], "PLAINTEXT://%s.%s.%s.svc.cluster.local:9092" % (pod, bsvc, NS))
            self.assertEqual(p["zookeeper.connect"], props(bbase)["zookeeper.connect"])
        # the external-listener template
        cmd, _ = self.run_entrypoint(wd, "broker", "samsa-broker-2", bbase,
                                     dict(self.env("samsa-broker"), SAMSA_BROKER_ID_OFFSET="100",
                                          SAMSA_ADVERTISED_LISTENERS="PLAINTEXT://{fqdn}:9092,EXTERNAL://k8s.example:3109{ordinal}"))
        with open(os.path.join(wd.path, "run", "samsa-broker-2", "server.properties")) as f:
            p = props(f.read())
        self.assertEqual(p["broker.id"], "102")
        self.assertEqual(p["advertised.listeners"],
                         "PLAINTEXT://samsa-broker-2.%s.%s.svc.cluster.local:9092,EXTERNAL://k8s.example:31092" % (bsvc, NS))
        # not a StatefulSet pod name
        r = subprocess.run([ENTRYPOINT, "broker"], env=dict(run_env(), SAMSA_POD_NAME="samsa-broker"),
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ordinal", r.stderr)

    def test_configs_run(self):
        """The written configs run: three coordinators (names moved to loopback) form a quorum;
        the readiness probe fails on a lone server and passes with the quorum; a broker run by
        the entrypoint itself registers as broker.id 1 and serves /metrics."""
        wd = WorkDir(self, "samsa-k8s-run-")
        coord_base = self.base_config("samsa-coord", "zookeeper.properties")
        data_dir = props(coord_base)["dataDir"]
        n = self.sts["samsa-coord"]["spec"]["replicas"]
        svc = self.sts["samsa-coord"]["spec"]["serviceName"]
        port = {k: {w: free_port() for w in ("client", "peer", "admin", "metrics")} for k in range(n)}
        daemons = []
        for k in range(n):
            pod = "samsa-coord-%d" % k
            local_data = os.path.join(wd.path, "vol-" + pod) + data_dir
            base = coord_base.replace("dataDir=" + data_dir, "dataDir=" + local_data)
            self.run_entrypoint(wd, "coord", pod, base, self.env("samsa-coord"))
            conf = os.path.join(wd.path, "run", pod, "zookeeper.properties")
            with open(conf) as f:
                text = f.read()
            # the pod DNS names and the fixed ports, moved to loopback and free ports
            for j in range(n):
                text = text.replace("server.%d=samsa-coord-%d.%s.%s.svc.cluster.local:2888:3888;2181" % (j + 1, j, svc, NS),
                                    "server.%d=127.0.0.1:%d:%d;%d" % (j + 1, port[j]["peer"], free_port(), port[j]["client"]))
            text = re.sub(r"^clientPort=.*$", "clientPort=%d" % port[k]["client"], text, flags=re.M)
            text = re.sub(r"^admin.serverPort=.*$", "admin.serverPort=%d" % port[k]["admin"], text, flags=re.M)
            text = re.sub(r"^metricsProvider.httpPort=.*$", "metricsProvider.httpPort=%d" % port[k]["metrics"], text, flags=re.M)
            self.assertFalse([ln for ln in text.splitlines() if "svc.cluster.local" in ln and not ln.startswith("#")],
                             text)
            local = conf + ".loopback"
            with open(local, "w") as f:
                f.write(text)
            d = Daemon(pod, [COORD, local], wd.sub(pod), os.path.join(wd.path, pod + ".out"),
                       env=dict(os.environ, LOG_DIR=wd.sub(pod, "logs")), logs=[os.path.join(wd.path, pod, "logs", "server.log")])
            self.addCleanup(d.stop)
            daemons.append(d)

        def probe(*args):
            return subprocess.run([PROBE] + [str(a) for a in args], capture_output=True, text=True, timeout=10).returncode

        # a lone server answers ruok (liveness) but is not ready
        daemons[0].start()
        wait_for(lambda: daemons[0].check_running() or probe("coord-ok", port[0]["client"]) == 0, 20, "samsa-coord-0 answers ruok")
        self.assertNotEqual(probe("coord-serving", port[0]["client"]), 0)
        self.assertIn("not currently serving", four_letter(port[0]["client"], "srvr"))
        for d in daemons[1:]:
            d.start()
        for k in range(n):
            wait_for(lambda: daemons[k].check_running() or probe("coord-serving", port[k]["client"]) == 0, 30,
                     "samsa-coord-%d ready (srvr shows a Mode)" % k)
        conf0 = four_letter(port[0]["client"], "conf")
        self.assertRegex(conf0, r"serverId=1\b")
        self.assertNotEqual(probe("coord-ok", free_port()), 0, "nothing listening: the probe fails")
        # the shipped keys are all known to the coordinator
        for k in range(n):
            with open(os.path.join(wd.path, "samsa-coord-%d" % k, "logs", "server.log")) as f:
                log = f.read()
            self.assertNotRegex(log, r"(?i)unknown (config )?key", log[-2000:])
        # one broker through the entrypoint itself (exec), network keys overridden for loopback
        kport, cport, hport = free_port(), free_port(), free_port()
        bbase = self.base_config("samsa-broker", "server.properties")
        bdata = props(bbase)["log.dirs"]
        bbase = bbase.replace("log.dirs=" + bdata, "log.dirs=" + os.path.join(wd.path, "vol-samsa-broker-1") + bdata)
        _, env = self.run_entrypoint(wd, "broker", "samsa-broker-1", bbase, self.env("samsa-broker"), dry=False)
        env["SAMSA_LOG_FILE"] = "1"
        zk = ",".join("127.0.0.1:%d" % port[k]["client"] for k in range(n))
        argv = [ENTRYPOINT, "broker",
                "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % kport,
                "--override", "advertised.listeners=PLAINTEXT://127.0.0.1:%d" % kport,
                "--override", "control.plane.listener.port=%d" % cport,
                "--override", "samsa.http.port=%d" % hport,
                "--override", "zookeeper.connect=" + zk]
        log = os.path.join(wd.path, "run", "samsa-broker-1", "logs", "server.log")
        b = Daemon("samsa-broker-1", argv, wd.sub("broker"), os.path.join(wd.path, "broker.out"), env=env, logs=[log])
        self.addCleanup(b.stop)
        b.start()
        ids = wait_for(lambda: b.check_running() or self._broker_ids(port[0]["client"]), 30, "broker registered")
        self.assertEqual(ids, ["1"])
        self.assertEqual(probe("tcp", kport), 0)
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % hport, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertIn(b"kafka_", r.read())
        with open(log) as f:
            blog = f.read()
        self.assertNotRegex(blog, r"(?i)unknown (config )?key", blog[-2000:])
        with open(os.path.join(wd.path, "run", "samsa-broker-1", "server.properties")) as f:
            self.assertEqual(props(f.read())["broker.id"], "1")

    @staticmethod
    def _broker_ids(client_port):
        from kazoo.client import KazooClient
        zk = KazooClient(hosts="127.0.0.1:%d" % client_port, timeout=5)
        try:
            zk.start(timeout=5)
            return sorted(zk.get_children("/brokers/ids")) if zk.exists("/brokers/ids") else []
        except Exception:
            return []
        finally:
            zk.stop()
            zk.close()

    def test_dockerfile(self):
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            df = f.read()
        froms = re.findall(r"^FROM (\S+)", df, re.M)
        self.assertEqual(froms, ["debian:bookworm-slim", "debian:bookworm-slim"])
        self.assertIn("deploy/install-deps --build-only", df)
        self.assertIn("meson install", df)
        self.assertIn("install -m 0755 deploy/k8s/entrypoint /staging/usr/local/bin/samsa-entrypoint", df)
        self.assertIn("install -m 0755 deploy/k8s/probe /staging/usr/local/bin/samsa-probe", df)
        self.assertRegex(df, r'ENTRYPOINT \["/usr/local/bin/samsa-entrypoint"\]')
        m = re.search(r"^USER (\d+):(\d+)$", df, re.M)
        self.assertIsNotNone(m)
        for name in self.sts:
            sc = self.sts[name]["spec"]["template"]["spec"]["securityContext"]
            self.assertEqual(sc["runAsUser"], int(m.group(1)))
            self.assertEqual(sc["fsGroup"], int(m.group(2)))
            img = self.container(name)["image"]
            self.assertTrue(img.startswith("samsa:"), img)
        # the runtime stage: the package of every library the daemons and a tool link directly
        runtime = df.split("FROM debian:bookworm-slim", 2)[2]
        m = re.search(r"apt-get install[^\n]*\\\n((?:[ \t]+[^&\s][^\n]*\\\n)+)", runtime)
        listed = set(m.group(1).replace("\\", " ").split())
        base = {"libc6", "libgcc-s1"}
        tool = os.path.join(os.environ["SAMSA_BUILD_ROOT"], "broker", "tools", "kafka-topics")
        links = []  # (exe, library, resolved path)
        for exe in (COORD, BROKER, tool):
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                                subprocess.run(["readelf", "-d", exe], capture_output=True, text=True, check=True).stdout)
            paths = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(["ldd", exe], capture_output=True, text=True,
                                                                            check=True).stdout, re.M))
            links += [(exe, lib, os.path.realpath(paths[lib])) for lib in needed]
        # one dpkg -S for all (it reads its whole database each time); with merged /usr a file
        # is known under /lib or /usr/lib
        def variants(p):
            return {p, p.replace("/usr/lib/", "/lib/", 1), p.replace("/lib/", "/usr/lib/", 1)}
        asked = sorted(set().union(*(variants(p) for _, _, p in links)))
        out = subprocess.run(["dpkg", "-S"] + asked, capture_output=True, text=True).stdout
        owner = {}
        for line in out.splitlines():
            pkgs, _, path = line.partition(": ")
            owner[path.strip()] = pkgs.split(",")[0].split(":")[0].strip()
        for exe, lib, path in links:
            pkg = next((owner[v] for v in variants(path) if v in owner), None)
            self.assertIsNotNone(pkg, "%s: no Debian package owns %s" % (lib, path))
            self.assertTrue(pkg in listed or pkg in base,
                            "%s links %s from %s, which the Dockerfile's runtime stage does not install" % (exe, lib, pkg))
        self.assertIn("libzookeeper-st2", [owner.get(v) for _, lib, p in links for v in variants(p)])

if __name__ == "__main__":
    unittest.main()
