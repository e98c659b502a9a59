"""Issue 5, layer planning on the real engine: budget and stable groups, order, overlaps,
packages of the base image, builds without MergeOp.

The 250 packages are tiny wheels of a local index (the point is the plan, not PyPI); the base
image's pip is replaced by pip from PyPI, as a user would do it.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.request
import uuid
from pathlib import Path

import pytest

from .conftest import BASE_313, FRONTEND, REGISTRY, buildx, registry_manifest, remove_image, run
from .localindex import serve
from .progress import exec_mates, package_steps, rebuilt

N = 250
NAMES = [f"tiny{i:03d}" for i in range(N)]
DOCKERFILE = """\
# syntax={frontend}
FROM {base}
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url {index} -r requirements.txt
CMD ["python", "-c", "print('ok')"]
"""
CHECK = """
import importlib, importlib.metadata as m, json, sys
want = dict(line.split("==") for line in open("/app/requirements.txt").read().split())
bad = {n: m.version(n) for n, v in want.items() if m.version(n) != v or importlib.import_module(n).VERSION != v}
print(json.dumps({"bad": bad, "dists": len(list(m.distributions()))}))
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    idx, server = serve(tmp_path_factory.mktemp("index"))
    salt = f"SALT = {uuid.uuid4().hex!r}\n".encode()  # new wheels, so a cold build, in every session
    for name, version in [*((n, "1.0") for n in NAMES), ("tiny123", "1.1"), ("newcomer", "1.0")]:
        idx.add(name, version, files={f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
                                      f"{name}/_salt.py": salt})
    for name, text in (("same-a", b"same\n"), ("same-b", b"same\n"), ("clash-a", b"a\n"), ("clash-b", b"b\n")):
        idx.add(name, "1.0", files={"shared/data.txt": text, f"{name.replace('-', '_')}/__init__.py": b""})
    yield idx
    server.shutdown()


def _context(workdir: Path, index, pins: dict[str, str]) -> Path:
    (workdir / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url))
    return workdir


def _package_layers(ref: str) -> list[tuple[str, int, tuple[str, ...]]]:
    """(digest, size, dist-info names) of each layer above the base image that installs packages."""
    base = {layer["digest"] for layer in registry_manifest(BASE_313)["layers"]}
    repo = ref.rsplit(":", 1)[0].split("/", 1)[1]
    found = []
    for layer in registry_manifest(ref)["layers"]:
        if layer["digest"] in base:
            continue
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/{repo}/blobs/{layer['digest']}") as response:
            with tarfile.open(fileobj=io.BytesIO(response.read())) as tar:
                names = tar.getnames()
        dists = sorted({m.group(1) for n in names for m in [_DIST_INFO.search(n)] if m})
        if dists:
            found.append((layer["digest"], layer["size"], tuple(dists)))
    return found


_DIST_INFO = re.compile(r"site-packages/([^/.][^/]*)\.dist-info(?:/|$)")


_SERVED = re.compile(r"pylayers installer: bytecode of (\d+) of (\d+) modules from the cache")


def _one_exec_ran(output: str, member: str) -> set[str]:
    """Only one install exec ran (CANCELED ones did not: BuildKit found their result cached): the
    one that writes the layer holding `member` (and the other small layers of its group); the
    labels of the layers it writes."""
    label = next(label for label in package_steps(output) if member in label.split(", "))
    ran = rebuilt(output)
    assert label in ran and ran == exec_mates(output, label), (label, ran)
    return ran


def _blobs(ref: str) -> dict[str, int]:
    return {layer["digest"]: layer["size"] for layer in registry_manifest(ref)["layers"]}


@pytest.fixture(scope="module")
def big(index, tmp_path_factory, docker_client):
    """The 250-package image, built once, pushed as :v1."""
    workdir = _context(tmp_path_factory.mktemp("big"), index, dict.fromkeys(NAMES, "1.0"))
    name = "localhost:5000/pylayers-e2e/planning-big"
    result = buildx(workdir, "--push", "-t", f"{name}:v1", timeout=1800).check()
    print(f"\n250 packages, first build: {result.seconds:.1f} s")
    docker_client.images.pull(f"{name}:v1")
    yield workdir, name, result
    for tag in ("v1", "v2", "v3", "v4", "x", "merge0"):  # a failed test may not have made them all
        remove_image(docker_client, f"{name}:{tag}")


