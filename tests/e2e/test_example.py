"""The README's main job: examples/webapp built through the frontend, then run."""

from __future__ import annotations

import re
import subprocess

from .conftest import REPO


def test_scripts_example_builds_and_runs_the_webapp(testbed):
    proc = subprocess.run([str(REPO / "scripts" / "example")], capture_output=True, text=True,
                          timeout=1200)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "200 flask: 3.1.3\nhello: pylayers" in out
    assert "gunicorn (version 27.0.1)" in out
    for name, version in (("Flask", "3.1.3"), ("PyYAML", "6.0.3"), ("requests", "2.34.2"),
                          ("charset-normalizer", "3.5.2")):
        assert re.search(rf"^{name}\s+{re.escape(version)}$", out, re.M), (name, out[-3000:])

