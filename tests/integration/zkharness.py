"""The coordinator harness of the integration tests, now in tests/lib (samsatest.zk); this module
keeps the old names for the tests and is the command the benchmarks use:
    zkharness.py start real|samsa <dir>   -> prints "127.0.0.1:<port> <pid>", leaves it running
    zkharness.py stop <pid>
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from samsatest import daemon as _daemon  # noqa: E402
from samsatest.daemon import DaemonExited, check_sanitizer_output  # noqa: E402,F401
from samsatest.net import four_letter  # noqa: E402,F401
from samsatest.ports import free_port  # noqa: E402,F401
from samsatest.wait import wait_for  # noqa: E402,F401
from samsatest.zk import (COORD, ZK_CLASSPATH, ZK_MAIN, Server, real_server, samsa_server,  # noqa: E402,F401
                          start_target, target, write_props)


def main(argv):
    if len(argv) >= 3 and argv[0] == "start":
        kind, workdir = argv[1], argv[2]
        os.makedirs(workdir, exist_ok=True)
        srv = real_server(workdir) if kind == "real" else samsa_server(workdir)
        srv.start()
        _daemon._live.remove(srv)  # leave it running
        print("%s %d" % (srv.hosts, srv.pid))
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        pid = int(argv[1])
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return 0
        for _ in range(300):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return 0
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