def test_250_packages_build_within_the_budget_and_run(docker_client, big):
    workdir, name, result = big
    layers = _package_layers(f"{name}:v1")
    assert 20 <= len(layers) <= 60, layers
    assert sorted(d for _, _, dists in layers for d in dists) == [f"{n}-1.0" for n in NAMES]
    # the stage is one MergeOp: FROM image, package layers, its other instructions' layers (a
    # DiffOp); each package is named in the image's history
    assert f"pylayers: the stage with its {len(layers)} package layers" in result.output
    assert "COPY --link --from=pylayers" not in result.output
    history = [h["CreatedBy"] for h in docker_client.api.history(f"{name}:v1")]
    assert sum(h.startswith("pylayers: ") for h in history) == len(layers), history
    total = len(registry_manifest(f"{name}:v1")["layers"])
    assert total <= 90
    out = json.loads(run(docker_client, f"{name}:v1", "python", "-c", CHECK))
    assert out == {"bad": {}, "dists": N + 1}  # + the base image's pip
    print(f"package layers: {len(layers)}, image layers: {total}")


def _push_with_requirements(workdir, ref: str, edit):
    """Build and push `ref` with requirements.txt edited by `edit`, then put the file back."""
    path = workdir / "requirements.txt"
    text = path.read_text()
    path.write_text(edit(text))
    try:
        return buildx(workdir, "--push", "-t", ref, timeout=1800).check()
    finally:
        path.write_text(text)


def test_one_pin_change_rebuilds_and_pushes_one_layer(docker_client, big):
    workdir, name, _ = big
    second = _push_with_requirements(workdir, f"{name}:v2", lambda text: text.replace("tiny123==1.0", "tiny123==1.1"))
    # the bucket layers install a few KB each: they share 8 install execs (plan.install_groups),
    # so tiny123's exec writes other layers too, which come out byte-identical (checked below)
    mates = _one_exec_ran(second.output, "tiny123 1.1")
    assert len(mates) > 1
    # and it took the bytecode of the other layers' modules (and of tiny123's unchanged _salt.py)
    # from the builder's cache mount, written by the first build (installer/pyccache.py)
    (served, total), = [tuple(map(int, m)) for m in _SERVED.findall(second.output)]
    assert 2 * (len(mates) - 1) < served < total, (served, total, mates)
    before, after = _package_layers(f"{name}:v1"), _package_layers(f"{name}:v2")
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 1, changed
    assert "tiny123-1.1" in changed[0][1][2] and set(changed[0][0][2]) - set(changed[0][1][2]) == {"tiny123-1.0"}
    old, new = _blobs(f"{name}:v1"), _blobs(f"{name}:v2")
    pushed = {d: s for d, s in new.items() if d not in old}
    # of the package layers, only tiny123's group is new; the others are the stage's own layers
    # below them (COPY requirements.txt; WORKDIR's when BuildKit ran it again)
    assert [d for d, _, _ in after if d in pushed] == [changed[0][1][0]] and len(pushed) <= 3, pushed
    print(f"one pin: {second.seconds:.1f} s, pushed {len(pushed)} new blobs, {sum(pushed.values())} bytes "
          f"(the package layer: {changed[0][1][1]} bytes)")


def test_adding_a_package_changes_at_most_one_layer(big):
    workdir, name, _ = big
    third = _push_with_requirements(workdir, f"{name}:v3", lambda text: text + "newcomer==1.0\n")
    _one_exec_ran(third.output, "newcomer 1.0")
    before, after = _package_layers(f"{name}:v1"), _package_layers(f"{name}:v3")
    assert len(set(after) - set(before)) == 1 and len(set(before) - set(after)) <= 1
    pushed = [d for d in _blobs(f"{name}:v3") if d not in _blobs(f"{name}:v1")]
    new_layers = [layer for layer in after if layer not in before]
    assert [d for d, _, _ in after if d in pushed] == [d for d, _, _ in new_layers]  # only that one


