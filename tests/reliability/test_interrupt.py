"""A build whose client is killed while BuildKit downloads a wheel leaves no broken cache entry:
the next build succeeds, rebuilds that package's layer, and its image has the same layers as an
uninterrupted build (interruption.py)."""

from __future__ import annotations

import os
import signal

from .interruption import interrupted_build_rebuilds_the_same_image, wait


def _kill_client(client, fault, wheel_size: int) -> None:
    os.killpg(client.pid, signal.SIGKILL)  # docker and its buildx plugin: the client, killed
    client.wait()
    assert wait(lambda: fault.aborted, 120), f"BuildKit kept downloading after the kill ({fault})"
    assert fault.sent < wheel_size


def test_a_build_killed_mid_download_leaves_a_cache_that_builds_the_same_image(
        tmp_path, workdir, image_name, docker_client, request):
    interrupted_build_rebuilds_the_same_image("interrupt", _kill_client, tmp_path, workdir, image_name,
                                              docker_client, request)
