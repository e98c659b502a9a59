"""One procedure for the interruption tests: a build is interrupted while BuildKit downloads a
wheel (the fault index sends it 1 KiB every 0.5 s), then the same build runs again; it must
succeed, build that package's layer itself (nothing half-done is reused) and give the same
layers as an uninterrupted build of the same wheels.

The interrupted build runs on a copy of the test base image that differs by one label (another
image digest, so none of its package layers can come from the reference's cache, but the same
files, so the layers must come out byte-identical); the reference runs on the base image itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable

from tests.e2e.conftest import BASE_313, FRONTEND, REGISTRY, buildx, image_layers, remove_image
from tests.e2e.progress import package_steps

from .faultindex import Fault, FaultServer

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
COPY requirements.txt /
RUN pip install --no-cache-dir --index-url {index} -r /requirements.txt
"""

# interrupt(client, fault, wheel_size): called once the wheel download is under way; interrupts
# the build its own way and checks what is particular to that way
Interrupt = Callable[[subprocess.Popen, Fault, int], None]


def wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def interrupted_build_rebuilds_the_same_image(label: str, interrupt: Interrupt, tmp_path: Path, workdir: Path,
                                              image_name: str, docker_client, request) -> None:
    marker = uuid.uuid4().hex
    labelled = tmp_path / "base"
    labelled.mkdir()
    (labelled / "Dockerfile").write_text(f"FROM {BASE_313}\nLABEL pylayers.test={label}-{marker}\n")
    base = f"{REGISTRY}/pylayers-e2e/{label}-base:{marker[:12]}"  # one repository for every run
    buildx(labelled, "--push", "-t", base).check()
    request.addfinalizer(lambda: remove_image(docker_client, base))

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
        log = tmp_path / f"{label}-build.log"
        with log.open("w") as out:
            client = subprocess.Popen(["docker", "buildx", "build", "--progress=plain", str(workdir)],
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            if not wait(lambda: fault.sent >= 4096, 600):
                os.killpg(client.pid, signal.SIGKILL)
                client.wait()
                raise AssertionError("the wheel download never started:\n" + log.read_text()[-3000:])
            interrupt(client, fault, len((index.root / "files" / wheel.rsplit("/", 1)[1]).read_bytes()))
        assert client.returncode is not None and client.returncode != 0, log.read_text()[-3000:]
        index.clear()

        after = buildx(workdir, "--load", "-t", f"{image_name}:after").check()
        dockerfile(BASE_313)
        reference = buildx(workdir, "--load", "-t", f"{image_name}:reference").check()

    assert not package_steps(after.output)["slowpkg 1.0"].cached  # nothing half-done was reused
    assert not package_steps(reference.output)["slowpkg 1.0"].cached  # the reference built it itself
    assert image_layers(docker_client, f"{image_name}:after") == image_layers(docker_client, f"{image_name}:reference")
    out = docker_client.containers.run(f"{image_name}:after", ["python", "-c", "import slowpkg; print(slowpkg.MARK)"],
                                       remove=True)
    assert out.decode().strip() == marker
