"""Model vs reality: real CPython threads and processes on this machine, beside refsim's
timed model. This now lives in refsim itself, as ``refsim real gil`` (refsim/real/gil.py;
docs/real.md explains it); this script is kept so that old instructions still work.

    python benchmarks/real_threads.py [--work 0.2] [--quick]
"""

from __future__ import annotations

import sys

from refsim.cli import main

if __name__ == "__main__":
    sys.exit(main(["real", "gil", *sys.argv[1:]]))
