"""Source distributions: each built into a wheel in its own exec, then installed like any wheel.

The build runs `python -m pip wheel --no-deps` (build isolation, network for the build backend)
on the step's stage cut before its first COPY, ADD or install step (dockerfile.build_env_prefix):
a compiler a RUN installed is there, the requirement files are not, so the exec's cache key is
the sdist's sha256 and that environment only. The resolver reads the built wheel's METADATA from
the same exec whose wheel the layer installs, so each sdist is built once per environment.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesParser
from typing import Callable, Sequence

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from . import layerdefs, llb
from .errors import FrontendError
from .resolve.wheels import PackageChoice
from .solver import Solver, StageResult


class SdistBuilds:
    """The sdist (and local package) builds of one install step; the build environment is solved
    when first needed. Local packages are copied from `source`, the stage before the step."""

    def __init__(self, solver: Solver, environment: Callable[[], StageResult], network: str | None = None,
                 source: StageResult | None = None):
        self._solver, self._environment, self._network, self._source = solver, environment, network, source
        self._stage: StageResult | None = None
        self._lock = threading.Lock()

    def stage(self) -> StageResult:
        with self._lock:
            if self._stage is None:
                self._stage = self._environment()
            return self._stage

    def _build(self, pkg: PackageChoice) -> tuple["llb.State", "llb.State"]:
        stage = self.stage()
        if pkg.local:
            return self._local(pkg.local)
        return layerdefs.sdist_build(llb.from_definition(stage.definition), stage.env, pkg,
                                     self._solver.downloads, self._network)

    def _local(self, path: str) -> tuple["llb.State", "llb.State"]:
        stage = self.stage()
        if self._source is None:
            raise FrontendError(f"{path}: no stage to build the local package from")
        return layerdefs.local_build(llb.from_definition(stage.definition), stage.env,
                                     llb.from_definition(self._source.definition), path, self._network)

    def wheel_dir(self, pkg: PackageChoice) -> "llb.State":
        """The directory holding the one wheel built from `pkg`'s sdist or local directory."""
        return self._build(pkg)[0]

    def local_metadata(self, paths: Sequence[str]) -> list[bytes]:
        """The METADATA of the wheel built from each local project directory."""
        def one(path: str) -> bytes:
            try:
                ref = self._solver.solve_state(self._local(path)[1])
                return self._solver.read(ref, layerdefs.SDIST_METADATA)
            except FrontendError as exc:
                raise local_error(path, exc) from None
        if not paths:
            return []
        with ThreadPoolExecutor(max_workers=min(4, len(paths))) as pool:
            return list(pool.map(one, paths))

    def metadata(self, packages: Sequence[PackageChoice]) -> list[bytes]:
        """The METADATA of the wheel built from each sdist, building them side by side."""
        if not packages:
            return []
        with ThreadPoolExecutor(max_workers=min(4, len(packages))) as pool:
            return list(pool.map(self._metadata, packages))

    def _metadata(self, pkg: PackageChoice) -> bytes:
        try:
            ref = self._solver.solve_state(self._build(pkg)[1])
            data = self._solver.read(ref, layerdefs.SDIST_METADATA)
        except FrontendError as exc:
            raise build_error(pkg, exc) from None
        check_consistent(pkg, data)
        return data


def check_consistent(pkg: PackageChoice, data: bytes) -> None:
    """Like pip: the built wheel must be of the name and version the sdist's file name says."""
    message = BytesParser().parsebytes(data, headersonly=True)
    name, version = message.get("Name") or "", message.get("Version") or ""
    try:
        same = canonicalize_name(name) == pkg.name and Version(version) == Version(pkg.version)
    except InvalidVersion:
        same = False
    if not same:
        raise FrontendError(f"{pkg.filename} has inconsistent metadata: expected {pkg.name} {pkg.version}, but the "
                            f"wheel built from it is {name or '?'} {version or '?'}")


_EXEC_FAILED = re.compile(r'^process ".*" did not complete successfully: (.*)$', re.S)


def local_error(path: str, exc: Exception) -> FrontendError:
    found = _EXEC_FAILED.match(str(exc))
    reason = found.group(1) if found else str(exc)
    return FrontendError(f"building the local package at {path} failed ({reason}). The end of the build's output "
                         f"is shown above under 'pylayers: build the local package at {path}'")


def build_error(pkg: PackageChoice, exc: Exception) -> FrontendError:
    """What the user reads when an sdist does not build: the package, why, and where its output is
    (BuildKit prints the tail of the failed exec's output above the error)."""
    found = _EXEC_FAILED.match(str(exc))
    reason = found.group(1) if found else str(exc)
    return FrontendError(
        f"building {pkg.name} {pkg.version} from its source distribution {pkg.filename} failed ({reason}); "
        f"no wheel of it fits the target. The end of the build's output is shown above under 'pylayers: "
        f"build {pkg.name} {pkg.version} from {pkg.filename}'. A compiler or header the build needs must "
        "be installed by a RUN before the first COPY or ADD of the stage")
