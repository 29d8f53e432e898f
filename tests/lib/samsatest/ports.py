"""Loopback ports for test daemons that no other test, and no outgoing connection, can take.

The old way (bind port 0, close, hand the number on) raced: the kernel hands the same numbers
to the next bind(0) of any process and to outgoing connections (both draw from
ip_local_port_range), so between the close and the daemon's own bind a parallel test's daemon
or a client socket could take the port, and the daemon could not bind it (an ensemble member
then never served).

Here a port is drawn from a range OUTSIDE the kernel's ephemeral range (the kernel never picks
those for bind(0) or connect()), and reserved for this process's lifetime by binding an
abstract unix socket named after it (`\\0samsa-test-port-<n>`): any other test process asking
for ports skips it, and the kernel releases the name when this process exits, however it
exits; nothing is left on disk. A port is also only handed out when a plain bind() of
127.0.0.1:<n> succeeds, so a port a daemon still listens on (started by a command-line harness
whose process has ended) or one in TIME_WAIT is skipped too.
"""
import atexit
import os
import random
import socket
import threading

EPHEMERAL_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
LOCK_PREFIX = b"\0samsa-test-port-"
# the range used when the ephemeral range leaves enough room below it (it does by default:
# 32768-60999), else the room above it
_SPAN = 12000
_LOWEST = 10000  # never near the well-known ports (2181, 9092, ...)

_lock = threading.Lock()
_held = {}  # port -> the abstract socket reserving it
_rng = random.Random(os.getpid() ^ int.from_bytes(os.urandom(4), "little"))


def ephemeral_range(path=EPHEMERAL_RANGE_FILE):
    """The kernel's (low, high) for ports it picks itself."""
    try:
        with open(path) as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def port_range(ephemeral=None):
    """(first, last) inclusive of the ports free_port hands out: outside the ephemeral range."""
    lo, hi = ephemeral or ephemeral_range()
    if lo - 1 - _LOWEST >= 1000:
        return max(_LOWEST, lo - _SPAN), lo - 1
    if 65535 - hi >= 1000:
        return hi + 1, min(65535, hi + _SPAN)
    raise RuntimeError("ip_local_port_range %d-%d leaves no room for test ports" % (lo, hi))


def _reserve(port):
    """The abstract socket that reserves port across processes, or None if another has it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(LOCK_PREFIX + str(port).encode())
    except OSError:
        s.close()
        return None
    return s


def _bindable(port, host="127.0.0.1"):
    s = socket.socket()
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A loopback port reserved for this process (see the module comment); never the same
    twice in one process."""
    first, last = port_range()
    n = last - first + 1
    start = _rng.randrange(n)
    port = first_free(first + (start + k) % n for k in range(n))
    if port is None:
        raise RuntimeError("no free test port in %d-%d" % (first, last))
    return port


def first_free(candidates):
    """The first of candidates that no process has reserved and nothing is bound to, now
    reserved for this process; None if there is none."""
    with _lock:
        for port in candidates:
            if port in _held:
                continue
            s = _reserve(port)
            if s is None:
                continue
            if not _bindable(port):
                s.close()
                continue
            _held[port] = s
            return port
    return None


def port_block(size):
    """The first port of `size` consecutive loopback ports, all reserved for this process as
    free_port's are (for a tool that lays its ports out from one base, as deploy/cluster's
    --port-base does)."""
    first, last = port_range()
    n = last - first + 1 - size
    start = _rng.randrange(n)
    for k in range(n):
        base = first + (start + k) % n
        got = []
        for port in range(base, base + size):
            if first_free([port]) != port:
                break
            got.append(port)
        if len(got) == size:
            return base
        for port in got:
            release(port)
    raise RuntimeError("no %d free consecutive test ports in %d-%d" % (size, first, last))


def release(port):
    """Gives a port back (tests of this module, and port_block's partial blocks: daemons keep
    theirs to the end)."""
    with _lock:
        s = _held.pop(port, None)
        if s:
            s.close()


@atexit.register
def _release_all():
    """At exit (the kernel would release them anyway; this keeps ResourceWarning quiet)."""
    with _lock:
        for s in _held.values():
            s.close()
        _held.clear()
