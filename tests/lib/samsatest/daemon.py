"""A daemon under test: started in its work directory with stdout+stderr in a file there,
stopped by pid only (SIGTERM, then SIGKILL after a bound), never by name. While a harness waits
for it to serve, `check_running()` turns an early exit (a port it could not bind, a bad config,
a crash) into DaemonExited at once, with the exit status and the tail of its logs."""
import atexit
import ctypes
import os
import signal
import subprocess
import time

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_live = []


class DaemonExited(AssertionError):
    """A daemon exited while the test waited for it to serve."""


def _pdeathsig():
    """In the child before exec: die with the test process even if it is killed with -9."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def read_tail(path, nbytes):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            return f.read().decode(errors="replace")
    except OSError:
        return None


def check_sanitizer_output(path, who):
    """A daemon built with ASan/UBSan reports on its stderr (captured in path); any report
    fails the test."""
    if not os.path.exists(path):
        return
    with open(path, errors="replace") as f:
        text = f.read()
    for mark in SANITIZER_MARKS:
        if mark in text:
            raise AssertionError("%s reported a sanitizer error (see %s):\n%s"
                                 % (who, path, text[-4000:]))


class Daemon:
    """name: for messages; argv; cwd: its work directory; out_path: where stdout+stderr go
    (appended); logs: further log files for log_tail (e.g. logs/server.log)."""

    def __init__(self, name, argv, cwd, out_path, env=None, logs=(), pdeathsig=False):
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.out_path = out_path
        self.env = env
        self.logs = list(logs)
        self.pdeathsig = pdeathsig
        self.proc = None
        self.paused = False

    def start(self):
        if self.running():
            raise RuntimeError("%s is already running" % self.name)
        with open(self.out_path, "ab") as out:
            out.write(b"==== start %s\n" % time.strftime("%H:%M:%S").encode())
            out.flush()
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd,
                                         start_new_session=True,
                                         preexec_fn=_pdeathsig if self.pdeathsig else None)
        self.paused = False
        if self not in _live:
            _live.append(self)
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def returncode(self):
        return self.proc.poll() if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, nbytes=4000):
        """The end of its output file and of its other logs, each under a header."""
        text = ""
        for path in [self.out_path] + self.logs:
            t = read_tail(path, nbytes)
            if t is not None:
                text += "---- %s\n%s\n" % (path, t)
        return text

    def check_running(self, waiting_for="serving"):
        """Raises DaemonExited (exit status, log tail) if the daemon is not running."""
        if self.proc is None:
            raise DaemonExited("%s was never started" % self.name)
        rc = self.proc.poll()
        if rc is not None:
            how = "was killed by signal %d" % -rc if rc < 0 else "exited with status %d" % rc
            raise DaemonExited("%s %s while the test waited for it to be %s\n%s"
                               % (self.name, how, waiting_for, self.log_tail()))

    def _end(self, sig, timeout):
        if self.paused and self.running():
            os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout=15, check=True):
        """SIGTERM, SIGKILL after timeout; then (if it was running and check) fails on a
        sanitizer report in its output."""
        was = self.running()
        if was:
            self._end(signal.SIGTERM, timeout)
        if self in _live:
            _live.remove(self)
        if was and check:
            self.check_sanitizers()

    def kill9(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()
        self.paused = False
        if self in _live:
            _live.remove(self)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def check_sanitizers(self):
        check_sanitizer_output(self.out_path, self.name)


@atexit.register
def _stop_all():
    """Whatever a test could not stop (an error in its cleanup) is stopped at exit."""
    for d in list(_live):
        try:
            d.stop(5, check=False)
        except Exception:  # at exit: keep stopping the rest
            pass
