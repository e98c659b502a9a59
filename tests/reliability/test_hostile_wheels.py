"""Hostile wheels served by a local index: each build fails naming the wheel and the entry, and
no image is written. The installer refuses them before writing (tests/unit/test_installer.py);
here the whole path runs: index page → http source with its sha256 → install exec → the message
in the user's build output."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import BASE_313, FRONTEND, buildx
from tests.e2e.localindex import serve

from .hostile import CASES

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
COPY requirements.txt /
RUN pip install --no-cache-dir --index-url {index} -r /requirements.txt
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    idx, server = serve(tmp_path_factory.mktemp("hostile"))
    idx.add("fine", "1.0")
    wheels = {}
    for case, (make, _) in CASES.items():
        name = "hostile-" + case.replace("_", "-")
        filename, data = make(name, "1.0")
        idx.add_file(name, filename, data)
        wheels[case] = (name, filename)
    yield idx, wheels
    server.shutdown()


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_wheel_fails_the_build_naming_wheel_and_entry(case, index, workdir, image_name, docker_client):
    idx, wheels = index
    name, filename = wheels[case]
    (workdir / "requirements.txt").write_text(f"fine==1.0\n{name}==1.0\n")
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=idx.url))
    result = buildx(workdir, "--load", "-t", f"{image_name}:x")
    assert result.returncode != 0, result.output[-3000:]
    assert CASES[case][1](name, "1.0", filename) in result.output, result.output[-3000:]
    # the failing vertex names the package: its own layer (the plan puts the bigger of the two
    # first) or, both being tiny, the bucket it shares with fine (docs/design.md)
    failing = rf"pylayers ([12]/2 |1/1 fine 1\.0, ){name} 1\.0 \(py3 any\)"
    assert re.search(failing, result.output), result.output[-3000:]
    assert docker_client.images.list(name=image_name) == []
