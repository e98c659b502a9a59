"""The frontend image and process: no pip in the image, and under BuildKit (which starts image
frontends as root whatever USER says) the frontend runs as 65532:65532."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import BASE_313, FRONTEND

from .faultindex import Fault, FaultServer

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
COPY requirements.txt /
RUN pip install --no-cache-dir --index-url {index} -r /requirements.txt
"""


def _frontend_process(marker: str, deadline: float) -> int | None:
    """The pid of the process whose environment holds our build argument."""
    needle = f"build-arg:PYLAYERS_TEST_ID={marker}".encode()
    while time.monotonic() < deadline:
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if needle in environ.read_bytes():
                    return int(environ.parent.name)
            except OSError:
                continue
        time.sleep(0.2)
    return None


def _ids(pid: int) -> dict[str, list[int]]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: [int(v) for v in rest.split()] for k, _, rest in (line.partition(":") for line in lines)
            if k in ("Uid", "Gid", "Groups")}


def test_the_frontend_runs_unprivileged_under_buildkit(tmp_path, workdir, testbed):
    marker = uuid.uuid4().hex
    with FaultServer(tmp_path / "index") as index:
        index.add("stalled", "1.0")
        fault = index.inject(index.page_url("stalled"), Fault("stall", times=1))  # holds the frontend
        (workdir / "requirements.txt").write_text("stalled==1.0\n")
        (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url))
        build = subprocess.Popen(["docker", "buildx", "build", "--progress=plain", "--build-arg",
                                  f"PYLAYERS_TEST_ID={marker}", str(workdir)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 120
            pid = _frontend_process(marker, deadline)
            while fault.hits == 0 and time.monotonic() < deadline:  # the frontend waits on the stall
                time.sleep(0.2)
            ids = _ids(pid) if pid else {}
        finally:
            index.clear()  # the stalled request ends; the frontend's retry gets the page
            output, _ = build.communicate(timeout=300)
    assert pid is not None, output[-3000:]
    assert ids == {"Uid": [65532] * 4, "Gid": [65532] * 4, "Groups": []}
    assert build.returncode == 0 and fault.hits == 1, output[-3000:]


def test_the_image_has_no_installer_and_a_non_root_user(docker_client):
    docker_client.images.pull(FRONTEND)
    assert docker_client.api.inspect_image(FRONTEND)["Config"]["User"] == "65532:65532"
    script = ("import importlib.util as u, os; "
              "print(os.getuid(), [m for m in ('pip', 'setuptools', 'wheel') if u.find_spec(m)])")
    for python in ("python3", "/opt/pylayers/bin/python"):
        out = docker_client.containers.run(FRONTEND, [python, "-c", script], entrypoint="", remove=True)
        assert out.decode().strip() == "65532 []", python
