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
from typing import Callable, Sequence

from . import layerdefs, llb
from .errors import FrontendError
from .resolve.wheels import PackageChoice
from .solver import Solver, StageResult


class SdistBuilds:
    """The sdist builds of one install step; the build environment is solved when first needed."""

    def __init__(self, solver: Solver, environment: Callable[[], StageResult], network: str | None = None):
        self._solver, self._environment, self._network = solver, environment, network
        self._stage: StageResult | None = None
        self._lock = threading.Lock()

    def stage(self) -> StageResult:
        with self._lock:
            if self._stage is None:
                self._stage = self._environment()
            return self._stage

    def _build(self, pkg: PackageChoice) -> tuple["llb.State", "llb.State"]:
        stage = self.stage()
        return layerdefs.sdist_build(llb.from_definition(stage.definition), stage.env, pkg,
                                     self._solver.downloads, self._network)

    def wheel_dir(self, pkg: PackageChoice) -> "llb.State":
        """The directory holding the one wheel built from `pkg`'s sdist."""
        return self._build(pkg)[0]

    def metadata(self, packages: Sequence[PackageChoice]) -> list[bytes]:
        """The METADATA of the wheel built from each sdist, building them side by side."""
        if not packages:
            return []
        with ThreadPoolExecutor(max_workers=min(4, len(packages))) as pool:
            return list(pool.map(self._metadata, packages))

    def _metadata(self, pkg: PackageChoice) -> bytes:
        try:
            ref = self._solver.solve_state(self._build(pkg)[1])
            return self._solver.read(ref, layerdefs.SDIST_METADATA)
        except FrontendError as exc:
            raise build_error(pkg, exc) from None


_EXEC_FAILED = re.compile(r'^process ".*" did not complete successfully: (.*)$', re.S)


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
