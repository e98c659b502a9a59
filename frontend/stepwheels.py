"""What an install step installs: its requirement files read from the stage, the wheels chosen
for them (local packages built), and the wheels downloaded and checked for clashing files before
the layers are planned. A part of the orchestrator (build.py): it sees inputs, resolve and the
solver.
"""

from __future__ import annotations

import logging
import posixpath
import threading
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from . import layerdefs, overlaps, pagereuse
from .dockerfile.args import step_args
from .errors import FrontendError, GatewayError, InputError
from .inputs.requirements import RequirementSet, parse_requirements
from .localpkgs import LocalPackages, build_locals
from .resolve.steps import all_pinned, choose_wheels, window_urls
from .resolve.wheels import PackageChoice
from .sdists import SdistBuilds
from .solver import Solver, StageResult
from .target import TargetEnv

log = logging.getLogger("pylayers")


def requirement_wheels(solver: Solver, stage: StageResult, step, name: str, target: TargetEnv, text: str,
                       sdists: SdistBuilds | None = None, early=None, pages: pagereuse.PageWindow | None = None,
                       known_metadata=None, sets: tuple[RequirementSet, ...] | None = None):
    """The step's packages; `early(packages)` is called with what they will be, if all are pinned,
    before their dependencies are checked (which may still fail or add packages; `known_metadata`,
    a MetadataHandoff, may have the METADATA). All pinned, the index pages may be those of `pages`
    (pagereuse.py). `sets`: the requirement files, if read already (RequirementsAhead)."""
    env = requirement_env(solver, stage, step, text)
    sets = read_requirements(solver, stage, step, name, env) if sets is None else sets
    local = build_locals(sdists, stage.workdir, sets, target.markers) if sdists else LocalPackages((), ())
    chosen_sets = local.requirement_sets(sets)
    if local.choices and not any(s.pins for s in chosen_sets):
        return local.choices
    pages = step_window(pages, chosen_sets, step, env)
    chosen = choose_wheels(solver.fetch_pages, chosen_sets, step.options, target, env,
                           fetch_files=solver.fetch_files, wheel_metadata=solver.wheel_metadata,
                           sdist_metadata=sdists and sdists.metadata,
                           early=early and (lambda chosen: early((*chosen, *local.choices))),
                           reused=pages and (lambda urls, spellings: pagereuse.reused_pages(solver, pages, urls,
                                                                                            spellings)),
                           known_metadata=known_metadata)
    return (*chosen, *local.choices)


def step_window(pages: pagereuse.PageWindow | None, sets: Sequence[RequirementSet], step,
                env: Mapping[str, str]) -> pagereuse.PageWindow | None:
    """The window fetching the pages of every project `sets` pin: one function for
    RequirementsAhead and requirement_wheels, so that both ask the same exec."""
    return pages and pages.with_urls(window_urls(sets, step.options, env))


def requirement_env(solver: Solver, stage: StageResult, step, text: str) -> dict[str, str]:
    """The environment the step's RUN would have: its build arguments and the stage's ENV."""
    return {**step_args(text, step, solver.config.build_args), **_env_map(stage.env)}