def test_volatile_packages_go_on_top_in_their_own_layers(docker_client, big):
    workdir, name, _ = big
    buildx(workdir, "--push", "-t", f"{name}:v4", "--build-arg", "PYLAYERS_VOLATILE=tiny200,Tiny007",
           timeout=1800).check()
    layers = _package_layers(f"{name}:v4")
    assert [dists for _, _, dists in layers[-2:]] == [("tiny200-1.0",), ("tiny007-1.0",)]
    assert sorted(d for _, _, dists in layers for d in dists) == [f"{n}-1.0" for n in NAMES]


def test_too_many_layers_are_refused_with_what_to_do(big):
    workdir, name, _ = big
    # within a budget of 260, the 250 tiny packages share 4 layers (docs/design.md)
    fits = buildx(workdir, "-t", f"{name}:x", "--build-arg", "PYLAYERS_MAX_LAYERS=260", timeout=1800).check()
    assert "pylayers: the stage with its 4 package layers" in fits.output, fits.output[-3000:]
    # what takes an image past 125 layers here: 110 more instructions, 40 package layers allowed
    # (past that budget: 20 buckets); the build stops before delegating, no RUN runs
    dockerfile = workdir / "Dockerfile"
    text = dockerfile.read_text()
    dockerfile.write_text(text + "RUN true\n" * 110)
    try:
        result = buildx(workdir, "-t", f"{name}:x", "--build-arg", "PYLAYERS_MAX_LAYERS=40", timeout=1800)
    finally:
        dockerfile.write_text(text)
    assert result.returncode != 0
    assert re.search(r"would have 1[2-4]\d layers \(\d+ from the base image, 11\d from other instructions, "
                     r"\d\d package layers\); images with more than 125 layers fail to run: build with "
                     r"--build-arg PYLAYERS_MAX_LAYERS=\d+ or lower", result.output), result.output[-3000:]


def test_pylayers_merge_0_builds_the_same_packages_with_plain_copies(docker_client, big):
    workdir, name, first = big
    result = buildx(workdir, "--load", "-t", f"{name}:merge0", "--build-arg", "PYLAYERS_MERGE=0",
                    timeout=1800).check()
    assert "COPY --from=pylayers-1--group-" in result.output and "COPY --link" not in result.output
    # the same layers as with MergeOp (cached, unless a prune on this engine dropped them)
    assert set(package_steps(result.output)) == set(package_steps(first.output))
    out = json.loads(run(docker_client, f"{name}:merge0", "python", "-c", CHECK))
    assert out == {"bad": {}, "dists": N + 1}


def test_identical_overlapping_files_are_fine_different_ones_fail(docker_client, index, workdir, image_name):
    _context(workdir, index, {"same-a": "1.0", "same-b": "1.0", "tiny001": "1.0"})
    buildx(workdir, "--load", "-t", f"{image_name}:same").check()
    assert run(docker_client, f"{image_name}:same", "python", "-c",
               "import shared; print(open(shared.__path__[0] + '/data.txt').read())"
               ) == "same\n\n"
    _context(workdir, index, {"clash-a": "1.0", "clash-b": "1.0", "tiny001": "1.0"})
    result = buildx(workdir, "-t", f"{image_name}:clash")
    assert result.returncode != 0
    assert ("clash-a==1.0 and clash-b==1.0 install the same files with different content: "
            "/opt/venv/lib/python3.13/site-packages/shared/data.txt. pip would keep") in result.output, \
        result.output[-3000:]


PIP_DOCKERFILE = """\
# syntax={frontend}
FROM {base}
COPY requirements.txt /tmp/
RUN pip install --no-cache-dir -r /tmp/requirements.txt
"""

