"""Issue 4's acceptance test: for each requirement set in tests/cases/parity, pylayers installs the
same (name, version) set as pip chooses (`pip install --dry-run --report`) for the same target
interpreter and index on the same day.

One build through the frontend installs every set (one stage per set and base image, each
listing its distributions) and exports the listings; pip's answers are asked, meanwhile, from
pip itself in each base image. A set's first line may say `# parity-bases: 3.13 3.11` (default
3.13), so markers are evaluated for two interpreters.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .conftest import BASE_311, BASE_313, FRONTEND, REPO, buildx

CASES = REPO / "tests" / "cases" / "parity"
PIPREPORT = Path(__file__).with_name("pipreport.py")
BASES = {"3.13": BASE_313, "3.11": BASE_311}
DUMP = ("import importlib.metadata as m, json, re\n"
        "print(json.dumps(sorted([re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(), d.version]\n"
        "                        for d in m.distributions())))\n")


def parity_sets() -> list[tuple[str, str]]:
    """(file name, base version) for every set and base it runs on."""
    found = []
    for path in sorted(CASES.glob("[0-9]*.txt")):
        first = path.read_text().splitlines()[0]
        match = re.match(r"#\s*parity-bases:\s*(.*)", first)
        for base in (match.group(1).split() if match else ["3.13"]):
            found.append((path.name, base))
    return found


def _stage(name: str, base: str) -> str:
    return f"s{name.split('-')[0]}-{base.replace('.', '')}"


def dockerfile(sets: list[tuple[str, str]]) -> str:
    lines = [f"# syntax={FRONTEND}"]
    for base in BASES:
        lines += [f"FROM {BASES[base]} AS base-{base.replace('.', '')}", "COPY dump.py /dump.py",
                  "RUN python /dump.py > /installed.json"]
    for name, base in sets:
        lines += [f"FROM {BASES[base]} AS {_stage(name, base)}", "COPY reqs/ /reqs/", "COPY dump.py /dump.py",
                  f"RUN pip install --no-cache-dir -r /reqs/{name}", "RUN python /dump.py > /installed.json"]
    lines.append("FROM scratch")
    lines += [f"COPY --from=base-{b.replace('.', '')} /installed.json /base-{b}.json" for b in BASES]
    lines += [f"COPY --from={_stage(n, b)} /installed.json /{n}@{b}.json" for n, b in sets]
    return "\n".join(lines) + "\n"


def pip_answers(base: str, names: list[str]) -> dict[str, object]:
    cmd = ["docker", "run", "--rm", "-v", f"{CASES}:/reqs:ro", "-v", f"{PIPREPORT}:/pipreport.py:ro",
           BASES[base], "python", "/pipreport.py", *(f"/reqs/{n}" for n in names)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {path.rsplit("/", 1)[-1]: answer for path, answer in json.loads(proc.stdout).items()}


def test_pylayers_installs_what_pip_chooses(tmp_path, testbed):
    sets = parity_sets()
    assert len({n for n, _ in sets}) >= 15 and {b for _, b in sets} == set(BASES)
    ctx = tmp_path / "ctx"
    shutil.copytree(CASES, ctx / "reqs")
    (ctx / "dump.py").write_text(DUMP)
    (ctx / "Dockerfile").write_text(dockerfile(sets))
    out = tmp_path / "out"
    with ThreadPoolExecutor(max_workers=len(BASES)) as pool:
        asked = {b: pool.submit(pip_answers, b, [n for n, base in sets if base == b]) for b in BASES}
        build = buildx(ctx, "--output", f"type=local,dest={out}", timeout=1800)
        pip = {b: future.result() for b, future in asked.items()}
    build.check()
    report, mismatches = [], []
    for name, base in sets:
        answer = pip[base][name]
        assert isinstance(answer, list), f"pip failed for {name} on {base}: {answer}"
        theirs = {(n, v) for n, v, _ in answer}
        had = {tuple(d) for d in json.loads((out / f"base-{base}.json").read_text())}
        ours = {tuple(d) for d in json.loads((out / f"{name}@{base}.json").read_text())} - had
        report.append(f"{name} on Python {base}: pip {len(theirs)}, pylayers {len(ours)} packages")
        if ours != theirs:
            mismatches.append(f"{name} on {base}: only pip {sorted(theirs - ours)}, "
                              f"only pylayers {sorted(ours - theirs)}")
    print("\n".join(report))
    assert max(len(pip[b][n]) for n, b in sets) >= 40
    assert not mismatches, "\n".join(mismatches)
