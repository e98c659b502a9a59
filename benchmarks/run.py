#!/usr/bin/env python3
"""pylayers side by side with the Dockerfiles users write today (issue 6).

    python3 benchmarks/run.py [--set small|large|all] [--runs N] [--pin NAME==NEW]

Four variants build the same requirements on the same base image and engine:
  pip        RUN pip install --no-cache-dir -r requirements.txt
  pip-cache  RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
  uv         RUN --mount=type=cache,target=/root/.cache/uv uv pip install -r (bytecode compiled;
             --system-certs only because build containers here see PyPI through a TLS interceptor)
  pylayers   the pip Dockerfile with `# syntax=localhost:5000/pylayers:dev`
For each: cold build (build cache pruned), no-op rebuild, a no-op in a new index window (a
PYLAYERS_INDEX_MAX_AGE no build used: pylayers fetches the index pages again, as in CI when the
last build is older than 10 minutes; the others ignore it), rebuild after one pin change, the bytes
a push of the changed image uploads (its layers that the previous push did not have) and the
number of layers. Every build pushes to the local registry. Then the fresh-builder scenario of
CI: the old image's build is exported with `--cache-to type=registry,mode=max`, the builder is
emptied (build cache pruned, the images' tags removed; base image layers that the frontend image
shares stay in the engine's store, as on a runner that keeps its base images) and the changed
image is built with `--cache-from`: its time and the bytes pulled from the registry (summed from
the registry's access log). Right after each pylayers run, the engine's floor: a Dockerfile
without a frontend that makes as many layers, its no-op rebuild and its rebuilds with the layer
changed where the pin's layer is and with the top layer changed. Prints a Markdown table
(medians and min–max over the runs, ratios against pip and uv, the floor), writes it and a JSON
file to benchmarks/results/, and a PNG chart with `--chart` (benchmarks/chart.py, needs
matplotlib: pip install -e ".[bench]"). Each run removes the images it made from the engine's
store; the output says what else the store holds at the start.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE = "localhost:5000/python:3.13-trixie"
FRONTEND = "localhost:5000/pylayers:dev"
UV = "uv==0.13.9"
REGISTRY_LOG = "/var/lib/pylayers-testbed/logs/registry.log"
CHANGED_PIN = {"small": ("certifi", "2025.8.3"), "large": ("certifi", "2025.8.3")}

HEAD = f"FROM {BASE}\nWORKDIR /app\nCOPY requirements.txt .\n"
VARIANTS = {
    "pip": HEAD + "RUN pip install --no-cache-dir -r requirements.txt\nCOPY app.py .\n",
    "pip-cache": HEAD + "RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\nCOPY app.py .\n",
    "uv": (f"FROM {BASE}\nRUN pip install --no-cache-dir {UV}\nWORKDIR /app\nCOPY requirements.txt .\n"
           "RUN --mount=type=cache,target=/root/.cache/uv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy "
           "uv pip install --system-certs -r requirements.txt\nCOPY app.py .\n"),
    "pylayers": f"# syntax={FRONTEND}\n" + HEAD + "RUN pip install --no-cache-dir -r requirements.txt\nCOPY app.py .\n",
}


@dataclass
class Run:
    cold: float
    noop: float
    onepin: float
    pushed: int
    layers: int
    fresh: float  # fresh builder, --cache-from the registry, after the one pin change
    pulled: int  # bytes the fresh builder pulled from the registry
    changed_at: int = -1  # the position of the lowest layer the one pin change made new (0: base image)
    noop_window: float = -1.0  # no-op in a new index window (-1: not measured)


def sh(*cmd: str, check: bool = True) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc.stdout


# Debian's registry 2.8 now and then answers a push's HEAD of the new tag with 500 ("invalid
# checksum digest format", reading a tag link while it is written); the image is in the store.
REGISTRY_500 = "500 Internal Server Error"


def build(ctx: Path, ref: str, *extra: str) -> float:
    """Seconds to build and push `ref`; a push the registry failed with a 500 is pushed again and
    its time counted (the run goes on; a failed build stops it)."""
    start = time.monotonic()
    cmd = ("docker", "buildx", "build", "--progress=plain", "--push", "-t", ref, *extra, str(ctx))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 and REGISTRY_500 in proc.stdout + proc.stderr:
        print(f"{ref}: the registry answered 500 to the push; pushed again", file=sys.stderr, flush=True)
        sh("docker", "push", "-q", ref)
    elif proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return time.monotonic() - start


_BLOB_GET = re.compile(r'"GET /v2/\S+/blobs/sha256:[0-9a-f]+ HTTP/[0-9.]+" 20[06] (\d+)')


def pulled_bytes(since: int) -> int:
    """Bytes of blobs served by the registry since offset `since` of its access log."""
    with open(REGISTRY_LOG, "rb") as log:
        log.seek(since)
        text = log.read().decode("utf-8", "replace")
    return sum(int(m[1]) for m in _BLOB_GET.finditer(text))


def empty_builder(repo: str) -> None:
    """A fresh CI runner: no build cache, none of the benchmark's images (nor the base image's tag)."""
    sh("docker", "buildx", "prune", "-af")
    forget(repo, repository(BASE))


def images() -> list[str]:
    """The engine's images, as repository:tag."""
    return sh("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").split()


