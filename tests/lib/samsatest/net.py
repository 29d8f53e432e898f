"""ZooKeeper's four-letter words over a plain socket, from this network namespace or another;
running a thread in another namespace (in_netns, enter_netns)."""
import ctypes
import os
import socket
import threading

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def in_netns(ns, fn, *args):
    """Runs fn(*args) on a new thread that has entered network namespace ns (None: this one) and
    returns its result; sockets made there stay in ns when used from other threads."""
    if not ns:
        return fn(*args)
    box = {}

    def run():
        try:
            fd = os.open("/run/netns/" + ns, os.O_RDONLY)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, "setns %s: %s" % (ns, os.strerror(err)))
            finally:
                os.close(fd)
            box["value"] = fn(*args)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def four_letter(port, word, timeout=5.0, host="127.0.0.1", ns=None):
    """Sends a four-letter word and returns the whole answer (the server closes after it)."""
    s = in_netns(ns, socket.create_connection, (host, port), timeout)
    with s:
        s.settimeout(timeout)
        s.sendall(word.encode())
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def enter_netns(ns):
    """Moves the calling thread into network namespace ns and returns a function that moves it
    back. Sockets the thread makes meanwhile, and threads and processes it starts (which keep
    the namespace they were started in), are in ns."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        fd = os.open("/run/netns/" + ns, os.O_RDONLY)
        try:
            if _libc.setns(fd, _CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns %s: %s" % (ns, os.strerror(err)))
        finally:
            os.close(fd)
    except BaseException:
        os.close(own)
        raise

    def back():
        try:
            if _libc.setns(own, _CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, "setns back: %s" % os.strerror(err))
        finally:
            os.close(own)

    return back
