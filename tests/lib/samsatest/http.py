"""HTTP GETs to a daemon's operational endpoints (urllib, loopback only) and a strict reader of
Prometheus's text format (0.0.4) for the tests: every sample must belong to a family announced
by its "# HELP" and "# TYPE" lines, summaries may add _sum/_count and quantile labels, values
must read as floats, and label values must be escaped as the format says."""
import json
import re
import urllib.error
import urllib.request

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)$" % _NAME)
_LABEL = re.compile(r'(%s)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)' % r"[a-zA-Z_][a-zA-Z0-9_]*")


def get(url, timeout=10, method="GET", headers=None):
    """(status, headers dict with lower-case names, body bytes); HTTP errors are answers too."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(url, timeout=10):
    status, headers, body = get(url, timeout)
    if status != 200:
        raise AssertionError("GET %s: status %d: %r" % (url, status, body[:300]))
    if not headers.get("content-type", "").startswith("application/json"):
        raise AssertionError("GET %s: content type %r" % (url, headers.get("content-type")))
    return json.loads(body)


def _labels(text):
    out = {}
    pos = 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            raise ValueError("bad labels %r" % text)
        out[m.group(1)] = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(2))
        pos = m.end()
    return out


def parse_prometheus(text):
    """{family: {"type": t, "help": h, "samples": [(name, labels dict, value)]}}; raises
    ValueError on anything the text format does not allow."""
    fams = {}
    cur = None
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            if name in fams:
                raise ValueError("line %d: family %s announced twice" % (n, name))
            fams[name] = {"type": None, "help": help_, "samples": []}
            cur = name
        elif line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            if name != cur or typ not in ("counter", "gauge", "summary", "histogram", "untyped"):
                raise ValueError("line %d: TYPE %r after HELP of %s" % (n, line, cur))
            fams[name]["type"] = typ
        elif line.startswith("#"):
            continue
        else:
            m = _SAMPLE.match(line)
            if not m:
                raise ValueError("line %d: not a sample: %r" % (n, line))
            name, labels, value = m.group(1), _labels(m.group(3) or ""), float(m.group(4))
            fam = fams.get(cur)
            if fam is None or fam["type"] is None:
                raise ValueError("line %d: sample before its family's TYPE" % n)
            ok = name == cur or (fam["type"] == "summary" and name in (cur + "_sum", cur + "_count"))
            if not ok:
                raise ValueError("line %d: sample %s in family %s" % (n, name, cur))
            if fam["type"] == "summary" and name == cur and set(labels) != {"quantile"}:
                raise ValueError("line %d: summary sample without a quantile label" % n)
            fam["samples"].append((name, labels, value))
    return fams


def value(fams, name, labels=None):
    """The value of one sample (name may be a family or its _sum/_count)."""
    for fam in fams.values():
        for n, lab, v in fam["samples"]:
            if n == name and lab == (labels or {}):
                return v
    raise KeyError("%s%s not in the scrape" % (name, labels or ""))
