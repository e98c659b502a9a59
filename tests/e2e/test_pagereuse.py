"""Index pages reused by the builds of a window (pagereuse.py), on the real engine: a rebuild
asks the index for no page, a version published within the window is still found, and
PYLAYERS_INDEX_MAX_AGE=0 asks for every page again.

The index is a local one on the daemon's loopback, so the step runs with --network=host (the
page exec must reach it, as the daemon's http sources do).
"""

from __future__ import annotations

import uuid

import pytest

from .conftest import BASE_313, FRONTEND, buildx, one_page_window, run
from .localindex import serve
from .progress import vertices

WINDOW = 86400  # one window for the whole test: builds a day apart would be in two
CHECK = "import tinywheel, otherwheel; print(tinywheel.VERSION, otherwheel.VERSION)"


@pytest.fixture
def index(tmp_path, testbed):
    idx, server = serve(tmp_path / "index")
    salt = uuid.uuid4().hex  # new wheels, so cold layers, in every session
    for name in ("tinywheel", "otherwheel"):
        idx.add(name, "1.0", files={f"{name}/__init__.py": f"VERSION = '1.0'\nSALT = {salt!r}\n".encode()})
    yield idx, server, salt
    server.shutdown()


def context(workdir, idx, tiny: str):
    (workdir / "requirements.txt").write_text(f"tinywheel=={tiny}\notherwheel==1.0\n")
    (workdir / "Dockerfile").write_text(
        f"# syntax={FRONTEND}\nFROM {BASE_313}\nCOPY requirements.txt .\n"
        f"RUN --network=host pip install --index-url {idx.url} -r requirements.txt\n")
    return workdir


def pages_asked(server, since: int) -> list[str]:
    return sorted({path for path, _ in server.requests[since:] if path.startswith("/simple/")})


def build(workdir, image: str, *args: str):
    return buildx(workdir, "--allow", "network.host", "--load", "-t", image, *args).check()


def test_a_rebuild_asks_for_no_page_and_a_version_published_since_is_still_found(
        index, workdir, image_name, docker_client):
    idx, server, salt = index
    window = one_page_window(WINDOW)
    build(context(workdir, idx, "1.0"), f"{image_name}:1", *window)
    assert pages_asked(server, 0) == ["/simple/otherwheel/", "/simple/tinywheel/"]

    since = len(server.requests)
    (workdir / "Dockerfile").write_text((workdir / "Dockerfile").read_text() + "ENV REBUILT=1\n")
    build(workdir, f"{image_name}:2", *window)
    assert pages_asked(server, since) == []  # within the window: the pages of the first build

    idx.add("tinywheel", "1.1", files={"tinywheel/__init__.py": f"VERSION = '1.1'\nSALT = {salt!r}\n".encode()})
    since = len(server.requests)
    build(context(workdir, idx, "1.1"), f"{image_name}:3", *window)
    assert "/simple/tinywheel/" in pages_asked(server, since)  # 1.1 is not on the reused page: asked again
    assert run(docker_client, f"{image_name}:3", "python", "-c", CHECK).split() == ["1.1", "1.0"]

    since = len(server.requests)
    build(workdir, f"{image_name}:4", "--build-arg", "PYLAYERS_INDEX_MAX_AGE=0")
    assert pages_asked(server, since) == ["/simple/otherwheel/", "/simple/tinywheel/"]


def test_the_window_fetches_the_pages_of_pins_the_target_leaves_out(index, workdir, image_name):
    """The window's exec starts beside the probe, before the markers can be evaluated: it fetches
    the page of a pin for another platform too, and a rebuild still asks for no page."""
    idx, server, _ = index
    window = one_page_window(WINDOW)
    context(workdir, idx, "1.0")
    (workdir / "requirements.txt").write_text("tinywheel==1.0\notherwheel==1.0\n"
                                              "winwheel==1.0 ; sys_platform == 'win32'\n")
    build(workdir, f"{image_name}:1", *window)
    assert pages_asked(server, 0) == ["/simple/otherwheel/", "/simple/tinywheel/", "/simple/winwheel/"]
    since = len(server.requests)
    (workdir / "Dockerfile").write_text((workdir / "Dockerfile").read_text() + "ENV REBUILT=1\n")
    build(workdir, f"{image_name}:2", *window)
    assert pages_asked(server, since) == []


@pytest.mark.parametrize("python", [
    "",  # none on the PATH: the venv's python3 stays, off the PATH; /usr/bin's goes
    "printf '#!/bin/sh\\nexit 3\\n' > /usr/local/bin/python3 && chmod +x /usr/local/bin/python3 && ",  # too old
], ids=["no-python3", "a-python3-that-fails"])
def test_without_a_python_for_the_window_the_pages_come_the_usual_way(
        python, index, workdir, image_name, docker_client):
    """The window's exec runs the python3 on the base image's PATH; without one that runs
    netfetch.py it ends with no pages (kept for the window, not an error), and every build
    fetches its pages itself."""
    idx, server, _ = index
    window = one_page_window(WINDOW)
    context(workdir, idx, "1.0")
    (workdir / "Dockerfile").write_text(
        f"# syntax={FRONTEND}\nFROM {BASE_313} AS nopy\n"
        f"RUN {python}ln -sf /usr/bin/python3.13 /opt/venv/bin/python3 && rm /usr/bin/python3\n"
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nFROM nopy\n"
        f"COPY requirements.txt .\nRUN --network=host /opt/venv/bin/pip install --index-url {idx.url} "
        "-r requirements.txt\n")
    for attempt in (1, 2):
        since = len(server.requests)
        result = build(workdir, f"{image_name}:{attempt}", *window)
        assert pages_asked(server, since) == ["/simple/otherwheel/", "/simple/tinywheel/"]
        (exec_,) = [v for v in vertices(result.output) if "index pages, reused by the builds" in v.name]
        assert exec_.ran if attempt == 1 else exec_.cached  # its empty answer kept for the window
        if attempt == 1:
            said = "could not fetch index pages for the window (status 3)" if python else "no python3 on the PATH"
            assert said in result.output
    assert run(docker_client, f"{image_name}:2", "/opt/venv/bin/python", "-c", CHECK).split() == ["1.0", "1.0"]
