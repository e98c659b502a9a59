"""prebuild: layers built a few at a time, biggest first, before the delegated solve."""

from __future__ import annotations

import threading

import pytest

from frontend import llb, prebuild
from frontend.errors import FrontendError

MB = 1 << 20


def test_big_layers_go_alone_biggest_first_and_small_ones_together():
    layers = [(1 * MB, "a"), (30 * MB, "pandas"), (3 * MB, "b"), (12 * MB, "numpy"), (5 * MB, "c"), (2 * MB, "d")]
    assert prebuild.batches(layers) == [["pandas"], ["numpy"], ["c", "b"], ["d", "a"]]


def test_every_layer_is_in_exactly_one_batch():
    layers = [(n * 100_000, f"l{n}") for n in range(200)]
    found = [s for batch in prebuild.batches(layers) for s in batch]
    assert sorted(found) == sorted(s for _, s in layers)


class Solver:
    def __init__(self, fail_on: str | None = None):
        self.built: list[tuple[str, ...]] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def build_state(self, state):
        names = tuple(sorted(f.op.file.actions[0].mkfile.path for f in _leaves(state)))
        with self.lock:
            self.built.append(names)
        if self.fail_on in names:
            raise FrontendError("exit code: 2")


def _leaves(state):
    vertex = state.source
    return [vertex] if vertex.op.WhichOneof("op") == "file" else [i.source for i in vertex.inputs]


def _layer(name: str):
    return llb.scratch().mkfile(name, b"x")


def test_each_batch_is_built_and_a_failure_is_left_to_the_delegated_solve(monkeypatch):
    monkeypatch.setattr(prebuild, "workers", lambda: 1)
    layers = [(20 * MB, _layer("/big")), (MB, _layer("/s1")), (MB, _layer("/s2")), (30 * MB, _layer("/bigger"))]
    solver = Solver()
    prebuild.prebuild(solver, layers)
    assert solver.built == [("/bigger",), ("/big",), ("/s1", "/s2")]
    failing = Solver(fail_on="/bigger")
    prebuild.prebuild(failing, layers)  # no exception: the delegated solve reports it
    assert failing.built == [("/bigger",)]  # and nothing more is built after it


def test_a_few_layers_are_left_to_buildkit():
    solver = Solver()
    prebuild.prebuild(solver, [(MB, _layer(f"/l{i}")) for i in range(prebuild.MIN_LAYERS - 1)])
    assert solver.built == []


def test_ahead_uses_the_early_result_when_the_guess_was_right_and_redoes_it_otherwise():
    calls = []

    def work(x):
        calls.append(x)
        if x == "bad":
            raise FrontendError("clash")
        return x * 2

    right = prebuild.Ahead(work)
    right.start("ab")
    assert right.result("ab") == "abab" and calls == ["ab"]
    wrong = prebuild.Ahead(work)
    wrong.start("bad")  # its error is not the answer: the real input is another one
    assert wrong.result("cd") == "cdcd" and calls == ["ab", "bad", "cd"]
    never = prebuild.Ahead(work)
    assert never.result("ef") == "efef"
    failing = prebuild.Ahead(work)
    failing.start("bad")
    with pytest.raises(FrontendError, match="clash"):
        failing.result("bad")
