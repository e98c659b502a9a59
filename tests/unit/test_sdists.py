"""frontend.sdists: the build environment solved once, METADATA read from the build, errors named."""

from __future__ import annotations

import json

import pytest

from frontend import layerdefs, llb
from frontend.errors import FrontendError, GatewayError
from frontend.resolve.wheels import PackageChoice
from frontend.sdists import SdistBuilds
from frontend.solver import StageResult

ENV = llb.image("localhost:5000/python:3.13-trixie").run(args=("apt-get", "install", "-y", "gcc")).root()
STAGE = StageResult("ref-env", llb.marshal(ENV), {"config": {"Env": ["PATH=/opt/venv/bin:/usr/bin"]}})


def sdist(name: str) -> PackageChoice:
    return PackageChoice(name, "1.0", f"{name}-1.0.tar.gz", f"https://files.example/{name}-1.0.tar.gz",
                         "ab" * 32, "source", sdist=True)


class Solver:
    downloads = None

    def __init__(self, fail: str | None = None, versions=None) -> None:
        self.fail, self.solved, self.versions = fail, [], versions or {}

    def solve_state(self, state) -> str:
        build = [e["op"]["exec"] for e in json.loads(llb.to_json(llb.marshal(state))) if "exec" in e["op"]][-1]
        name = build["meta"]["args"][-1]
        if self.fail and name.startswith(self.fail):
            raise GatewayError('process "/bin/sh -c …" did not complete successfully: exit code: 1')
        self.solved.append((name, build["meta"]["env"][0]))
        return name

    def read(self, ref: str, path: str) -> bytes:
        assert path == layerdefs.SDIST_METADATA
        name, version = ref.split()
        return f"Metadata-Version: 2.1\nName: {name}\nVersion: {self.versions.get(name, version)}\n".encode()


def test_metadata_of_each_sdist_from_its_build_on_the_environment_solved_once():
    solver, environments = Solver(), []
    builds = SdistBuilds(solver, lambda: environments.append(1) or STAGE)
    assert builds.metadata([sdist("a"), sdist("b")]) == [b"Metadata-Version: 2.1\nName: a\nVersion: 1.0\n",
                                                         b"Metadata-Version: 2.1\nName: b\nVersion: 1.0\n"]
    assert sorted(solver.solved) == [("a 1.0", "PATH=/opt/venv/bin:/usr/bin"), ("b 1.0", "PATH=/opt/venv/bin:/usr/bin")]
    assert environments == [1] and builds.metadata([]) == []
    wheel_dir = llb.to_json(llb.marshal(builds.wheel_dir(sdist("a"))))
    assert "apt-get" in wheel_dir and "/pylayers-wheel" in wheel_dir  # built on the environment


def test_a_failed_build_names_the_package_and_where_its_output_is():
    builds = SdistBuilds(Solver(fail="b"), lambda: STAGE)
    with pytest.raises(FrontendError) as info:
        builds.metadata([sdist("a"), sdist("b")])
    assert str(info.value).startswith(
        "building b 1.0 from its source distribution b-1.0.tar.gz failed (exit code: 1); no wheel of it fits "
        "the target. The end of the build's output is shown above under 'pylayers: build b 1.0 from "
        "b-1.0.tar.gz'.")


def test_a_wheel_of_another_version_than_the_sdist_says_is_refused_like_pip():
    builds = SdistBuilds(Solver(versions={"a": "1.0.0", "b": "0.9"}), lambda: STAGE)
    assert builds.metadata([sdist("a")])  # 1.0.0 == 1.0
    with pytest.raises(FrontendError) as info:
        builds.metadata([sdist("b")])
    assert str(info.value) == ("b-1.0.tar.gz has inconsistent metadata: expected b 1.0, but the wheel built from "
                               "it is b 0.9")
