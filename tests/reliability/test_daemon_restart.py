"""The daemon dies (SIGKILL) while BuildKit downloads a wheel for a build: once the daemon is back,
the same build succeeds, builds that package's layer itself (nothing half-written is reused), and
its image has the same layers as an uninterrupted build of the same wheels (interruption.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.e2e.conftest import REPO

from .interruption import interrupted_build_rebuilds_the_same_image, wait

DOCKERD_PID = Path("/var/lib/pylayers-testbed/dockerd.pid")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def _kill_daemon(client, fault, wheel_size: int) -> None:
    """SIGKILL to dockerd (a crash: no shutdown of its builds); `scripts/testbed up` starts it again
    (and drops the pid file while the killed process is a zombie not reaped yet)."""
    pid = int(DOCKERD_PID.read_text())
    os.kill(pid, signal.SIGKILL)
    assert wait(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 60), "dockerd survived SIGKILL"
    client.wait(timeout=120)
    restarted = subprocess.run([str(REPO / "scripts" / "testbed"), "up"], capture_output=True, text=True)
    assert restarted.returncode == 0, restarted.stderr[-3000:]


def test_a_daemon_killed_mid_download_leaves_a_cache_that_builds_the_same_image(
        tmp_path, workdir, image_name, docker_client, request):
    interrupted_build_rebuilds_the_same_image("restart", _kill_daemon, tmp_path, workdir, image_name,
                                              docker_client, request)
