"""frontend.dockerfile.lockargs (through find_install_steps): uv sync, uv pip, poetry install, pylock."""

from __future__ import annotations

import pytest

from frontend import dockerfile
from frontend.dockerfile.model import LockOptions
from frontend.errors import InputError


def step(run: str):
    (found,) = dockerfile.find_install_steps(f"FROM python:3.13\nWORKDIR /app\n{run}\n", "Dockerfile")
    return found


def error(run: str) -> str:
    with pytest.raises(InputError) as info:
        dockerfile.find_install_steps(f"FROM python:3.13\nWORKDIR /app\n{run}\n", "Dockerfile")
    return str(info.value)


def test_uv_sync():
    found = step("RUN uv sync --frozen --no-dev --extra a --extra=b --group g --no-install-project")
    assert found.interpreter == ("uv", "project")
    assert found.lock == LockOptions("uv", "uv.lock", extras=("a", "b"), groups=("g",), without_groups=("dev",),
                                     install_project=False)
    assert step("RUN uv sync --locked --only-dev").lock.only_groups == ("dev",)
    assert step("RUN uv sync").lock.frozen is False  # decided with the stage's UV_FROZEN/UV_LOCKED
    assert step("RUN uv sync --frozen --only-group docs --all-extras").lock == LockOptions(
        "uv", "uv.lock", only_groups=("docs",), all_extras=True)


def test_poetry():
    found = step("RUN poetry install --no-root --without dev,docs --with lint -E 'a b' --no-interaction")
    assert found.interpreter == ("poetry", "project")
    assert found.lock == LockOptions("poetry", "poetry.lock", extras=("a", "b"), groups=("lint",),
                                     without_groups=("dev", "docs"), install_project=False)
    assert step("RUN poetry sync --only main").lock.only_groups == ("main",)
    assert step("RUN poetry install --no-dev --no-root").lock.without_groups == ("dev",)


def test_pylock_files():
    assert step("RUN pip install -r pylock.toml").lock == LockOptions("pylock", "pylock.toml")
    assert step("RUN python3 -m pip install -r /x/pylock.web.toml").lock == LockOptions("pylock", "/x/pylock.web.toml")
    found = step("RUN uv pip install --system -r pylock.toml")
    assert found.interpreter == ("python3", "python") and found.lock == LockOptions("pylock", "pylock.toml")
    assert step("RUN uv pip sync --python /opt/venv/bin/python pylock.toml").interpreter == ("/opt/venv/bin/python",
                                                                                           "python")


def test_uv_pip_requirements():
    found = step("RUN uv pip install -r requirements.txt --index-url https://mirror.example/simple/")
    assert found.interpreter == ("uv", "uv-pip") and found.lock is None
    assert (found.options.requirements, found.options.index_url) == (("requirements.txt",), "https://mirror.example/simple/")
    found = step("RUN uv pip sync a.txt b.txt -c c.txt --link-mode copy")
    assert (found.options.requirements, found.options.constraints) == (("a.txt", "b.txt"), ("c.txt",))


def test_not_ours():
    for run in ("RUN uv pip install flask", "RUN uv lock", "RUN poetry add requests", "RUN uv run app.py",
                "RUN pip install -r a.txt && pip install -r b.txt", "RUN uv sync --frozen; echo",
                "RUN pip install -r a.txt && poetry install --no-root", "RUN uv sync --frozen && uv sync --frozen"):
        assert dockerfile.find_install_steps(f"FROM python:3.13\n{run}\n", "Dockerfile") == ()


def test_the_tool_installed_in_the_same_run():
    found = step("RUN pip install poetry==2.1.3 && poetry config virtualenvs.create false "
                 "&& poetry install --no-root --no-interaction && rm -rf /root/.cache")
    assert found.lock == LockOptions("poetry", "poetry.lock", install_project=False)
    assert (found.before, found.after) == ("pip install poetry==2.1.3 && poetry config virtualenvs.create false",
                                           "rm -rf /root/.cache")
    found = step("RUN pip install uv && uv sync --frozen --no-install-project")
    assert (found.interpreter, found.before) == (("uv", "project"), "pip install uv")


def test_options_pylayers_cannot_honour_name_the_line():
    tail = ("(pylayers installs the lock as it is; build with --build-arg PYLAYERS_DISABLE=1 to run this "
            "step as written)")
    assert error("RUN uv sync --frozen --python 3.12") == (
        f"Dockerfile:3: uv sync --frozen --python 3.12: option '--python' is not supported by pylayers {tail}")
    assert error("RUN poetry install --dry-run") == (
        f"Dockerfile:3: poetry install --dry-run: option '--dry-run' is not supported by pylayers {tail}")
    assert error("RUN uv sync --frozen --extra") == f"Dockerfile:3: uv sync --frozen --extra: --extra needs a value {tail}"
    assert error("RUN pip install -r requirements.txt -r pylock.toml") == (
        "Dockerfile:3: pip install -r requirements.txt -r pylock.toml: a pylock.toml is installed alone: no "
        f"other -r or -c files with it {tail}")
    assert error("RUN pip install --user -r pylock.toml").startswith("Dockerfile:3: pip install --user is not supported")
