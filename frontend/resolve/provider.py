"""A resolvelib provider that chooses what pip would, over what the Repository has fetched.

It never fetches: when resolvelib asks for a project page or a candidate's metadata that is not
there yet, it raises Missing, the driver (resolve/resolver.py) fetches it together with whatever
else it can guess, and runs the resolution again. The preferences copy pip 25's provider: the
interpreter first, then backtrack causes; direct URLs, pins, upper bounds, the user's order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib import AbstractProvider

from ..errors import InputError, ResolutionError
from ..inputs.requirements import Pin
from .candidates import (PYTHON, Candidate, Metadata, Req, Versions, dependencies, split_identifier)


class Missing(Exception):
    """Data the resolution needs and the repository does not have yet."""

    def __init__(self, pages: Iterable[str] = (), candidates: Iterable[Candidate] = ()) -> None:
        self.pages = tuple(pages)
        self.candidates = tuple(candidates)
        super().__init__(f"missing pages {self.pages}, metadata of {len(self.candidates)} candidates")


class SdistOnly(Exception):
    """The resolution chose a version that has no wheel for the target, and --only-binary forbids
    building its sdist."""

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        super().__init__(candidate.link.filename)


class Store:
    """What the provider reads; the driver's Repository implements it."""

    def versions(self, name: str) -> Versions: ...  # raises Missing
    def metadata(self, candidate: Candidate) -> Metadata: ...  # raises Missing
    def direct(self, name: str, url: str) -> Candidate: ...  # raises Missing


@dataclass(frozen=True)
class Settings:
    python_version: str  # the target's python_full_version
    markers: Mapping[str, str]
    pre: bool = False
    no_deps: bool = False
    only_binary: frozenset[str] = frozenset()  # --only-binary: canonical names, or ":all:"
    no_binary: frozenset[str] = frozenset()  # --no-binary: canonical names (their sdists only)

    def allows_sdist(self, name: str) -> bool:
        return ":all:" not in self.only_binary and name not in self.only_binary


class PythonCandidate(Candidate):
    """The target interpreter (pip's RequiresPythonCandidate)."""


class Provider(AbstractProvider):
    def __init__(self, store: Store, settings: Settings, roots: Sequence[Req],
                 constraints: Mapping[str, SpecifierSet]) -> None:
        self.store = store
        self.settings = settings
        self.constraints = constraints
        self.parents: dict[str, Candidate] = {}  # project → the first candidate that required it
        self.user_order: dict[str, int] = {}
        for i, req in enumerate(roots):
            self.user_order.setdefault(req.name, i)

    def identify(self, requirement_or_candidate) -> str:
        return requirement_or_candidate.identifier

    def narrow_requirement_selection(self, identifiers, resolutions, candidates, information,
                                     backtrack_causes):
        causes = {i.requirement.name for i in backtrack_causes}
        causes |= {i.parent.name for i in backtrack_causes if i.parent is not None}
        current = []
        for ident in identifiers:
            if ident == PYTHON:
                return [ident]
            if split_identifier(ident)[0] in causes:
                current.append(ident)
        return current or identifiers

    def get_preference(self, identifier, resolutions, candidates, information, backtrack_causes):
        reqs = [info.requirement for info in information[identifier]]
        operators = [(s.operator, s.version) for r in reqs for s in r.specifier]
        direct = any(r.url for r in reqs)
        pinned = any(op[:2] == "==" and "*" not in ver for op, ver in operators)
        upper = any(op in ("<", "<=", "~=") or (op == "==" and "*" in ver) for op, ver in operators)
        name = split_identifier(identifier)[0]
        return (not direct, not pinned, not upper, self.user_order.get(name, math.inf),
                not operators, identifier)

    def find_matches(self, identifier, requirements, incompatibilities) -> list[Candidate]:
        name, extras = split_identifier(identifier)
        reqs = list(requirements[identifier])
        if extras:
            reqs += list(requirements.get(name, ()))  # pip adds the base project's requirements
        if identifier == PYTHON:
            version = Version(self.settings.python_version)
            python = PythonCandidate(PYTHON, version, None, "")  # type: ignore[arg-type]
            return [python] if all(r.specifier.contains(version, prereleases=True) for r in reqs) else []
        bad = {c.version for c in incompatibilities[identifier]}
        urls = {r.url for r in reqs if r.url}
        if urls:
            found = [self.store.direct(name, url) for url in sorted(urls)]
            for c in found:
                if not c.tag:
                    pin = next((r.pin for r in reqs if r.pin is not None), None)
                    message = f"{c.link.filename} is not a supported wheel for the target"
                    raise InputError(pin.file, pin.line, message) if pin else ResolutionError(message)
            found = [c for c in found if self.constraints.get(name, SpecifierSet()).contains(
                c.version, prereleases=True)]
        else:
            found = self._from_index(name, reqs)
        return [_with_extras(c, extras) for c in found
                if c.version not in bad and all(self.is_satisfied_by(r, c) for r in reqs)]

    def _from_index(self, name: str, reqs: list[Req]) -> list[Candidate]:
        versions = self.store.versions(name)
        specifier = SpecifierSet()
        for r in reqs:
            specifier &= r.specifier
        if name in self.constraints:
            specifier &= self.constraints[name]
        allowed = set(specifier.filter([c.version for c in versions.candidates],
                                       prereleases=True if self.settings.pre else None))
        pinned = _is_pinned(specifier)
        return [c for c in versions.candidates if c.version in allowed
                and (pinned or c.version not in versions.yanked)]

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if requirement.url:
            return candidate.link is not None and candidate.link.url == requirement.url
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if isinstance(candidate, PythonCandidate):
            return []
        found = []
        if candidate.extras:
            found.append(Req(candidate.name, frozenset(), SpecifierSet(f"=={candidate.version}"),
                             candidate.link.url if candidate.direct else None))
        if candidate.is_sdist and not self.settings.allows_sdist(candidate.name):
            raise SdistOnly(candidate)  # otherwise its metadata comes from the wheel built from it
        meta = self.store.metadata(candidate.base())
        if meta.requires_python is not None:
            found.append(Req(PYTHON, specifier=meta.requires_python))
        if not self.settings.no_deps:
            found += dependencies(meta, candidate.extras, self.settings.markers)
        for req in found:
            if req.name != candidate.name:
                self.parents.setdefault(req.name, candidate)
        return found


def _with_extras(candidate: Candidate, extras: frozenset[str]) -> Candidate:
    if not extras:
        return candidate
    return Candidate(candidate.name, candidate.version, candidate.link, candidate.tag, extras, candidate.direct)


def _is_pinned(specifier: SpecifierSet) -> bool:
    """pip: yanked files count for a requirement with === or a == without wildcard."""
    return any(s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
               for s in specifier)


def constraint_specifiers(pins: Sequence[Pin]) -> dict[str, SpecifierSet]:
    found: dict[str, SpecifierSet] = {}
    for pin in pins:
        found[pin.name] = found.get(pin.name, SpecifierSet()) & SpecifierSet(pin.specifier)
    return found

