"""Fixtures for end-to-end tests: the real engine, registry and frontend image.

`scripts/testbed up` runs once per test session (it also rebuilds and pushes the frontend image
from the working tree). If the test bed cannot be brought up the tests fail; they never skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

REPO = Path(__file__).resolve().parents[2]
REGISTRY = "localhost:5000"
FRONTEND = os.environ.get("PYLAYERS_FRONTEND_IMAGE", f"{REGISTRY}/pylayers:dev")
BASE_313 = f"{REGISTRY}/python:3.13-trixie"
BASE_311 = f"{REGISTRY}/python:3.11-bookworm"


@dataclass(frozen=True)
class BuildResult:
    returncode: int
    output: str  # progress output (plain)
    seconds: float

    def check(self) -> "BuildResult":
        if self.returncode != 0:
            raise AssertionError(f"build failed ({self.returncode}):\n{self.output[-6000:]}")
        return self


@pytest.fixture(scope="session")
def testbed() -> None:
    if os.environ.get("PYLAYERS_TESTBED_READY") != "1":
        proc = subprocess.run([str(REPO / "scripts" / "testbed"), "up"], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.fail(f"scripts/testbed up failed:\n{proc.stderr[-4000:]}", pytrace=False)


@pytest.fixture(scope="session")
def docker_client(testbed):
    client = docker.from_env(timeout=300)
    yield client
    client.close()


def buildx(context: Path, *args: str, dockerfile: Path | None = None, timeout: int = 900,
           docker_host: str | None = None) -> BuildResult:
    """`docker buildx build` of `context`; `docker_host` picks another engine (its default builder)."""
    cmd = ["docker", "buildx", "build", "--progress=plain"]
    if dockerfile is not None:
        cmd += ["-f", str(dockerfile)]
    cmd += [*args, str(context)]
    env = {**os.environ, "DOCKER_HOST": docker_host} if docker_host else None
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return BuildResult(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start)


@pytest.fixture
def image_name(request, docker_client):
    """A unique registry image name for this test; local images with it are removed afterwards."""
    slug = request.node.name.lower().replace("[", "-").replace("]", "").replace("_", "-")[:40]
    name = f"{REGISTRY}/pylayers-e2e/{slug}-{uuid.uuid4().hex[:8]}"
    yield name
    for image in docker_client.images.list(name=name):
        for tag in image.tags:
            remove_image(docker_client, tag)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch build context directory."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    return ctx


def copy_example(name: str, dest: Path) -> Path:
    """The example's build context, its `# syntax=` line naming the frontend under test."""
    shutil.copytree(REPO / "examples" / name, dest, dirs_exist_ok=True)
    dockerfile = dest / "Dockerfile"
    first, _, rest = dockerfile.read_text().partition("\n")
    if first.startswith("# syntax="):
        dockerfile.write_text(f"# syntax={FRONTEND}\n{rest}")
    return dest


def image_config(docker_client, ref: str) -> dict:
    return docker_client.api.inspect_image(ref)["Config"]


def remove_image(docker_client, ref: str) -> None:
    """Removes a local image; one that is not in the local store is fine."""
    try:
        docker_client.images.remove(ref, force=True)
    except docker.errors.APIError:
        pass


def image_layers(docker_client, ref: str) -> list[str]:
    return docker_client.api.inspect_image(ref)["RootFS"]["Layers"]


def history_labels(docker_client, ref: str) -> list[str]:
    """Labels of the package layers of `ref` (local), bottom to top, as its history names them:
    "idna 3.10", or a tiny bucket's "blinker 1.9.0, itsdangerous 2.2.0"."""
    return [h["CreatedBy"].removeprefix("pylayers: ") for h in docker_client.api.history(ref)[::-1]
            if h["CreatedBy"].startswith("pylayers: ")]


def label_parts(labels) -> list[str]:
    """Each package of layer labels: "blinker 1.9.0, itsdangerous 2.2.0" → both."""
    return [part for label in labels for part in label.split(", ")]


def one_page_window(seconds: int, margin: float = 120) -> tuple[str, str]:
    """The build arguments of a window of reused index pages (pagereuse.py) of `seconds`; waits
    for the next window first if this one ends within `margin` seconds (the test's builds)."""
    if seconds - time.time() % seconds < margin:
        time.sleep(seconds - time.time() % seconds + 1)
    return ("--build-arg", f"PYLAYERS_INDEX_MAX_AGE={seconds}")


def run(docker_client, ref: str, *cmd: str) -> str:
    out = docker_client.containers.run(ref, list(cmd), remove=True, stdout=True, stderr=True)
    return out.decode()


def registry_manifest(ref: str) -> dict:
    """The manifest of `ref` as the test registry serves it (platform manifest, not an index)."""
    proc = subprocess.run(["docker", "buildx", "imagetools", "inspect", "--raw", ref],
                          capture_output=True, text=True, check=True)
    manifest = json.loads(proc.stdout)
    if "manifests" in manifest:
        digest = next(m["digest"] for m in manifest["manifests"]
                      if m.get("platform", {}).get("architecture") not in (None, "unknown"))
        repo = ref.rsplit(":", 1)[0] if "@" not in ref else ref.split("@")[0]
        return registry_manifest(f"{repo}@{digest}")
    return manifest
