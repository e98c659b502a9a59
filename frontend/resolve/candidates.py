"""What the resolver works with: requirements, candidates (one file per version) and metadata.

Like pip's PackageFinder: a project's files are the wheels whose tags the target supports and the
source distributions, each only if its Requires-Python admits the target; per version the best
file is the wheel with the target's most preferred tag (then the highest build tag), else the
sdist. Yanked files count only for a requirement pinned with ==/=== that nothing else satisfies.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..errors import ResolutionError
from ..inputs.requirements import Pin
from .index import Link
from .wheels import ProjectFile, admits_python, best_file, metadata_sha256, project_files

PYTHON = "<Python from Requires-Python>"  # pip's identifier for the interpreter requirement


@dataclass(frozen=True)
class Req:
    """One requirement on a project (or on the interpreter, name == PYTHON)."""

    name: str  # canonical
    extras: frozenset[str] = frozenset()
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    url: str | None = None  # a direct URL wheel
    pin: Pin | None = field(default=None, compare=False)  # the user's line, for a root requirement

    @property
    def identifier(self) -> str:
        return identifier(self.name, self.extras)

    def shown(self) -> str:
        """Like pip's format_for_error: `name[extras]specifier` or `name @ url`."""
        if self.name == PYTHON:
            return f"Python{self.specifier}"
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras} @ {self.url}" if self.url else f"{self.name}{extras}{self.specifier}"


@dataclass(frozen=True)
class Candidate:
    """One version of a project, as the file pip would install for the target."""

    name: str
    version: Version
    link: Link
    tag: str | None  # the target tag the wheel matched; None for an sdist
    extras: frozenset[str] = frozenset()
    direct: bool = False  # from a `name @ URL` requirement

    @property
    def identifier(self) -> str:
        return identifier(self.name, self.extras)

    @property
    def is_sdist(self) -> bool:
        return self.tag is None

    def base(self) -> "Candidate":
        return Candidate(self.name, self.version, self.link, self.tag, frozenset(), self.direct)


def identifier(name: str, extras: frozenset[str] | Sequence[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def split_identifier(ident: str) -> tuple[str, frozenset[str]]:
    name, _, rest = ident.partition("[")
    return name, frozenset(e for e in rest.rstrip("]").split(",") if e)


def root_requirement(pin: Pin) -> Req:
    return Req(pin.name, frozenset(pin.extras), _specifier(pin.specifier), pin.url, pin)


def _specifier(text: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return SpecifierSet()


@dataclass(frozen=True)
class Versions:
    """The candidates of one project for the target, newest first, and what was left out."""

    candidates: tuple[Candidate, ...]  # one per version, best file; yanked ones included
    yanked: frozenset[Version]  # versions whose every fitting file is yanked
    all_versions: tuple[Version, ...]  # every version the pages list, for messages


def project_versions(name: str, links: Sequence[Link], tags: Sequence[str], python_version: str,
                     sdists_only: bool = False) -> Versions:
    """`sdists_only`: --no-binary NAME, the project's wheels do not count."""
    ranks: dict[str, int] = {}
    for i, tag in enumerate(tags):
        ranks.setdefault(tag, i)
    files = project_files(name, links, ranks)
    fitting = [f for f in files if (f.tags is None or (f.rank is not None and not sdists_only))
               and admits_python(f.link.requires_python, python_version)]
    by_version: dict[Version, list[ProjectFile]] = {}
    for f in fitting:
        by_version.setdefault(f.version, []).append(f)
    candidates, yanked = [], set()
    for version in sorted(by_version, reverse=True):
        group = by_version[version]
        best = _best_of_version(group)
        candidates.append(Candidate(name, version, best.link, tags[best.rank] if best.tags is not None else None))
        if all(f.link.yanked for f in group):
            yanked.add(version)
    return Versions(tuple(candidates), frozenset(yanked), tuple(sorted({f.version for f in files})))


def _best_of_version(files: list[ProjectFile]) -> ProjectFile:
    """pip's order within a version: not yanked, then a wheel (best tag, build) before the sdist."""
    pool = [f for f in files if not f.link.yanked] or files
    wheels = [f for f in pool if f.tags is not None]
    return best_file(wheels) if wheels else sorted(pool, key=lambda f: f.link.filename)[0]


@dataclass(frozen=True)
class Metadata:
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None


def parse_metadata(data: bytes) -> Metadata:
    """Requires-Dist and Requires-Python of a METADATA file; unreadable entries are skipped like pip."""
    message = BytesParser().parsebytes(data, headersonly=True)
    reqs = []
    for line in message.get_all("Requires-Dist") or ():
        try:
            reqs.append(Requirement(line))
        except InvalidRequirement:
            continue
    python = message.get("Requires-Python")
    try:
        spec = SpecifierSet(python) if python else None
    except InvalidSpecifier:
        spec = None
    return Metadata(tuple(reqs), spec)


def metadata_from_wheel(data: bytes, filename: str) -> bytes:
    """The METADATA file of a wheel (for indexes that do not serve PEP 658 metadata files)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist()
                     if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(names) == 1:
                return archive.read(names[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise ResolutionError(f"{filename}: not a readable wheel ({exc})") from None
    raise ResolutionError(f"{filename}: no single .dist-info/METADATA in the wheel")


def dependencies(meta: Metadata, extras: frozenset[str], markers: Mapping[str, str]) -> list[Req]:
    """The requirements that apply to the target: base ones, or for `extras`, those of the extras."""
    found = []
    for req in meta.requires_dist:
        if req.marker is not None:
            wanted = extras or frozenset([""])
            if not any(req.marker.evaluate({**markers, "extra": e}) for e in wanted):
                continue
        elif extras:
            continue  # the base candidate declares it
        url = req.url if req.url else None
        found.append(Req(canonicalize_name(req.name), frozenset(canonicalize_name(e) for e in req.extras),
                         req.specifier, url))
    return found


def metadata_request(candidate: Candidate, unserved: set[str] | frozenset[str] = frozenset()
                     ) -> tuple[str, str | None, str]:
    """(url, sha256, how) to fetch for the candidate's METADATA.

    how: "file" — a PEP 658 file the page announces; "guess" — the page announces none, but
    many indexes (PyPI mirrors among them) serve it anyway: fetched as a page, None if absent;
    "wheel" — the whole wheel, when the index has no metadata file for it (`unserved`).
    """
    link = candidate.link
    if candidate.direct or link.url in unserved:
        return link.url, link.sha256, "wheel"
    if link.core_metadata:
        return link.url + ".metadata", metadata_sha256(link.core_metadata), "file"
    return link.url + ".metadata", None, "guess"
