"""frontend.stepbuild: the plan's layers as LLB states, a shared install exec's layers included."""

from __future__ import annotations

import threading
from types import MappingProxyType, SimpleNamespace

import pytest

from frontend import llb, stepbuild
from frontend.dockerfile import find_install_steps
from frontend.errors import InputError
from frontend.plan import plan_layers
from frontend.resolve.wheels import PackageChoice
from frontend.solver import StageResult
from frontend.target import TargetEnv

SCHEME = {k: f"/opt/venv/{k}" for k in ("purelib", "platlib", "headers", "scripts", "data")}
TARGET = TargetEnv(markers=MappingProxyType({}), tags=(), python_version="3.13", python_full_version="3.13.1",
                   interpreter="/opt/venv/bin/python", base_interpreter="/usr/bin/python3.13",
                   scheme=MappingProxyType(SCHEME), libc="glibc 2.41", prefix="/opt/venv")
BASE = llb.image("localhost:5000/python:3.13-trixie")


class Solver:
    downloads = None
    config = SimpleNamespace(bytecode_cache=True)  # as by default: the cache mount in every install exec


def wheel(name: str) -> PackageChoice:
    return PackageChoice(name, "1.0", f"{name}-1.0-py3-none-any.whl", f"https://files.example/{name}.whl",
                         "0" * 64, "py3-none-any")


def test_layers_of_a_shared_exec_are_its_outputs_and_prebuild_gets_one_unit_per_exec():
    names = [f"pkg{i:02d}" for i in range(20)]
    sizes = {**{n: 100_000 for n in names}, "big": 30_000_000}
    plan = plan_layers([wheel(n) for n in (*names, "big")], "p", installed=sizes)
    states = stepbuild.package_layers(plan, BASE, TARGET, False, Solver(), None)
    assert [context for context, _, _ in states] == list(plan.contexts)
    shared = [group for group in plan.execs if len(group) > 1]
    assert shared and len(plan.execs) < len(plan.layers)
    for group in plan.execs:
        vertices = {states[i][2].source for i in group}
        assert len(vertices) == 1 and sorted(states[i][2].index for i in group) == list(range(len(group)))
    work = stepbuild.install_work(plan, sizes, [state for _, _, state in states])
    assert len(work) == len(plan.execs) and sorted(w for w, _ in work)[-1] == 30_000_000
    assert sum(w for w, _ in work) == sum(sizes.values())


def test_definitions_of_125_small_layers_in_shared_execs_fit_the_4_mib_message():
    """Each layer's context carries its whole exec (every wheel of its group): the delegated
    Solve holds them all, and Docker 26 takes at most 4 MiB. PyPI-long URLs."""
    def pypi(name: str) -> PackageChoice:
        url = f"https://files.pythonhosted.org/packages/ab/cd/{'e' * 60}/{name}-1.0-py3-none-any.whl"
        return PackageChoice(name, "1.0", f"{name}-1.0-py3-none-any.whl", url, "0" * 64, "py3-none-any")

    names = [f"some-package-name-{i:03d}" for i in range(125)]
    plan = plan_layers([pypi(n) for n in names], "p", max_layers=125, installed=dict.fromkeys(names, 100_000))
    assert len(plan.layers) == 125 and len(plan.execs) < 40
    states = stepbuild.package_layers(plan, BASE, TARGET, False, Solver(), None)
    total = sum(len(llb.marshal(state).SerializeToString()) for _, _, state in states)
    assert total < 3 << 20, total


class Stages:
    """A Dockerfile frontend that answers only once three solves are in flight at once."""

    def __init__(self, fail_without: bool = False) -> None:
        self.barrier = threading.Barrier(3, timeout=5)
        self.fail_without, self.asked = fail_without, []

    def solve_dockerfile(self, text: str, target: str, inputs, contexts=None, metadata=None) -> StageResult:
        self.asked.append(text)
        self.barrier.wait()  # BrokenBarrierError if they come one after the other
        if self.fail_without and "WORKDIR" in text and "COPY requirements.txt" not in text:
            raise InputError("Dockerfile", 4, "the stage without the requirements COPY failed")
        return StageResult(text, None, {"config": {}})  # the ref: the text solved


STAGES = """FROM localhost:5000/python:3.13-trixie
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
"""


def test_the_stage_its_from_and_the_probes_stage_are_solved_side_by_side():
    (step,) = find_install_steps(STAGES, "Dockerfile")
    solver = Stages()
    stage, base, probed = stepbuild.solve_stages(solver, STAGES, step, {}, {})
    assert len(solver.asked) == 3
    assert "COPY requirements.txt" in stage.ref_id and "WORKDIR" not in base.ref_id
    assert "WORKDIR" in probed().ref_id and "COPY requirements.txt" not in probed().ref_id


def test_an_error_of_the_probes_stage_comes_when_it_is_asked_for():
    (step,) = find_install_steps(STAGES, "Dockerfile")
    stage, base, probed = stepbuild.solve_stages(Stages(fail_without=True), STAGES, step, {}, {})
    assert "COPY requirements.txt" in stage.ref_id  # the stage and its FROM come; the error waits
    with pytest.raises(InputError, match="without the requirements COPY"):
        probed()
