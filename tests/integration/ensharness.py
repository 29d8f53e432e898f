"""The integration tests' samsa-coord ensemble: samsatest.ensemble.Ensemble (tests/lib) with the
integration tests' calling conventions — made with the testcase first, ZooKeeper's default
timing (tickTime 2000) plus `extra` keys, dicts of ports by server id, and wait_serving()
answering {id: mode}."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from samsatest import ensemble as _ensemble  # noqa: E402


class Ensemble(_ensemble.Ensemble):
    def __init__(self, testcase, n=3, extra=None, initial=None, observers=()):
        """n samsa-coord servers; the first `initial` (default all) are in every config file,
        the others list themselves too (they join by reconfig); `observers` are server ids."""
        _ensemble.Ensemble.__init__(self, n, kind="samsa", settings=_ensemble.DEFAULT_SETTINGS,
                                    testcase=testcase, initial=initial, observers=observers,
                                    extra=extra)
        self.tmp = self.work
        self.client = {i: m.client_port for i, m in self.members.items()}
        self.peer = {i: m.peer_port for i, m in self.members.items()}
        self.election = {i: m.election_port for i, m in self.members.items()}
        self.dirs = {i: m.dir for i, m in self.members.items()}

    def server_line(self, i):
        """The full form (role and client address), as a reconfig adding server i names it."""
        return self.members[i].server_line(full=True)

    def mode(self, i):
        return self.members[i].mode(1.0)

    def leader(self, ids=None):
        return _ensemble.Ensemble.leader(self, ids or [i for i in self.ids if self.running(i)])

    def wait_serving(self, ids=None, timeout=90):
        """Polls until the servers in ids (default: those started and not stopped or killed since)
        serve with one leader; returns {id: mode}. Fails at once when one of them exits."""
        ids = ids or [i for i in self.ids if self.members[i].wanted]
        _ensemble.Ensemble.wait_serving(self, ids, timeout)
        return self.modes(ids)
