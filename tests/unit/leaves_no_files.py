"""Every unit suite removes its temporary directories: each suite binary given on the command
line runs with TMPDIR set to a fresh empty directory, which must be empty again afterwards (a
suite whose tests all pass keeps nothing; see check_main.h)."""
import os
import shutil
import subprocess
import sys
import tempfile


def main(binaries):
    bad = []
    for exe in binaries:
        tmp = tempfile.mkdtemp(prefix="samsa-unit-check-")
        try:
            r = subprocess.run([exe], env=dict(os.environ, TMPDIR=tmp), capture_output=True, text=True,
                               timeout=600)
            left = sorted(os.listdir(tmp))
            if r.returncode != 0:
                bad.append("%s failed (%d):\n%s" % (exe, r.returncode, (r.stdout + r.stderr)[-2000:]))
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
