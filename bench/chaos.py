"""The chaos test of the suite, for 60 seconds: kill -9 a daemon or front end every second.

Runs tests/functional/test_chaos.py (the same code as the 15-second test in
the suite) with WSGIHOST_CHAOS_SECONDS set; pass another duration as the
only argument. Exit status is pytest's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    seconds = sys.argv[1] if len(sys.argv) > 1 else "60"
    env = {**os.environ, "WSGIHOST_CHAOS_SECONDS": seconds}
    test = ROOT / "tests" / "functional" / "test_chaos.py"
    return subprocess.call([sys.executable, "-m", "pytest", "-q", str(test)], cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
