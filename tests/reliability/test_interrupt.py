"""A build whose client is killed while BuildKit downloads a wheel leaves no broken cache entry:
the next build succeeds, rebuilds that package's layer, and its image has the same layers as an
uninterrupted build.

The uninterrupted reference runs on the test base image; the interrupted build on a copy of it
that differs by one label (another image digest, so none of its package layers can come from the
reference's cache, but the same files, so the layers must come out byte-identical).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import docker

from tests.e2e.conftest import BASE_313, FRONTEND, REGISTRY, buildx, image_layers
from tests.e2e.progress import package_steps

from .faultindex import Fault, FaultServer

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
COPY requirements.txt /
RUN pip install --no-cache-dir --index-url {index} -r /requirements.txt
"""


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _remove(docker_client, ref: str) -> None:
    try:
        docker_client.images.remove(ref, force=True)
    except docker.errors.APIError:
        pass


def test_a_build_killed_mid_download_leaves_a_cache_that_builds_the_same_image(
        tmp_path, workdir, image_name, docker_client, request):
    marker = uuid.uuid4().hex
    labelled = tmp_path / "base"
    labelled.mkdir()
    (labelled / "Dockerfile").write_text(f"FROM {BASE_313}\nLABEL pylayers.test={marker}\n")
    base = f"{REGISTRY}/pylayers-e2e/interrupt-base:{marker[:12]}"  # one repository for every run
    buildx(labelled, "--push", "-t", base).check()
    request.addfinalizer(lambda: _remove(docker_client, base))

    with FaultServer(tmp_path / "index") as index:
        index.add("quick", "1.0")
        payload = os.urandom(48 << 10).hex()[: 48 << 10]  # incompressible: the wheel stays ~36 KiB
        index.add("slowpkg", "1.0", files={"slowpkg/__init__.py": f"MARK = {marker!r}\nPAD = {payload!r}\n".encode()})
        wheel = index.file_url("slowpkg-1.0-py3-none-any.whl")
        fault = index.inject(wheel, Fault("slow", delay=0.5))  # ~20 s for the whole wheel
        # a line of its own per run: no earlier run's COPY of this file (another mtime) is reused
        (workdir / "requirements.txt").write_text(f"# run {marker}\nquick==1.0\nslowpkg==1.0\n")

        def dockerfile(base_image: str) -> None:
            (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=base_image, index=index.url))

        dockerfile(base)
        log = tmp_path / "killed-build.log"
        with log.open("w") as out:
            client = subprocess.Popen(["docker", "buildx", "build", "--progress=plain", str(workdir)],
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            started = _wait(lambda: fault.sent >= 4096, 600)
            os.killpg(client.pid, signal.SIGKILL)  # docker and its buildx plugin: the client, killed
            client.wait()
        assert started, "the wheel download never started:\n" + log.read_text()[-3000:]
        assert _wait(lambda: fault.aborted, 120), f"BuildKit kept downloading after the kill ({fault})"
        sent_when_killed = fault.sent
        index.clear()

        after = buildx(workdir, "--load", "-t", f"{image_name}:after").check()
        dockerfile(BASE_313)
        reference = buildx(workdir, "--load", "-t", f"{image_name}:reference").check()

    assert sent_when_killed < len((index.root / "files" / wheel.rsplit("/", 1)[1]).read_bytes())
    assert not package_steps(after.output)["slowpkg 1.0"].cached  # nothing half-done was reused
    assert not package_steps(reference.output)["slowpkg 1.0"].cached  # the reference built it itself
    assert image_layers(docker_client, f"{image_name}:after") == image_layers(docker_client, f"{image_name}:reference")
    out = docker_client.containers.run(f"{image_name}:after", ["python", "-c", "import slowpkg; print(slowpkg.MARK)"],
                                       remove=True)
    assert out.decode().strip() == marker