def repository(ref: str) -> str:
    """"localhost:5000/python:" of "localhost:5000/python:3.13-trixie": the prefix of its tags."""
    return ref.rsplit(":", 1)[0] + ":"


def forget(*prefixes: str) -> None:
    """The engine's images whose name starts so removed: a run's images (some GB with the large
    set) would otherwise pile up in the image store, run after run, until the disk is full."""
    refs = [r for r in images() if r.startswith(prefixes)]
    for ref in refs:
        sh("docker", "rmi", "-f", ref, check=False)
    if refs:
        time.sleep(2)  # the store collects the layers after rmi returns: not during the next timed build


def fresh_builder(ctx: Path, repo: str, old: str, new: str) -> tuple[float, int]:
    """Time and bytes pulled to build `new` on an empty builder with the registry cache of `old`."""
    cache = f"{repo}:buildcache"
    (ctx / "requirements.txt").write_text(old)
    # its own tag: pushing `:a` again made Debian's registry 2.8 answer 500 ("invalid checksum digest format")
    build(ctx, f"{repo}:seed", "--cache-to", f"type=registry,ref={cache},mode=max")
    empty_builder(repo)
    (ctx / "requirements.txt").write_text(new)
    since = Path(REGISTRY_LOG).stat().st_size
    seconds = build(ctx, f"{repo}:c", "--cache-from", f"type=registry,ref={cache}")
    time.sleep(0.5)  # the registry writes its access log line after the response
    return seconds, pulled_bytes(since)


def manifest(ref: str) -> dict:
    raw = json.loads(sh("docker", "buildx", "imagetools", "inspect", "--raw", ref))
    if "manifests" in raw:
        digest = next(m["digest"] for m in raw["manifests"]
                      if m.get("platform", {}).get("architecture") not in (None, "unknown"))
        return manifest(f"{ref.rsplit(':', 1)[0]}@{digest}")
    return raw


