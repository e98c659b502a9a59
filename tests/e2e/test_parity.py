"""Issue 4's acceptance test: for each requirement set in tests/cases/parity, pylayers installs the
same (name, version) set as pip chooses (`pip install --dry-run --report`) for the same target
interpreter and index on the same day.

pip's answers are asked first, from pip itself in each base image (one container per base);
then a few builds through the frontend install every set (one stage per set and base image, each
listing its distributions, exported with --output type=local). Sets are grouped so that one
build stays under MAX_LAYERS package layers (BuildKit takes 4 MiB of LLB definitions per Solve). A set's first line may say `# parity-bases: 3.13 3.11` (default
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
MAX_LAYERS = 120
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


def groups(sets: list[tuple[str, str]], sizes: dict[tuple[str, str], int]) -> list[list[tuple[str, str]]]:
    """The sets in builds of at most MAX_LAYERS packages (a bigger set builds alone)."""
    found: list[list[tuple[str, str]]] = [[]]
    for item in sorted(sets, key=lambda i: -sizes[i]):
        if found[-1] and sum(sizes[i] for i in found[-1]) + sizes[item] > MAX_LAYERS:
            found.append([])
        found[-1].append(item)
    return found


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
    with ThreadPoolExecutor(max_workers=len(BASES)) as pool:
        asked = {b: pool.submit(pip_answers, b, [n for n, base in sets if base == b]) for b in BASES}
        pip = {b: future.result() for b, future in asked.items()}
    for name, base in sets:
        assert isinstance(pip[base][name], list), f"pip failed for {name} on {base}: {pip[base][name]}"
    (tmp_path / "pip-answers.json").write_text(json.dumps(pip, indent=1))  # the record of pip's answer
    out = tmp_path / "out"
    for number, group in enumerate(groups(sets, {(n, b): len(pip[b][n]) for n, b in sets})):
        ctx = tmp_path / f"ctx{number}"
        shutil.copytree(CASES, ctx / "reqs")
        (ctx / "dump.py").write_text(DUMP)
        (ctx / "Dockerfile").write_text(dockerfile(group))
        buildx(ctx, "--output", f"type=local,dest={out}", timeout=1800).check()
    report, mismatches = [], []
    for name, base in sets:
        theirs = {(n, v) for n, v, _ in pip[base][name]}
        had = {tuple(d) for d in json.loads((out / f"base-{base}.json").read_text())}
        ours = {tuple(d) for d in json.loads((out / f"{name}@{base}.json").read_text())} - had
        report.append(f"{name} on Python {base}: pip {len(theirs)}, pylayers {len(ours)} packages, "
                      f"{'same' if ours == theirs else 'DIFFERENT'}")
        if ours != theirs:
            mismatches.append(f"{name} on {base}: only pip {sorted(theirs - ours)}, "
                              f"only pylayers {sorted(ours - theirs)}")
    print("\n".join(report))
    assert max(len(pip[b][n]) for n, b in sets) >= 40
    assert not mismatches, "\n".join(mismatches)
