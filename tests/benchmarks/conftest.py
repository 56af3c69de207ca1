"""``benchmarks`` is a development tool, not an installed package: its tests import it from the
repository root (as ``python -m benchmarks.throughput`` run there does)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
