"""benchmarks/run.py's table: ratios against pip and uv, and the engine floor beside pylayers.

(The builds themselves run on the real engine with `python3 benchmarks/run.py`; no timing is
checked here.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def load():
    spec = importlib.util.spec_from_file_location("bench_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_table_has_the_ratios_and_the_engine_floor():
    run = load()
    pip = [run.Run(30.0, 0.5, 34.0, 99_000_000, 5, 33.0, 2000)]
    pylayers = [run.Run(24.0, 2.0, 2.0, 162_000, 53, 6.0, 99_000, 27, 2.6),
                run.Run(25.0, 2.4, 3.0, 162_000, 53, 6.2, 99_000, 27, 3.0)]
    text = run.table("large", 58, {"pip": pip, "pylayers": pylayers}, [(1.9, 2.3, 1.8), (2.1, 2.7, 2.0)])
    row = next(line for line in text.splitlines() if line.startswith("| pylayers"))
    assert row.split(" | ")[2:5] == ["2.2 (2.0–2.4)", "2.8 (2.6–3.0)", "2.5 (2.0–3.0)"]
    assert row.endswith("| 13.6× | – |")
    assert next(line for line in text.splitlines() if line.startswith("| pip")).split(" | ")[3] == "–"
    assert ("53 layers (the base image and 52 `COPY --link` of a small file), pushed: no-op 2.0 (1.9–2.1) s, "
            "one file changed in layer 27 (where the pin's layer is) 2.5 (2.3–2.7) s, in the top layer "
            "1.9 (1.8–2.0) s.") in text


def test_without_pylayers_there_is_no_floor():
    run = load()
    text = run.table("small", 14, {"pip": [run.Run(3.0, 0.5, 3.0, 4_000_000, 5, 3.0, 2000)]}, [])
    assert "floor" not in text and "| pip | 3.0 | 0.5 | – | 3.0 |" in text


def test_the_output_says_when_the_image_store_holds_other_images(monkeypatch):
    run = load()
    listing = "localhost:5000/python:3.13-trixie\nlocalhost:5000/pylayers:dev\n"
    monkeypatch.setattr(run, "sh", lambda *cmd, check=True: listing)
    assert "only the base and frontend images" in run.store_note()
    listing += "localhost:5000/b1:x\n<none>:<none>\n"
    assert run.store_note().startswith("Image store at the start: 2 other images (localhost:5000/b1:x, <none>:<none>)")


def test_a_push_the_registry_failed_with_500_is_pushed_again_and_a_failed_build_stops(monkeypatch, tmp_path):
    run = load()
    calls = []

    def fake(cmd, **kwargs):
        calls.append(cmd[:2])
        failed = cmd[:2] == ("docker", "buildx")
        out = "ERROR: unexpected status from HEAD request: 500 Internal Server Error" if outcome == "500" else "boom"
        return run.subprocess.CompletedProcess(cmd, 1 if failed and outcome else 0, out if failed else "", "")

    monkeypatch.setattr(run.subprocess, "run", fake)
    for outcome, pushed in (("", False), ("500", True)):
        calls.clear()
        assert run.build(tmp_path, "localhost:5000/x:a") >= 0
        assert (("docker", "push") in calls) == pushed
    outcome = "other"
    try:
        run.build(tmp_path, "localhost:5000/x:a")
    except SystemExit as exc:
        assert "boom" in str(exc)
    else:
        raise AssertionError("a failed build went on")
