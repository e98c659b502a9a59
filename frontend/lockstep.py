"""build.py's helpers for the install steps that are not `pip install -r requirements.txt`.

Where the packages go (the interpreter to probe, and whether a new environment must be made):

- `uv sync`: the project environment, UV_PROJECT_ENVIRONMENT (relative paths from the WORKDIR)
  or `.venv` in the WORKDIR, as uv does. If it has no `bin/python3` yet it is created: its own
  layer, made by the stage's python3 (`python -m venv --without-pip`) without network.
- `poetry install|sync`: VIRTUAL_ENV if set; the `python3` on the PATH when virtualenvs.create is
  false (POETRY_VIRTUALENVS_CREATE, the project's poetry.toml, $HOME/.config/pypoetry/config.toml);
  `.venv` in the WORKDIR when virtualenvs.in-project is true (created as for uv). Poetry's own
  cache-dir environments are not supported: their path depends on a hash of the project path.
- `uv pip install|sync`: --python/--system as written, else VIRTUAL_ENV, UV_SYSTEM_PYTHON=1 (the
  python3 on the PATH) or `.venv` in the WORKDIR; otherwise uv itself would refuse: an error.
"""

from __future__ import annotations

import logging
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .errors import FrontendError, InputError
from .inputs.locks import LockedSet, load_toml
from .inputs.poetrylock import parse_poetry_lock
from .inputs.pylock import parse_pylock
from .inputs.uvlock import default_groups, parse_uv_lock
from .resolve.locked import choose_locked

log = logging.getLogger("pylayers")
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Environment:
    interpreter: tuple[str, str]  # (executable, kind) for the probe
    path: str | None = None  # the environment's directory, when it is a venv we know
    create: bool = False  # it does not exist yet: pylayers makes it as a layer of its own


def environment(solver, stage, step, name: str) -> Environment | None:
    """Where the step installs; None: leave the step to run as written."""
    executable, kind = step.interpreter
    env = _env_map(stage.env)
    if kind == "project" and step.lock.tool == "uv":
        if not (step.lock.frozen or env.get("UV_FROZEN", "").lower() in _TRUE
                or env.get("UV_LOCKED", "").lower() in _TRUE):
            solver.client.warn(f"{name}:{step.line}: `uv sync` without --frozen or --locked may change "
                               "uv.lock: it runs as written (add --frozen for one layer per package)")
            return None
        return _venv(solver, stage, posixpath.join(stage.workdir, env.get("UV_PROJECT_ENVIRONMENT", ".venv")))
    if kind == "project":
        return _poetry_environment(solver, stage, env, step, name)
    if kind == "uv-pip":
        return _uv_pip_environment(solver, stage, env, step, name)
    return Environment((executable, kind))


def _venv(solver, stage, path: str) -> Environment:
    path = posixpath.normpath(path)
    python = posixpath.join(path, "bin", "python3")
    return Environment((python, "python"), path, create=not solver.exists(stage.ref_id, python))


def _poetry_environment(solver, stage, env: dict[str, str], step, name: str) -> Environment:
    if env.get("VIRTUAL_ENV"):
        return Environment((posixpath.join(env["VIRTUAL_ENV"], "bin", "python3"), "python"))
    settings = _poetry_settings(solver, stage, env)
    if str(settings.get("create", True)).lower() in ("false", "0", "no", "off"):
        return Environment(("python3", "python"))
    project = posixpath.join(stage.workdir, ".venv")
    if str(settings.get("in-project", "")).lower() in _TRUE or solver.exists(stage.ref_id, project):
        return _venv(solver, stage, project)
    raise InputError(name, step.line, "poetry would install into a virtual environment of its cache "
                     "directory, which pylayers does not support: set ENV POETRY_VIRTUALENVS_CREATE=false "
                     "(or POETRY_VIRTUALENVS_IN_PROJECT=true) before this step")


