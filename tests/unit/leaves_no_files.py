"""Every unit suite removes its temporary directories: each suite binary given on the command
line runs with TMPDIR set to a fresh empty directory, which must be empty again afterwards (a
suite whose tests all pass keeps nothing; see check_main.h). meson runs each unit suite through
this (one binary each, its output passed through), so the check costs no second run. A
temporary directory made any other way (mkdtemp of a fixed /tmp path, which TMPDIR does not
move) is refused in the sources (--src DIR, the test leaves_no_files).
    leaves_no_files.py [--src tests/unit] [exe...]
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile


def own_temp_calls(src):
    """Lines of the unit sources that make temporary files or directories other than through
    check_mkdtemp (check_main.h itself excepted)."""
    out = []
    for name in sorted(os.listdir(src)):
        if not name.endswith((".c", ".h")) or name == "check_main.h":
            continue
        with open(os.path.join(src, name), errors="replace") as f:
            for n, line in enumerate(f, 1):
                if re.search(r"(?<!check_)\b(mkdtemp|mkstemp|mkstemps|tmpfile|tmpnam|tempnam)\s*\(", line):
                    out.append("%s:%d: %s (use check_mkdtemp)" % (name, n, line.strip()))
    return out


def main(argv):
    # meson's timeout ends this with SIGTERM: still remove the directory on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bad = []
    binaries = list(argv)
    if binaries[:1] == ["--src"]:
        bad += own_temp_calls(binaries[1])
        binaries = binaries[2:]
    for exe in binaries:
        tmp = tempfile.mkdtemp(prefix="samsa-unit-check-")
        try:
            sys.stdout.flush()
            r = subprocess.run([exe], env=dict(os.environ, TMPDIR=tmp), timeout=600)
            left = sorted(os.listdir(tmp))
            if r.returncode != 0:
                bad.append("%s failed (exit status %d)" % (exe, r.returncode))
            elif left:
                bad.append("%s left %s in TMPDIR" % (os.path.basename(exe), left))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    for b in bad:
        print(b, file=sys.stderr)
    print("%d unit suites run, %d left files or failed" % (len(binaries), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