def one_run(variant: str, requirements: str, pin: tuple[str, str]) -> Run:
    ctx = Path(tempfile.mkdtemp(prefix=f"bench-{variant}-"))
    (ctx / "Dockerfile").write_text(VARIANTS[variant])
    (ctx / "requirements.txt").write_text(requirements)
    (ctx / "app.py").write_text("print('hello')\n")
    repo = f"localhost:5000/pylayers-bench/{variant}-{uuid.uuid4().hex[:8]}"
    sh("docker", "buildx", "prune", "-af")
    cold = build(ctx, f"{repo}:a")
    noop = build(ctx, f"{repo}:a")
    noop_window = build(ctx, f"{repo}:a", "--build-arg", f"PYLAYERS_INDEX_MAX_AGE={new_window_age()}")
    name, new = pin
    lines = [f"{name}=={new}" if line.lower().startswith(f"{name}==") else line
             for line in requirements.splitlines()]
    changed = "\n".join(lines) + "\n"
    (ctx / "requirements.txt").write_text(changed)
    onepin = build(ctx, f"{repo}:b")
    before = {l["digest"] for l in manifest(f"{repo}:a")["layers"]}
    after = manifest(f"{repo}:b")["layers"]
    pushed = sum(l["size"] for l in after if l["digest"] not in before)
    changed_at = min((i for i, l in enumerate(after) if l["digest"] not in before), default=-1)
    fresh, pulled = fresh_builder(ctx, repo, requirements, changed)
    shutil.rmtree(ctx)
    forget(repo)
    return Run(cold, noop, onepin, pushed, len(after), fresh, pulled, changed_at, noop_window)


def new_window_age() -> int:
    """A PYLAYERS_INDEX_MAX_AGE no build has used: for pylayers a no-op whose index pages are
    fetched again, as in CI when the last build is older than the window (10 minutes by default);
    the other variants do not use the argument (a no-op)."""
    return 601 + uuid.uuid4().int % 80000


def engine_floor(layers: int, changed_at: int) -> tuple[float, float, float]:
    """What this engine spends on an image of `layers` layers, to set beside pylayers' (its image
    has as many): a Dockerfile without a frontend that makes them (the base image and one
    `COPY --link` of a small file each), pushed: (no-op rebuild, rebuild with the file of layer
    `changed_at` changed, as one pin changes pylayers' layer there, rebuild with the top layer's
    file changed: the least a rebuild of one layer costs, whatever the order of the layers)."""
    ctx = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    lines = [f"FROM {BASE}"]
    for i in range(1, layers):
        (ctx / f"f{i}").write_text(f"{i}\n")
        lines.append(f"COPY --link f{i} /floor/f{i}")
    (ctx / "Dockerfile").write_text("\n".join(lines) + "\n")
    repo = f"localhost:5000/pylayers-bench/floor-{uuid.uuid4().hex[:8]}"
    build(ctx, f"{repo}:a")
    noop = build(ctx, f"{repo}:a")
    (ctx / f"f{max(changed_at, 1)}").write_text("changed\n")
    onepin = build(ctx, f"{repo}:b")
    (ctx / f"f{layers - 1}").write_text("changed at the top\n")  # changed even if the pin's layer is the top
    top = build(ctx, f"{repo}:c")
    shutil.rmtree(ctx)
    forget(repo)
    return noop, onepin, top