def _poetry_settings(solver, stage, env: dict[str, str]) -> dict:
    """virtualenvs.create / in-project: global config < the project's poetry.toml < environment."""
    settings: dict = {}
    home = env.get("HOME", "/root")
    for path in (posixpath.join(home, ".config/pypoetry/config.toml"),
                 posixpath.join(stage.workdir, "poetry.toml")):
        data = _read(solver, stage, path)
        if data is not None:
            settings.update(load_toml(path, data).get("virtualenvs") or {})
    for key in ("create", "in-project"):
        variable = "POETRY_VIRTUALENVS_" + key.upper().replace("-", "_")
        if variable in env:
            settings[key] = env[variable]
    return settings


def _uv_pip_environment(solver, stage, env: dict[str, str], step, name: str) -> Environment:
    if env.get("VIRTUAL_ENV"):
        return Environment((posixpath.join(env["VIRTUAL_ENV"], "bin", "python3"), "python"))
    if env.get("UV_SYSTEM_PYTHON", "").lower() in _TRUE:
        return Environment(("python3", "python"))
    local = posixpath.join(stage.workdir, ".venv", "bin", "python3")
    if solver.exists(stage.ref_id, local):
        return Environment((local, "python"))
    raise InputError(name, step.line, "uv pip needs a virtual environment: set VIRTUAL_ENV, create "
                     ".venv in the WORKDIR, or use --system (or UV_SYSTEM_PYTHON=1)")


@dataclass(frozen=True)
class LockedWheels:
    packages: tuple  # PackageChoice, sorted by name
    project: str | None  # the project's name when the step installs it (built from `project_dir`)
    project_dir: str


def locked_wheels(solver, stage, step, name: str, target) -> LockedWheels:
    """The wheel of every package the step's lock installs for the target, and the project."""
    locked = read_lock(solver, stage, step, name, target)
    packages = choose_locked(locked.packages, target.tags, target.python_full_version, solver.fetch_pages)
    directory = posixpath.dirname(posixpath.join(stage.workdir, step.lock.file))
    return LockedWheels(not_installed(solver, stage, target, packages), locked.project, directory)


def not_installed(solver, stage, target, packages: tuple) -> tuple:
    """The packages whose exact version the stage does not have yet (uv and Poetry skip those).

    uv's documented Dockerfile syncs twice; the second step's stage already holds the first
    step's layers, which would otherwise be listed again.
    """
    def present(choice) -> bool:
        if choice.local:  # a workspace member: uv reinstalls it too
            return False
        dist, version = choice.filename.split("-")[:2]
        return any(solver.exists(stage.ref_id, posixpath.join(target.scheme[key], f"{dist}-{version}.dist-info"))
                   for key in ("purelib", "platlib"))

    if not packages:
        return packages
    with ThreadPoolExecutor(max_workers=min(16, len(packages))) as pool:
        installed = list(pool.map(present, packages))
    kept = tuple(p for p, there in zip(packages, installed) if not there)
    if len(kept) < len(packages):
        log.info("%d of %d locked packages are in the stage already", len(packages) - len(kept), len(packages))
    return kept


def read_lock(solver, stage, step, name: str, target) -> LockedSet:
    options = step.lock
    path = posixpath.join(stage.workdir, options.file)
    data = _read(solver, stage, path)
    if data is None:
        raise InputError(name, step.line, f"{path}: not found in the build stage (the lock is read "
                         "from the RUN's working directory)")
    pyproject_path = posixpath.join(posixpath.dirname(path), "pyproject.toml")
    if options.tool == "pylock":
        return parse_pylock(path, data, target.markers, target.python_full_version)
    pyproject = _read(solver, stage, pyproject_path)
    if options.tool == "uv":
        groups = default_groups(pyproject_path, pyproject) if pyproject is not None else None
        return parse_uv_lock(path, data, options, target.markers, groups, options.install_project)
    return parse_poetry_lock(path, data, pyproject_path, pyproject, options, target.markers,
                             options.install_project)


def _read(solver, stage, path: str) -> bytes | None:
    try:
        return solver.read(stage.ref_id, path)
    except FrontendError:
        return None


def _env_map(env: tuple[str, ...]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in env if "=" in e)