# What the image holds of one distribution (argv[1], its top-level directories argv[2:]): its
# versions, its .dist-info directories, the files under those directories no RECORD lists (left
# over from a version uninstalled) and `pip list`.
INSTALLED_CHECK = """
import csv, importlib.metadata as m, json, os, subprocess, sys
name, tops = sys.argv[1], sys.argv[2:]
site = "/opt/venv/lib/python3.13/site-packages"
dist = [d for d in m.distributions() if d.metadata["Name"] == name]
record = {os.path.normpath(os.path.join(site, row[0])) for d in dist
          for row in csv.reader(open(os.path.join(str(d._path), "RECORD"))) if row}
files = {os.path.join(r, f) for top in tops
         for r, _, fs in os.walk(os.path.join(site, top)) for f in fs if not f.endswith(".pyc")}
print(json.dumps({"versions": [d.version for d in dist],
                  "dist_infos": sorted(n for n in os.listdir(site) if n.startswith(name + "-")),
                  "unrecorded": sorted(files - record)[:5],
                  "list": subprocess.run(["pip", "list", "--format=json"], capture_output=True, text=True).stdout}))
"""


@pytest.mark.parametrize("merge", ["1", "0"])
def test_the_base_image_pip_is_replaced_by_the_pinned_one(docker_client, workdir, image_name, merge):
    base_pip = run(docker_client, BASE_313, "python", "-c", "import importlib.metadata as m; print(m.version('pip'))")
    assert base_pip.strip() != "24.3.1"
    (workdir / "requirements.txt").write_text("pip==24.3.1\nsix==1.17.0\n")
    (workdir / "Dockerfile").write_text(PIP_DOCKERFILE.format(frontend=FRONTEND, base=BASE_313))
    buildx(workdir, "--load", "-t", f"{image_name}:x", "--build-arg", f"PYLAYERS_MERGE={merge}").check()
    out = json.loads(run(docker_client, f"{image_name}:x", "python", "-c", INSTALLED_CHECK, "pip", "pip"))
    assert out["versions"] == ["24.3.1"] and out["dist_infos"] == ["pip-24.3.1.dist-info"]
    listed = {d["name"]: d["version"] for d in json.loads(out["list"])}
    assert listed == {"pip": "24.3.1", "six": "1.17.0"}
    assert out["unrecorded"] == []  # no file of the base image's pip is left


def test_a_base_image_with_an_older_setuptools_ends_with_the_pinned_newer_one(docker_client, tmp_path, workdir,
                                                                              image_name, request):
    """Issue 5: the stage's setuptools 75.8.0 (installed by the base image) and a requirements file
    pinning 80.9.0: the image has exactly 80.9.0, as pip would leave it."""
    older = tmp_path / "older"
    older.mkdir()
    (older / "Dockerfile").write_text(f"FROM {BASE_313}\nRUN pip install --no-cache-dir setuptools==75.8.0\n")
    base = f"{image_name}-base:st75"
    buildx(older, "--push", "-t", base).check()
    request.addfinalizer(lambda: remove_image(docker_client, base))
    (workdir / "requirements.txt").write_text("setuptools==80.9.0\nsix==1.17.0\n")
    (workdir / "Dockerfile").write_text(PIP_DOCKERFILE.format(frontend=FRONTEND, base=base))
    result = buildx(workdir, "--load", "-t", f"{image_name}:x").check()
    assert "setuptools 80.9.0" in package_steps(result.output)
    assert "setuptools-75.8.0.dist-info" in result.output  # the RUN that uninstalls it, as pip would
    out = json.loads(run(docker_client, f"{image_name}:x", "python", "-c", INSTALLED_CHECK,
                         "setuptools", "setuptools", "pkg_resources", "_distutils_hack"))
    assert out["versions"] == ["80.9.0"] and out["dist_infos"] == ["setuptools-80.9.0.dist-info"]
    listed = {d["name"]: d["version"] for d in json.loads(out["list"])}
    assert listed.get("setuptools") == "80.9.0" and listed.get("six") == "1.17.0"
    assert out["unrecorded"] == []  # no file of 75.8.0 is left
