"""stepwheels: the overlap check's METADATA handed to the dependency check (MetadataHandoff); the
requirement files read and the window's pages fetched before the probe (RequirementsAhead)."""

from __future__ import annotations

import threading
from types import MappingProxyType, SimpleNamespace

import pytest
from packaging.markers import default_environment

from frontend import llb, pagereuse
from frontend.dockerfile import find_install_steps
from frontend.errors import FrontendError, InputError
from frontend.resolve.wheels import PackageChoice
from frontend.solver import StageResult
from frontend.stepwheels import MetadataHandoff, RequirementsAhead, requirement_wheels
from frontend.target import TargetEnv


def choice(name: str, version: str = "1.0") -> PackageChoice:
    return PackageChoice(name, version, f"{name}-{version}-py3-none-any.whl", f"https://f/{name}.whl", "0" * 64,
                         "py3-none-any")


def test_nothing_expected_gives_nothing_without_waiting():
    assert MetadataHandoff()([choice("a")]) == {}


def test_the_dependency_check_waits_for_the_guess_and_gets_only_the_same_files():
    guess = (choice("a"), choice("b"))
    handoff = MetadataHandoff()
    handoff.expect(guess)
    got = []
    waiter = threading.Thread(target=lambda: got.append(handoff([choice("a"), choice("b", "2.0"), choice("c")])))
    waiter.start()
    handoff.publish((choice("a"),), {"a": b"not the guess"})  # another run's check: ignored
    waiter.join(0.2)
    assert waiter.is_alive() and not got
    handoff.publish(guess, {"a": b"Name: a\n", "b": b"Name: b\n"})
    waiter.join(5)
    assert got == [{"a": b"Name: a\n"}]  # b 2.0 is not the file the check read; c was not in it


def test_a_failed_check_publishes_nothing_and_the_metadata_is_fetched_as_before():
    handoff = MetadataHandoff()
    handoff.expect((choice("a"),))
    handoff.publish((choice("a"),), {})
    assert handoff([choice("a")]) == {}


# RequirementsAhead: the requirement files read and the window's pages fetched before the probe

DOCKERFILE = """FROM localhost:5000/python:3.13-trixie
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
"""
SIX_PAGE = (b'<a href="https://files.example/six-1.17.0-py2.py3-none-any.whl#sha256=' + b"b" * 64
            + b'">six-1.17.0-py2.py3-none-any.whl</a>')
TARGET = TargetEnv(markers=MappingProxyType({**default_environment(), "python_version": "3.13",
                                             "python_full_version": "3.13.1", "sys_platform": "linux"}),
                   tags=("py3-none-any",), python_version="3.13", python_full_version="3.13.1",
                   interpreter="/usr/bin/python3", base_interpreter="/usr/bin/python3.13",
                   scheme=MappingProxyType({}), libc="glibc 2.41", prefix="/usr")


class Solver:
    """Reads the stage's files; records the states built ahead and those solved for the pages."""

    fetch_files = wheel_metadata = None

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.config = SimpleNamespace(index_max_age=600, opts={}, build_args={})
        self.downloads = SimpleNamespace(reports_failures=False)
        self.built: list[object] = []
        self.solved: list[object] = []

    def read(self, ref: str, path: str) -> bytes:
        if path not in self.files:
            raise FrontendError(f"open {path}: no such file or directory")
        return self.files[path]

    def build_state(self, state) -> None:
        self.built.append(state)

    def solve_state(self, state) -> str:  # the window's exec, asked by reused_pages
        self.solved.append(state)
        raise FrontendError("the window's exec failed")  # the pages then come the usual way

    def fetch_pages(self, urls):
        return [SIX_PAGE for _ in urls]


def ahead_of(files: dict[str, bytes]):
    (step,) = find_install_steps(DOCKERFILE, "Dockerfile")
    stage = StageResult("stage", None, {"config": {"Env": ["PATH=/usr/bin:/bin"], "WorkingDir": "/app"}})
    solver = Solver(files)
    pages = pagereuse.window(solver, llb.image("localhost:5000/python:3.13-trixie"), stage.env, None)
    return solver, step, stage, pages, RequirementsAhead(solver, stage, step, "Dockerfile", DOCKERFILE, pages)


def test_the_window_built_ahead_is_the_one_the_wheels_are_then_chosen_from():
    solver, step, stage, pages, ahead = ahead_of({"/app/requirements.txt": b"six==1.17.0\n"})
    sets = ahead.sets()
    assert [p.name for s in sets for p in s.pins] == ["six"] and len(solver.built) == 1
    chosen = requirement_wheels(solver, stage, step, "Dockerfile", TARGET, DOCKERFILE, pages=pages, sets=sets)
    assert [c.filename for c in chosen] == ["six-1.17.0-py2.py3-none-any.whl"]
    (solved,) = solver.solved
    assert llb.marshal(solved) == llb.marshal(solver.built[0])  # one exec: the same cache key


def test_unpinned_requirements_build_no_window_ahead():
    solver, *_, ahead = ahead_of({"/app/requirements.txt": b"six>=1.0\n"})
    assert [p.name for s in ahead.sets() for p in s.pins] == ["six"] and solver.built == []


def test_a_missing_requirements_file_is_reported_when_the_sets_are_asked_for():
    solver, *_, ahead = ahead_of({})
    with pytest.raises(InputError) as err:
        ahead.sets()
    assert (err.value.file, err.value.line) == ("Dockerfile", 4) and solver.built == []
