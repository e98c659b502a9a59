"""frontend.lockstep: where uv sync, poetry and uv pip install (the environment decisions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from frontend import dockerfile
from frontend.errors import FrontendError, InputError
from frontend.lockstep import Environment, environment


@dataclass
class Client:
    warnings: list = field(default_factory=list)

    def warn(self, message):
        self.warnings.append(message)


@dataclass
class Solver:
    files: dict
    client: Client = field(default_factory=Client)

    def exists(self, ref, path):
        return path in self.files

    def read(self, ref, path):
        if path not in self.files:
            raise FrontendError(f"open {path}: no such file")
        return self.files[path]


@dataclass(frozen=True)
class Stage:
    env: tuple = ()
    workdir: str = "/app"
    ref_id: str = "ref"


def decide(run: str, env=(), files=None):
    (step,) = dockerfile.find_install_steps(f"FROM python\n{run}\n", "Dockerfile")
    solver = Solver(files or {})
    return environment(solver, Stage(tuple(env)), step, "Dockerfile"), solver


def test_uv_sync_uses_the_project_environment_and_creates_it_when_missing():
    assert decide("RUN uv sync --frozen")[0] == Environment(("/app/.venv/bin/python3", "python"), "/app/.venv", True)
    found, _ = decide("RUN uv sync --frozen", ["UV_PROJECT_ENVIRONMENT=/opt/venv"], {"/opt/venv/bin/python3": b""})
    assert found == Environment(("/opt/venv/bin/python3", "python"), "/opt/venv", False)
    assert decide("RUN uv sync --frozen", ["UV_PROJECT_ENVIRONMENT=env"])[0].path == "/app/env"
    assert decide("RUN uv sync", ["UV_FROZEN=1"])[0].create


def test_uv_sync_that_may_relock_runs_as_written_with_a_warning():
    found, solver = decide("RUN uv sync --no-install-project")
    assert found is None
    assert solver.client.warnings == ["Dockerfile:2: `uv sync` without --frozen or --locked may change uv.lock: "
                                      "it runs as written (add --frozen for one layer per package)"]


def test_poetry_environments():
    assert decide("RUN poetry install --no-root", ["VIRTUAL_ENV=/opt/venv"])[0].interpreter == (
        "/opt/venv/bin/python3", "python")
    assert decide("RUN poetry install --no-root", ["POETRY_VIRTUALENVS_CREATE=false"])[0] == Environment(
        ("python3", "python"))
    config = {"/root/.config/pypoetry/config.toml": b"[virtualenvs]\ncreate = false\n"}
    assert decide("RUN poetry install --no-root", files=config)[0] == Environment(("python3", "python"))
    local = {"/app/poetry.toml": b"[virtualenvs]\nin-project = true\n"}
    assert decide("RUN poetry install --no-root", files=local)[0] == Environment(
        ("/app/.venv/bin/python3", "python"), "/app/.venv", True)
    assert decide("RUN poetry install --no-root", ["POETRY_VIRTUALENVS_IN_PROJECT=true"], config)[0].path is None
    with pytest.raises(InputError) as info:
        decide("RUN poetry install --no-root")
    assert str(info.value) == (
        "Dockerfile:2: poetry would install into a virtual environment of its cache directory, which "
        "pylayers does not support: set ENV POETRY_VIRTUALENVS_CREATE=false (or "
        "POETRY_VIRTUALENVS_IN_PROJECT=true) before this step")


def test_uv_pip_environments():
    assert decide("RUN uv pip install -r r.txt", ["VIRTUAL_ENV=/v"])[0].interpreter == ("/v/bin/python3", "python")
    assert decide("RUN uv pip install -r r.txt", ["UV_SYSTEM_PYTHON=true"])[0].interpreter == ("python3", "python")
    assert decide("RUN uv pip install -r r.txt", files={"/app/.venv/bin/python3": b""})[0].interpreter == (
        "/app/.venv/bin/python3", "python")
    assert decide("RUN uv pip install --system -r r.txt")[0].interpreter == ("python3", "python")
    with pytest.raises(InputError) as info:
        decide("RUN uv pip install -r r.txt")
    assert str(info.value) == ("Dockerfile:2: uv pip needs a virtual environment: set VIRTUAL_ENV, create .venv "
                               "in the WORKDIR, or use --system (or UV_SYSTEM_PYTHON=1)")


def test_packages_the_stage_has_already_are_skipped():
    from types import MappingProxyType
    from frontend.lockstep import not_installed
    from frontend.resolve.wheels import PackageChoice

    def choice(name, filename):
        return PackageChoice(name, filename.split("-")[1], filename, "https://x/" + filename, "0" * 64, "py3-none-any")

    site = "/opt/app/lib/python3.13/site-packages"
    target = type("T", (), {"scheme": MappingProxyType({"purelib": site, "platlib": site})})()
    solver = Solver({f"{site}/six-1.17.0.dist-info": b"", f"{site}/attrs-25.3.0.dist-info": b""})
    packages = (choice("attrs", "attrs-25.4.0-py3-none-any.whl"), choice("six", "six-1.17.0-py2.py3-none-any.whl"),
                choice("tomli-w", "tomli_w-1.2.0-py3-none-any.whl"))
    assert [p.name for p in not_installed(solver, Stage(), target, packages)] == ["attrs", "tomli-w"]
