"""benchmarks/frontend_profile.py keeps working: its in-memory bridge answers what the frontend asks.

(It broke once, silently, when the resolver stopped asking PyPI's JSON API; no timing is checked.)
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "frontend_profile.py"


def test_the_profile_reaches_the_delegated_solve():
    spec = importlib.util.spec_from_file_location("frontend_profile", SCRIPT)
    profile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile)
    from frontend.target import PROBE_SCRIPT

    probe = subprocess.run([sys.executable, "-c", PROBE_SCRIPT], capture_output=True, check=True).stdout
    assert profile.one_run(12, probe, None) > 0  # SystemExit if the delegated Solve never came