class RequirementsAhead:
    """The step's requirement files read, and the pages of a window (pagereuse.py) fetched, in a
    thread started before the target is probed: neither needs the probe. On a cold build or in a
    new window the pages' exec then runs beside the probe's instead of after it. The window is
    the one requirement_wheels asks later (the same URLs, the same cache key): it finds the
    pages in BuildKit's cache, or joins their exec still running. `sets()` is what
    read_requirements gives, or raises."""

    def __init__(self, solver: Solver, stage: StageResult, step, name: str, text: str,
                 pages: pagereuse.PageWindow | None) -> None:
        self._sets: tuple[RequirementSet, ...] = ()
        self._error: BaseException | None = None
        # a daemon: a build that fails before it needs the sets does not wait for the pages
        self._thread = threading.Thread(target=self._read, args=(solver, stage, step, name, text, pages),
                                        daemon=True)
        self._thread.start()

    def _read(self, solver: Solver, stage: StageResult, step, name: str, text: str,
              pages: pagereuse.PageWindow | None) -> None:
        try:
            env = requirement_env(solver, stage, step, text)
            self._sets = read_requirements(solver, stage, step, name, env)
        except BaseException as exc:  # raised by sets(), where the files were read before
            self._error = exc
            return
        window = all_pinned(self._sets) and step_window(pages, self._sets, step, env)
        if window:
            try:
                solver.build_state(window.state())
            except FrontendError as exc:  # requirement_wheels meets it again, and fetches the pages itself
                log.info("index pages: the window's exec failed ahead of the probe: %s", exc)

    def sets(self) -> tuple[RequirementSet, ...]:
        """The requirement files, once the pages' exec (if any) is done."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._sets


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


@dataclass(frozen=True)
class Checked:
    """What the overlap check read of the wheels (nothing for a single wheel, which is not checked)."""

    sizes: Mapping[str, int] = field(default_factory=dict)  # bytes each wheel installs
    metadata: Mapping[str, bytes] = field(default_factory=dict)  # each wheel's METADATA


class MetadataHandoff:
    """The METADATA the overlap check of the early guess read (Checked.metadata), handed to the
    dependency check that runs meanwhile (resolve.pinmeta's `known`): a rebuild then reads the
    METADATA of every wheel in one file of a cached exec, not from each wheel."""

    def __init__(self) -> None:
        self._guess: tuple[PackageChoice, ...] | None = None
        self._metadata: Mapping[str, bytes] = {}
        self._done = threading.Event()

    def expect(self, guess: tuple[PackageChoice, ...]) -> None:
        """Before the overlap check of `guess` is started: the dependency check may wait for it."""
        if self._guess is None:
            self._guess = guess

    def publish(self, packages: tuple[PackageChoice, ...], metadata: Mapping[str, bytes]) -> None:
        """What the check of `packages` read (nothing if it failed); only the guess's is kept."""
        if packages == self._guess and not self._done.is_set():
            self._metadata = metadata
            self._done.set()

    def __call__(self, choices) -> Mapping[str, bytes]:
        """name → METADATA of those `choices` the guess's check read (the same files)."""
        if self._guess is None:
            return {}
        self._done.wait()
        files = {p.name: p.filename for p in self._guess}
        return {c.name: self._metadata[c.name] for c in choices
                if c.name in self._metadata and files.get(c.name) == c.filename}


def fetch_and_check(solver: Solver, base_state, packages: tuple[PackageChoice, ...], target: TargetEnv,
                    sdists: SdistBuilds | None = None) -> tuple[Solver, Checked]:
    """Fails when two wheels ship one path with different content (see overlaps.py); the solver
    to go on with and what the check read of the wheels: sizes, METADATA.

    The check mounts every wheel, so it is where they are downloaded (one wheel: its download is
    solved alone). BuildKit does not retry a download; when this fails, each wheel is fetched
    again alone, with retries, and the check runs once more on the tries that worked. (The wheels
    of sdists were built while resolving.)
    """
    if not packages:
        return solver, Checked()
    try:
        return solver, check_overlaps(solver, base_state, packages, target, sdists)
    except GatewayError:
        solver = solver.refetch_wheels([p for p in packages if not (p.sdist or p.local)])
        return solver, check_overlaps(solver, base_state, packages, target, sdists)


def check_overlaps(solver: Solver, base_state, packages: tuple[PackageChoice, ...], target: TargetEnv,
                   sdists: SdistBuilds | None = None) -> Checked:
    if len(packages) == 1:
        pkg = packages[0]
        if pkg.sdist or pkg.local:  # built while resolving
            return Checked()
        wheel = solver.downloads.file(layerdefs.wheel_fetch(pkg))
        solver.client.stat_file(solver.solve_state(wheel), "/" + pkg.filename)
        return Checked()
    ref = solver.solve_state(layerdefs.overlap_state(base_state, packages, target, solver.downloads, sdists))
    result, sizes, metadata = solver.read_all(ref, ["/" + overlaps.RESULT_FILE, "/" + overlaps.SIZES_FILE,
                                                    "/" + overlaps.METADATA_FILE])
    overlaps.check(result, packages)
    return Checked(overlaps.sizes(sizes), overlaps.metadata(metadata))
