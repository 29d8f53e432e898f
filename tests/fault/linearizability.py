"""Linearizability checker for one register with compare-and-set: a znode whose state is
(value, version), written with setData(expected version) and read with sync + getData.

A history is a list of operations, each a dict:
    kind      "read" or "cas"
    invoke    time the client sent it (any monotonic clock shared by all clients)
    complete  time the answer came back; None when result is "unknown"
    result    "ok", "fail" (a definite refusal: BadVersion) or "unknown" (timeout, connection
              loss, session expired: it may have taken effect at any time after invoke, or never)
    read:     value, version   what an ok read returned
    cas:      expect, value     the expected version and the new value
    proc      (optional) the client, for messages

The model (ZooKeeper's setData with a version): a cas whose expect equals the current version
takes effect, (v, n) -> (value, n + 1); otherwise it fails with BadVersion and changes nothing.
A read sees the current (value, version). Reads that did not return ok say nothing and are
dropped.

The search is Wing & Gong's, with the memoization of Lowe ("Testing for linearizability", 2017)
and the doubly linked event list of Porcupine: walk the call/return events in time order; at a
call, try to linearize that operation now (its step must be legal in the model) and lift it out
of the list; at a return whose operation is not yet linearized, backtrack. A (set of linearized
operations, model state) pair already explored is not explored again. Unknown operations get a
return at +infinity, so they may be linearized at any point after their call, and when the walk
reaches the first such return every definite operation has been placed: the ones left took
effect never, which is allowed.

check(history, init) -> Result(ok, ...); on failure Result says how far the longest partial
linearization got and which operation could not be placed.
"""
import math


class Result:
    def __init__(self, ok, linearized=0, total=0, stuck=None, explored=0, order=None):
        self.ok = ok
        self.linearized = linearized
        self.total = total
        self.stuck = stuck
        self.explored = explored
        self.order = order or []

    def __bool__(self):
        return self.ok

    def __repr__(self):
        if self.ok:
            return "linearizable (%d operations, %d states explored)" % (self.total, self.explored)
        return ("NOT linearizable: at most %d of %d operations placed; no legal place for %r "
                "(%d states explored)" % (self.linearized, self.total, self.stuck, self.explored))


def step(state, op):
    """The model: (legal, new state) for op applied to state = (value, version)."""
    value, version = state
    if op["kind"] == "read":
        return (value, version) == (op["value"], op["version"]), state
    if op["kind"] == "cas":
        if op["result"] == "fail":
            return version != op["expect"], state
        # ok, or unknown taken to have happened: only if the version matched
        if version != op["expect"]:
            return False, state
        return True, (op["value"], version + 1)
    raise ValueError("unknown operation kind %r" % op["kind"])


class _Event:
    __slots__ = ("op", "oid", "is_call", "match", "prev", "next", "time")

    def __init__(self, op, oid, is_call, time):
        self.op = op
        self.oid = oid
        self.is_call = is_call
        self.time = time
        self.match = None
        self.prev = None
        self.next = None


def _lift(call):
    """Removes a call and its return from the list (they are restored by _unlift)."""
    call.prev.next = call.next
    if call.next is not None:
        call.next.prev = call.prev
    ret = call.match
    ret.prev.next = ret.next
    if ret.next is not None:
        ret.next.prev = ret.prev


def _unlift(call):
    ret = call.match
    ret.prev.next = ret
    if ret.next is not None:
        ret.next.prev = ret
    call.prev.next = call
    if call.next is not None:
        call.next.prev = call


def normalize(history):
    """The operations that constrain the search: reads that returned, every cas."""
    ops = []
    for op in history:
        if op["kind"] == "read" and op["result"] != "ok":
            continue
        if op["result"] not in ("ok", "fail", "unknown"):
            raise ValueError("bad result %r" % op["result"])
        if op["result"] != "unknown" and op.get("complete") is None:
            raise ValueError("a definite result needs a completion time: %r" % op)
        ops.append(op)
    return ops


def check(history, init):
    """Decides whether history (see the module comment) is linearizable from state init."""
    ops = normalize(history)
    events = []
    for oid, op in enumerate(ops):
        call = _Event(op, oid, True, op["invoke"])
        end = math.inf if op["result"] == "unknown" else op["complete"]
        if end < op["invoke"]:
            raise ValueError("operation completes before it is invoked: %r" % op)
        ret = _Event(op, oid, False, end)
        call.match = ret
        events.append(call)
        events.append(ret)
    # at equal times calls go first: the two operations are then taken as concurrent, which
    # never rejects a history a finer clock would accept
    events.sort(key=lambda e: (e.time, 0 if e.is_call else 1))
    head = _Event(None, -1, False, -math.inf)
    prev = head
    for e in events:
        prev.next = e
        e.prev = prev
        prev = e

    state = tuple(init)
    linearized = 0  # bitmask of operation ids
    placed = 0
    best, stuck = 0, None
    cache = set()
    stack = []  # (call event, state before it)
    entry = head.next
    while head.next is not None:
        if entry is None:  # cannot happen: a return always follows its call
            break
        if entry.is_call:
            legal, new_state = step(state, entry.op)
            if legal:
                key = (linearized | (1 << entry.oid), new_state)
                if key not in cache:
                    cache.add(key)
                    stack.append((entry, state))
                    state = new_state
                    linearized |= 1 << entry.oid
                    placed += 1
                    best = max(best, placed)
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
        else:
            if entry.time == math.inf:
                # every definite operation is placed; the unknown ones left never happened
                return Result(True, placed, len(ops), explored=len(cache),
                              order=[c.op for c, _ in stack])
            if placed == best:
                stuck = entry.op  # what could not be placed after the longest prefix
            if not stack:
                return Result(False, best, len(ops), stuck or entry.op, len(cache))
            call, state = stack.pop()
            linearized &= ~(1 << call.oid)
            placed -= 1
            _unlift(call)
            entry = call.next
    return Result(True, placed, len(ops), explored=len(cache), order=[c.op for c, _ in stack])


def describe(op):
    """One line for an operation, for failure messages."""
    if op is None:
        return "-"
    what = ("read -> (%r, v%s)" % (op.get("value"), op.get("version")) if op["kind"] == "read"
            else "cas(v%s -> %r)" % (op["expect"], op["value"]))
    return "proc %s %s %s [%.3f, %s]" % (op.get("proc", "?"), what, op["result"], op["invoke"],
                                         "%.3f" % op["complete"] if op.get("complete") is not None
                                         else "inf")
