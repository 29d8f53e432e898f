"""The stand-in for a unittest.TestCase in the benchmark scripts (tests/bench/*.py): harness
objects that take a testcase (kb.Cluster, WorkDir) register their cleanups here; `close()` runs
them in reverse order, also after an exception, so every daemon is stopped by pid. The work
directory is removed when the run completed (`ok()` was called) and kept, with its path printed,
when it did not.

    run = BenchRun()
    try:
        cluster = kb.Cluster(run, brokers=3)
        ...
        run.ok()
    finally:
        run.close()
"""
import sys

from .workdir import ClassFixture


class BenchRun(ClassFixture):
    def __init__(self):  # no unittest class: the cleanups are kept here
        self.dirs = []
        self.failed = True  # until ok()
        self._cleanups = []

    def addCleanup(self, fn, *args):
        self._cleanups.append((fn, args))

    def ok(self):
        self.failed = False

    def close(self):
        while self._cleanups:
            fn, args = self._cleanups.pop()
            try:
                fn(*args)
            except Exception as e:  # the other cleanups still run
                print("cleanup %r failed: %s" % (fn, e), file=sys.stderr)
