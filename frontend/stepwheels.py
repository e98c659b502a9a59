"""What an install step installs: its requirement files read from the stage, the wheels chosen
for them (local packages built), and the wheels downloaded and checked for clashing files before
the layers are planned. A part of the orchestrator (build.py): it sees inputs, resolve and the
solver.
"""

from __future__ import annotations

import posixpath
from typing import Mapping

from . import layerdefs, overlaps, pagereuse
from .dockerfile.args import step_args
from .errors import FrontendError, GatewayError, InputError
from .inputs.requirements import RequirementSet, parse_requirements
from .localpkgs import LocalPackages, build_locals
from .resolve.steps import choose_wheels
from .resolve.wheels import PackageChoice
from .sdists import SdistBuilds
from .solver import Solver, StageResult
from .target import TargetEnv


def requirement_wheels(solver: Solver, stage: StageResult, step, name: str, target: TargetEnv, text: str,
                       sdists: SdistBuilds | None = None, early=None, pages: pagereuse.PageWindow | None = None):
    """The step's packages; `early(packages)` is called with what they will be, if all are pinned,
    before their dependencies are checked (which may still fail or add packages). All pinned, the
    index pages may be those of `pages` (pagereuse.py)."""
    env = {**step_args(text, step, solver.config.build_args), **_env_map(stage.env)}  # a RUN's environment
    sets = read_requirements(solver, stage, step, name, env)
    local = build_locals(sdists, stage.workdir, sets, target.markers) if sdists else LocalPackages((), ())
    if local.choices and not any(s.pins for s in local.requirement_sets(sets)):
        return local.choices
    chosen = choose_wheels(solver.fetch_pages, local.requirement_sets(sets), step.options, target, env,
                           fetch_files=solver.fetch_files, wheel_metadata=solver.wheel_metadata,
                           sdist_metadata=sdists and sdists.metadata,
                           early=early and (lambda chosen: early((*chosen, *local.choices))),
                           reused=pages and (lambda urls: pagereuse.reused_pages(solver, pages, urls)))
    return (*chosen, *local.choices)


def read_requirements(solver: Solver, stage: StageResult, step, name: str,
                      env: Mapping[str, str]) -> tuple[RequirementSet, ...]:
    def read(path: str) -> bytes:
        try:
            return solver.read(stage.ref_id, path)
        except FrontendError:
            raise FileNotFoundError(path) from None

    sets = []
    for rel in step.options.requirements:
        path = posixpath.join(stage.workdir, rel)
        try:
            sets.append(parse_requirements(path, read, env))
        except InputError as exc:
            if exc.line == 0 and exc.file == path:  # the -r file itself is missing
                raise InputError(name, step.line, exc.message) from None
            raise
    for rel in step.options.constraints:
        sets.append(parse_requirements(posixpath.join(stage.workdir, rel), read, env,
                                       constraint=True))
    return tuple(sets)


def _env_map(env: tuple[str, ...]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in env if "=" in e)


def fetch_and_check(solver: Solver, base_state, packages: tuple[PackageChoice, ...], target: TargetEnv,
                    sdists: SdistBuilds | None = None) -> tuple[Solver, dict[str, int]]:
    """Fails when two wheels ship one path with different content (see overlaps.py); the solver
    to go on with and how many bytes each wheel installs (none known for a single wheel).

    The check mounts every wheel, so it is where they are downloaded (one wheel: its download is
    solved alone). BuildKit does not retry a download; when this fails, each wheel is fetched
    again alone, with retries, and the check runs once more on the tries that worked. (The wheels
    of sdists were built while resolving.)
    """
    if not packages:
        return solver, {}
    try:
        return solver, check_overlaps(solver, base_state, packages, target, sdists)
    except GatewayError:
        solver = solver.refetch_wheels([p for p in packages if not (p.sdist or p.local)])
        return solver, check_overlaps(solver, base_state, packages, target, sdists)


def check_overlaps(solver: Solver, base_state, packages: tuple[PackageChoice, ...], target: TargetEnv,
                   sdists: SdistBuilds | None = None) -> dict[str, int]:
    if len(packages) == 1:
        pkg = packages[0]
        if pkg.sdist or pkg.local:  # built while resolving
            return {}
        wheel = solver.downloads.file(layerdefs.wheel_fetch(pkg))
        solver.client.stat_file(solver.solve_state(wheel), "/" + pkg.filename)
        return {}
    ref = solver.solve_state(layerdefs.overlap_state(base_state, packages, target, solver.downloads, sdists))
    overlaps.check(solver.read(ref, "/" + overlaps.RESULT_FILE), packages)
    return overlaps.sizes(solver.read(ref, "/" + overlaps.SIZES_FILE))
