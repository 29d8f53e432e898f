"""The fault tests' coordinator ensemble, now in tests/lib (samsatest.ensemble: one Ensemble for
the integration and fault tests); this module keeps the old names and is the command line the
benchmark uses (the ensemble is left running, its state in <dir>):
    ensemble.py start real|samsa <n> <dir> [key=value ...]  -> "leader=<id> hosts=<connect>"
    ensemble.py status <dir> | kill9 <dir> <id> | restart <dir> <id> | stop <dir>
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from samsatest import ensemble as _ensemble  # noqa: E402
from samsatest.ensemble import (CLIENT_ADDR, DEFAULT_SETTINGS, JVM_TEST_OPTS, MODES, NS_PREFIX,  # noqa: E402,F401
                                PYTHON, SUBNET, TEST_SETTINGS, ZK_CLASSPATH, ZK_MAIN, Ensemble,
                                Member, Netns, NotEnsembleError, coord_binary, four_letter, in_netns,
                                ip, netns_unavailable, random_follower, remove_stale_namespaces,
                                target)
from samsatest.ports import free_port  # noqa: E402,F401

_live = _ensemble._live


def main(argv):
    if len(argv) >= 4 and argv[0] == "start":
        kind, n, workdir = argv[1], int(argv[2]), argv[3]
        settings = dict(DEFAULT_SETTINGS)
        settings.update(dict(a.split("=", 1) for a in argv[4:]))
        ens = Ensemble(n, kind, settings=settings, workdir=workdir, pdeathsig=False, jvm_opts=[])
        try:
            ens.start()
            ens.save()
            lid = ens.wait_serving(timeout=float(os.environ.get("ENSEMBLE_START_TIMEOUT", "90")))
        except Exception as e:
            ens.close()
            print("ensemble: %s" % e, file=sys.stderr)
            return 3 if isinstance(e, NotEnsembleError) else 1
        ens.save()
        _live.remove(ens)  # leave it running
        print("leader=%d hosts=%s" % (lid, ens.hosts()))
        return 0
    if len(argv) >= 2 and argv[0] in ("status", "stop", "kill9", "restart"):
        ens = Ensemble.load(argv[1])
        if argv[0] == "status":
            for i, mode in ens.modes().items():
                print("%d %s %s pid=%s" % (i, ens[i].hostport, mode, ens[i].pid))
        elif argv[0] == "stop":
            for m in ens.members.values():
                m.stop()
        elif argv[0] == "kill9":
            ens.kill9(int(argv[2]))
        elif argv[0] == "restart":
            ens.start(int(argv[2]))
            ens.save()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
