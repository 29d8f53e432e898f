"""A test's work directory (configs, data, daemon logs, sanitizer reports): removed when the
test passes; kept when it fails (or SAMSA_KEEP=1), with its path added to the failure message
and printed to stderr."""
import os
import shutil
import sys
import tempfile
import unittest


def test_failed(testcase):
    """Whether the running test (setUp, body, tearDown or a cleanup so far) has failed; for a
    ClassFixture, whether its setUpClass or any test of its class has."""
    if isinstance(testcase, ClassFixture):
        return testcase.failed
    outcome = getattr(testcase, "_outcome", None)
    if outcome is None:
        return False
    if not getattr(outcome, "success", True):
        return True
    result = getattr(outcome, "result", None)
    if result is None:
        return False
    return any(t is testcase for t, _ in list(result.failures) + list(result.errors))


def note_failure(testcase, text):
    """Appends text to the test's failure messages (and prints it to stderr)."""
    print(text, file=sys.stderr)
    outcome = getattr(testcase, "_outcome", None)
    result = getattr(outcome, "result", None)
    if result is None:
        return
    for lst in (result.failures, result.errors):
        for k, (t, msg) in enumerate(lst):
            if t is testcase and text not in msg:
                lst[k] = (t, msg + "\n" + text + "\n")


class WorkDir:
    """A fresh directory under $TMPDIR; with a testcase, its cleanup is registered first (so it
    runs last, after the daemons in it stopped and their sanitizer reports were checked)."""

    def __init__(self, testcase=None, prefix="samsa-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        self.name = self.path  # as tempfile.TemporaryDirectory
        self.keep = bool(os.environ.get("SAMSA_KEEP"))
        self.testcase = testcase
        self.done = False
        if testcase is not None:
            testcase.addCleanup(self.cleanup)
        if isinstance(testcase, ClassFixture):
            testcase.dirs.append(self.path)

    def sub(self, *parts):
        p = os.path.join(self.path, *parts)
        os.makedirs(p, exist_ok=True)
        return p

    def cleanup(self, failed=None):
        """Removes the directory unless the test failed (or failed=True, or SAMSA_KEEP)."""
        if self.done:
            return
        self.done = True
        if failed is None:
            failed = self.testcase is not None and test_failed(self.testcase)
        if failed or self.keep:
            text = "work directory kept: %s" % self.path
            if self.testcase is not None and failed:
                note_failure(self.testcase, text)
            else:
                print(text, file=sys.stderr)
            return
        shutil.rmtree(self.path, ignore_errors=True)


class ClassFixture:
    """Stands in for the testcase of daemons shared by the tests of a class (started in
    setUpClass): what they register with addCleanup runs as a class cleanup (also when
    setUpClass fails), and their WorkDirs are kept when setUpClass or any test of the class
    failed, each failed test's message naming them. Use through SharedFixtureTest."""

    def __init__(self, cls):
        self.cls = cls
        self.dirs = []
        self.failed = True  # until setUpClass completes (ready())

    def addCleanup(self, fn, *args):
        self.cls.addClassCleanup(fn, *args)

    def ready(self):
        self.failed = False


class SharedFixtureTest(unittest.TestCase):
    """A TestCase whose setUpClass starts daemons for all its tests:

        @classmethod
        def setUpClass(cls):
            fx = cls.fixture()           # pass fx where a testcase is asked for
            cls.cluster = kb.Cluster(fx)
            fx.ready()                   # last: setUpClass got through
    """

    _fixture = None

    @classmethod
    def fixture(cls):
        cls._fixture = ClassFixture(cls)
        return cls._fixture

    def setUp(self):
        super().setUp()
        fx = type(self)._fixture
        if fx is not None:
            self.addCleanup(self._note_fixture, fx)  # first registered: runs last

    def _note_fixture(self, fx):
        if test_failed(self):
            fx.failed = True
            for d in fx.dirs:
                note_failure(self, "work directory kept: %s" % d)
