"""Issue 5, MergeOp fallback on a real daemon without MergeOp: Docker 26.1 with the classic image
store (graphdriver overlay2), whose BuildKit reports MergeOp disabled ("only enabled with containerd
image store backend").

`scripts/testbed classic-up` starts that second dockerd next to the shared one (own data root, exec
root, containerd and socket; no bridge, no iptables) and pushes a base and a frontend image it can
pull; the module stops it and removes its state at the end. Three tiny wheels of a local index.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import uuid

import docker
import pytest

from .conftest import REPO, buildx, registry_manifest
from .localindex import serve
from .progress import exec_mates, package_steps, rebuilt

WARNING = ("this BuildKit cannot merge layers (MergeOp: only enabled with containerd image store "
           "backend; Docker's classic image store?)")
DOCKERFILE = """\
# syntax={frontend}
FROM {base}
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url {index} -r requirements.txt
CMD ["python", "-c", "import alpha, beta, gamma; print(alpha.VERSION, beta.VERSION, gamma.VERSION)"]
"""
PINS = {"alpha": "1.0", "beta": "1.0", "gamma": "1.0"}


def _testbed(command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "scripts" / "testbed"), command], capture_output=True, text=True)


@pytest.fixture(scope="module")
def classic(testbed):
    """(DOCKER_HOST, base image, frontend image) of the classic-store daemon, up for this module."""
    proc = _testbed("classic-up")
    if proc.returncode != 0:
        _testbed("classic-down")
        pytest.fail(f"scripts/testbed classic-up failed:\n{proc.stderr[-4000:]}", pytrace=False)
    env = dict(line.split("=", 1) for line in proc.stdout.split())
    yield env["DOCKER_HOST"], env["BASE_IMAGE"], env["FRONTEND_IMAGE"]
    down = _testbed("classic-down")
    assert down.returncode == 0, down.stderr


@pytest.fixture(scope="module")
def client(classic):
    engine = docker.DockerClient(base_url=classic[0], timeout=300)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    idx, server = serve(tmp_path_factory.mktemp("index"))
    salt = f"SALT = {uuid.uuid4().hex!r}\n".encode()  # new wheels, so a cold build, in every session
    for name, version in [*PINS.items(), ("beta", "1.1")]:
        idx.add(name, version, files={f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
                                      f"{name}/_salt.py": salt})
    yield idx
    server.shutdown()


@pytest.fixture(scope="module")
def builds(classic, index, tmp_path_factory):
    """The three pins built, then beta 1.0 -> 1.1, then that again with PYLAYERS_MERGE=0."""
    host, base, frontend = classic
    ctx = tmp_path_factory.mktemp("ctx")
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(frontend=frontend, base=base, index=index.url))
    tag = f"pylayers-e2e/classic-{uuid.uuid4().hex[:8]}"
    results = {}
    for key, pins, args in (("first", PINS, ()), ("changed", {**PINS, "beta": "1.1"}, ()),
                            ("merge0", {**PINS, "beta": "1.1"}, ("--build-arg", "PYLAYERS_MERGE=0"))):
        (ctx / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in pins.items()))
        results[key] = (buildx(ctx, "--load", "-t", f"{tag}:{key}", *args, docker_host=host).check(),
                        f"{tag}:{key}")
    return results


def _run(client, ref: str) -> str:
    return client.containers.run(ref, remove=True, network_mode="none").decode()


def _package_layers(client, ref: str, base: str) -> list[str]:
    """The diff ids of the layers right above the base image, one per package (3)."""
    below = len(registry_manifest(base)["layers"])
    layers = client.api.inspect_image(ref)["RootFS"]["Layers"]
    assert len(layers) == below + len(PINS) + 2  # the packages (hoisted), WORKDIR, COPY
    return layers[below:below + len(PINS)]


def test_the_daemon_lacks_mergeop_and_the_build_says_so_once(classic, client, builds):
    assert client.info()["Driver"] == "overlay2"
    output = builds["first"][0].output
    assert output.count(WARNING) == 1, output[-3000:]
    # the rewrite still says --link; BuildKit performs it as a plain copy
    # alpha installs a few bytes: its layer is tiny bucket 2 (sha256("alpha") mod 4, docs/design.md)
    assert "COPY --link --from=pylayers-1--tiny-02 / /" in output


def _layer_dists(host: str, ref: str) -> dict[str, tuple[str, ...]]:
    """The dist-info directories (name-version) in each layer of `ref` under 1 MiB, by diff id."""
    proc = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE, env={**os.environ, "DOCKER_HOST": host})
    small = {}
    with tarfile.open(fileobj=proc.stdout, mode="r|") as saved:  # streamed: the base layer is 170 MB
        for member in saved:
            if member.isfile() and member.size < 1 << 20:
                small[member.name] = saved.extractfile(member).read()
    assert proc.wait() == 0
    found = {}
    for path in json.loads(small["manifest.json"])[0]["Layers"]:
        if path in small:
            with tarfile.open(fileobj=io.BytesIO(small[path])) as layer:
                names = {m.group(1) for n in layer.getnames() for m in [_DIST_INFO.search(n)] if m}
            found["sha256:" + path.rsplit("/", 1)[1]] = tuple(sorted(names))
    return found


_DIST_INFO = re.compile(r"site-packages/([^/]+)\.dist-info(?:/|$)")


def test_the_image_runs_with_one_layer_per_package(classic, client, builds):
    _, ref = builds["first"]
    assert _run(client, ref) == "1.0 1.0 1.0\n"
    dists = _layer_dists(classic[0], ref)
    assert sorted(dists[layer] for layer in _package_layers(client, ref, classic[1])) == [
        ("alpha-1.0",), ("beta-1.0",), ("gamma-1.0",)]
    layers = client.api.inspect_image(ref)["RootFS"]["Layers"]
    assert sum(bool(dists.get(layer)) for layer in layers) == len(PINS)  # no package elsewhere


def test_one_pin_change_reinstalls_only_that_package(classic, client, builds):
    result, ref = builds["changed"]
    assert result.output.count(WARNING) == 1
    steps, ran = package_steps(result.output), rebuilt(result.output)
    assert "beta 1.1" in ran and ran == exec_mates(result.output, "beta 1.1"), result.output[-3000:]
    assert {label for label, v in steps.items() if v.cached} == {"alpha 1.0", "gamma 1.0"} - ran
    assert _run(client, ref) == "1.0 1.1 1.0\n"
    # layers above beta's are copied again but come out the same: only beta's layer differs
    before = _package_layers(client, builds["first"][1], classic[1])
    after = _package_layers(client, ref, classic[1])
    dists = _layer_dists(classic[0], ref)
    assert [dists[layer] for layer, old in zip(after, before) if layer != old] == [("beta-1.1",)]


def test_pylayers_merge_0_writes_plain_copies_and_no_warning(classic, client, builds):
    result, ref = builds["merge0"]
    assert WARNING not in result.output
    assert "COPY --from=pylayers-1--tiny-02 / /" in result.output and "COPY --link" not in result.output
    assert all(v.cached for v in package_steps(result.output).values())
    assert _run(client, ref) == "1.0 1.1 1.0\n"
    assert _package_layers(client, ref, classic[1]) == _package_layers(client, builds["changed"][1], classic[1])
