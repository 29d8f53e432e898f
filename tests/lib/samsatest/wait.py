"""Polling a condition instead of sleeping."""
import time


def wait_for(cond, timeout=30, what="condition", interval=0.05):
    """Calls cond() until it returns a true value, which is returned; raises AssertionError
    naming `what` (a string, or a callable giving one, e.g. the last state seen) after timeout
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s"
                                 % (timeout, what() if callable(what) else what))
        time.sleep(interval)
