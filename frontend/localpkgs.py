"""Local packages (`-e .`, `./libs/foo`, `file:` directories of requirements files): each built into
a wheel from its directory of the stage, installed as a layer on top of the step's packages.

The directory is copied out of the stage (BuildKit keys that copy by its content) and built like
an sdist (sdists.py, layerdefs.local_build): on the stage cut before its first COPY or ADD, with
build isolation. Its wheel's METADATA gives the package's name and version, and its dependencies
join the step's requirements at the line that names the directory, so they are resolved (or
checked against the pins) with the rest. An editable requirement is installed as a regular wheel.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass
from email.parser import BytesParser
from typing import Mapping, Sequence

from packaging.utils import canonicalize_name

from .errors import FrontendError
from .inputs.pins import Pin
from .inputs.requirements import LocalRequirement, RequirementSet, pinned_version
from .resolve.candidates import parse_metadata
from .resolve.wheels import LOCAL_TAG, PackageChoice
from .sdists import SdistBuilds


@dataclass(frozen=True)
class LocalPackages:
    choices: tuple[PackageChoice, ...]  # in the order the requirements files name them
    dependencies: tuple[Pin, ...]  # their Requires-Dist, at the lines naming them

    def requirement_sets(self, sets: Sequence[RequirementSet]) -> tuple[RequirementSet, ...]:
        """`sets` without pins of the local packages' names, plus one set of their dependencies."""
        names = {c.name for c in self.choices}
        kept = tuple(dataclasses.replace(s, pins=tuple(p for p in s.pins if p.name not in names), locals=())
                     for s in sets)
        if not self.dependencies:
            return kept
        return (*kept, RequirementSet(file=self.dependencies[0].file, pins=self.dependencies, constraints=(),
                                      index_url=None, extra_index_urls=()))


def build_locals(builds: SdistBuilds, workdir: str, sets: Sequence[RequirementSet],
                 markers: Mapping[str, str]) -> LocalPackages:
    """Builds every local package the requirement sets name (once per directory; extras add up)."""
    found: dict[str, LocalRequirement] = {}
    for req in (r for s in sets for r in s.locals):
        path = posixpath.normpath(posixpath.join(workdir, req.path))
        first = found.setdefault(path, req)
        found[path] = dataclasses.replace(first, extras=tuple(sorted({*first.extras, *req.extras})))
    if not found:
        return LocalPackages((), ())
    metadata = builds.local_metadata(list(found))
    choices = tuple(_choice(path, data) for path, data in zip(found, metadata))
    names = {c.name for c in choices}
    deps = tuple(pin for (path, req), data in zip(found.items(), metadata)
                 for pin in _dependencies(req, data, markers) if pin.name not in names)
    return LocalPackages(choices, deps)


def _choice(path: str, data: bytes) -> PackageChoice:
    message = BytesParser().parsebytes(data, headersonly=True)
    if not message.get("Name") or not message.get("Version"):
        raise FrontendError(f"the wheel built from {path} has no Name or Version in its METADATA")
    return PackageChoice(name=canonicalize_name(message["Name"]), version=message["Version"], filename=path,
                         url=f"file://{path}", sha256="", tag=LOCAL_TAG, local=path)


def _dependencies(req: LocalRequirement, data: bytes, markers: Mapping[str, str]) -> list[Pin]:
    """Its Requires-Dist that hold for the target and the requested extras (markers evaluated here)."""
    pins = []
    for dep in parse_metadata(data).requires_dist:
        if dep.url:
            continue  # a direct reference of a local package: not followed
        if dep.marker is not None and not any(dep.marker.evaluate({**markers, "extra": e})
                                              for e in ("", *req.extras)):
            continue
        pins.append(Pin(name=canonicalize_name(dep.name), version=pinned_version(dep) or "",
                        extras=tuple(sorted(canonicalize_name(e) for e in dep.extras)),
                        marker=None, hashes=(), file=req.file, line=req.line,
                        text=f"{dep} (required by {req.text})", specifier=str(dep.specifier)))
    return pins
