"""The daemon dies (SIGKILL) while BuildKit downloads a wheel for a build: once the daemon is back,
the same build succeeds, builds that package's layer itself (nothing half-written is reused), and
its image has the same layers as an uninterrupted build of the same wheels (see test_interrupt.py
for the labelled copy of the base image that keeps the two builds' caches apart).
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

from tests.e2e.conftest import BASE_313, FRONTEND, REGISTRY, REPO, buildx, image_layers
from tests.e2e.progress import package_steps

from .faultindex import Fault, FaultServer
from .test_interrupt import DOCKERFILE, _remove, _wait

DOCKERD_PID = Path("/var/lib/pylayers-testbed/dockerd.pid")


def _kill_daemon() -> int:
    """SIGKILL to dockerd (a crash: no shutdown of its builds); `scripts/testbed up` starts it again
    (and drops the pid file while the killed process is a zombie not reaped yet)."""
    pid = int(DOCKERD_PID.read_text())
    os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 60), "dockerd survived SIGKILL"
    return pid


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_a_daemon_killed_mid_download_leaves_a_cache_that_builds_the_same_image(
        tmp_path, workdir, image_name, docker_client, request):
    marker = uuid.uuid4().hex
    labelled = tmp_path / "base"
    labelled.mkdir()
    (labelled / "Dockerfile").write_text(f"FROM {BASE_313}\nLABEL pylayers.test=restart-{marker}\n")
    base = f"{REGISTRY}/pylayers-e2e/restart-base:{marker[:12]}"
    buildx(labelled, "--push", "-t", base).check()
    request.addfinalizer(lambda: _remove(docker_client, base))

    with FaultServer(tmp_path / "index") as index:
        index.add("quick", "1.0")
        payload = os.urandom(48 << 10).hex()[: 48 << 10]
        index.add("slowpkg", "1.0", files={"slowpkg/__init__.py": f"MARK = {marker!r}\nPAD = {payload!r}\n".encode()})
        wheel = index.file_url("slowpkg-1.0-py3-none-any.whl")
        fault = index.inject(wheel, Fault("slow", delay=0.5))
        # a line of its own per run: no earlier run's COPY of this file (another mtime) is reused
        (workdir / "requirements.txt").write_text(f"# run {marker}\nquick==1.0\nslowpkg==1.0\n")

        def dockerfile(base_image: str) -> None:
            (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=base_image, index=index.url))

        dockerfile(base)
        log = tmp_path / "crashed-build.log"
        with log.open("w") as out:
            client = subprocess.Popen(["docker", "buildx", "build", "--progress=plain", str(workdir)],
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            started = _wait(lambda: fault.sent >= 4096, 600)
            if started:
                _kill_daemon()
            status = client.wait(timeout=120)
        restarted = subprocess.run([str(REPO / "scripts" / "testbed"), "up"], capture_output=True, text=True)
        assert restarted.returncode == 0, restarted.stderr[-3000:]
        assert started, "the wheel download never started:\n" + log.read_text()[-3000:]
        assert status != 0, log.read_text()[-3000:]
        index.clear()

        after = buildx(workdir, "--load", "-t", f"{image_name}:after").check()
        dockerfile(BASE_313)
        reference = buildx(workdir, "--load", "-t", f"{image_name}:reference").check()

    assert not package_steps(after.output)["slowpkg 1.0"].cached
    assert not package_steps(reference.output)["slowpkg 1.0"].cached
    assert image_layers(docker_client, f"{image_name}:after") == image_layers(docker_client, f"{image_name}:reference")
    out = docker_client.containers.run(f"{image_name}:after", ["python", "-c", "import slowpkg; print(slowpkg.MARK)"],
                                       remove=True)
    assert out.decode().strip() == marker
