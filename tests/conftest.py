"""Puts ``tests/`` on ``sys.path`` so every test directory can import ``testkit`` (helpers shared by
the runtime, daemon CLI and HTTP API suites)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
