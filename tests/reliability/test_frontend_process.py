"""The frontend image and process: no pip in the image, and under BuildKit (which starts image
frontends as root whatever USER says) the frontend runs as 65532:65532."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

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


def test_the_frontend_image_runs_on_a_read_only_root_without_network(docker_client):
    """The frontend image, started by `docker run --read-only --network none` as its USER, speaks
    to an LLBBridge (tests/unit/fakegateway.py) over its stdin/stdout and returns the delegated
    result: it needs no writable file and no network (its gRPC socket is an abstract one)."""
    from frontend.solver import dockerfile_input
    from tests.unit.fakegateway import FakeBridge, Served

    text = f"FROM {BASE_313}\nRUN echo no install step here\n"
    bridge = FakeBridge(files={("ref-1", "Dockerfile"): text.encode()}, inputs={"dockerfile": dockerfile_input(text)})
    served = Served(bridge)
    proc = subprocess.Popen(["docker", "run", "-i", "--rm", "--read-only", "--network", "none",
                             "-e", "BUILDKIT_FRONTEND_OPT_0=build-arg:PYLAYERS_LOG=DEBUG", FRONTEND],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(served.target.removeprefix("unix:"))

    def pump(read, write) -> None:
        try:
            while data := read(1 << 16):
                write(data)
        except (OSError, ValueError):  # the other side went away
            pass

    def to_frontend(data: bytes) -> None:
        proc.stdin.write(data)
        proc.stdin.flush()

    threading.Thread(target=pump, args=(proc.stdout.read1, sock.sendall), daemon=True).start()
    threading.Thread(target=pump, args=(sock.recv, to_frontend), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        while not bridge.returns and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        sock.shutdown(socket.SHUT_RDWR)  # BuildKit hangs up after Return: the frontend exits
        proc.wait(timeout=60)
        err = proc.stderr.read().decode()
    finally:
        sock.close()
        served.stop()
    assert len(bridge.returns) == 1, err[-3000:]
    result = bridge.returns[0]
    assert result.HasField("result") and not result.error.message, (result, err[-3000:])
    assert [s.Frontend for s in bridge.solves] == ["", "dockerfile.v0"], err[-3000:]
    assert proc.returncode == 0, err[-3000:]