def cell(values: list[float], unit: str = "s") -> str:
    med = statistics.median(values)
    if unit == "B":
        return _bytes(med) if len(values) == 1 else f"{_bytes(med)} ({_bytes(min(values))}–{_bytes(max(values))})"
    return f"{med:.1f}" if len(values) == 1 else f"{med:.1f} ({min(values):.1f}–{max(values):.1f})"


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def table(set_name: str, count: int, results: dict[str, list[Run]],
          floors: list[tuple[float, float, float]]) -> str:
    med = {v: {k: statistics.median(getattr(r, k) for r in runs) for k in ("onepin", "fresh")}
           for v, runs in results.items()}
    runs_done = len(next(iter(results.values())))
    rows = [f"### {set_name}: {count} pinned packages, {runs_done} run(s), median (min–max)", "",
            "| variant | cold s | no-op s | no-op, new index window s | one pin s | pushed after one pin | layers "
            "| fresh builder s | pulled by fresh builder | one pin vs pip | one pin vs uv |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for variant, runs in results.items():
        ratio = lambda other: (f"{med[other]['onepin'] / med[variant]['onepin']:.1f}×" if other in med else "–")
        window = [r.noop_window for r in runs if r.noop_window >= 0]
        rows.append(f"| {variant} | {cell([r.cold for r in runs])} | {cell([r.noop for r in runs])} | "
                    f"{cell(window) if window else '–'} | {cell([r.onepin for r in runs])} | "
                    f"{cell([r.pushed for r in runs], 'B')} | {runs[0].layers} | {cell([r.fresh for r in runs])} | "
                    f"{cell([r.pulled for r in runs], 'B')} | {ratio('pip')} | {ratio('uv')} |")
    if floors and "pylayers" in results:
        run = results["pylayers"][0]
        rows += ["", f"Engine floor: a Dockerfile without a frontend that makes {run.layers} layers (the base "
                 f"image and {run.layers - 1} `COPY --link` of a small file), pushed: no-op "
                 f"{cell([f[0] for f in floors])} s, one file changed in layer {run.changed_at} (where the "
                 f"pin's layer is) {cell([f[1] for f in floors])} s, in the top layer "
                 f"{cell([f[2] for f in floors])} s."]
    return "\n".join(rows) + "\n"


def store_note() -> str:
    """What the engine's image store holds besides the base and frontend images. pylayers' layers
    are reproducible: found in an image there (an earlier build of the same packages), they are
    neither unpacked by its cold build nor pulled by its fresh builder, which then look faster
    than on a clean runner (measured: 3 s of a cold build, 3 s and 99 MB of the fresh builder)."""
    others = [r for r in images() if not r.startswith((repository(BASE), repository(FRONTEND)))]
    if not others:
        return "Image store at the start: only the base and frontend images (as on a clean runner)."
    return (f"Image store at the start: {len(others)} other images ({', '.join(others[:3])}"
            f"{', …' if len(others) > 3 else ''}): pylayers' cold and fresh-builder figures may be flattered "
            "where they hold the same packages' layers (docs/benchmarks.md).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="all", choices=("small", "large", "all"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--chart", action="store_true", help="also write a PNG bar chart (needs matplotlib)")
    args = parser.parse_args()
    subprocess.run([str(REPO / "scripts" / "testbed"), "up"], check=True, stdout=subprocess.DEVNULL)
    sets = ("small", "large") if args.set == "all" else (args.set,)
    out = [f"## pylayers benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
           f"Engine: {sh('docker', 'version', '--format', '{{.Server.Version}}').strip()}; base image {BASE}.",
           store_note(), ""]
    raw: dict[str, dict[str, list[dict]]] = {}
    stem = HERE / "results" / time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    stem.parent.mkdir(exist_ok=True)
    for set_name in sets:
        requirements = (HERE / "sets" / f"{set_name}.txt").read_text()
        count = sum(1 for line in requirements.splitlines() if "==" in line)
        results: dict[str, list[Run]] = {}
        floors: list[tuple[float, float, float]] = []
        for _ in range(args.runs):  # interleave variants so drifts hit every variant alike
            for variant in args.variants.split(","):
                run = one_run(variant, requirements, CHANGED_PIN[set_name])
                results.setdefault(variant, []).append(run)
                print(f"{set_name} {variant}: {run}", file=sys.stderr)
                if variant == "pylayers":  # right after it, as many layers without the frontend
                    floors.append(engine_floor(run.layers, run.changed_at))
                    print(f"{set_name} floor ({run.layers} layers): {floors[-1]}", file=sys.stderr)
                raw[f"{set_name} ({count})"] = {v: [dataclasses.asdict(r) for r in rs] for v, rs in results.items()}
                raw[f"{set_name} ({count})"]["floor"] = [{"noop": n, "onepin": o, "top": t} for n, o, t in floors]
                stem.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")  # kept if a run fails
        out.append(table(set_name, count, results, floors))
    text = "\n".join(out)
    print(text)
    stem.with_suffix(".md").write_text(text)
    if args.chart:
        from chart import write_chart

        write_chart(raw, stem.with_suffix(".png"))
        print(f"\nchart: {stem.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
