"""One pin + the files of its project page → the best wheel for the target (or why there is none).

Like pip: only wheels of the pinned version whose tags the target supports and whose
Requires-Python admits the target's interpreter; the best is the one whose best tag comes first
in the target's tag list (then the highest build tag). Without such a wheel, the version's
source distribution, unless sdists are not allowed (--only-binary). Yanked files count only
when nothing else fits, which PEP 592 allows for an == pin. --hash values narrow the choice to
their files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename,
                             parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from ..errors import InputError, ResolutionError
from ..inputs.requirements import Pin
from .index import Link


@dataclass(frozen=True)
class PackageChoice:
    """One package to install: the exact wheel chosen for the target, or the sdist to build one from."""

    name: str  # canonical name
    version: str
    filename: str
    url: str
    sha256: str
    tag: str  # the wheel tag that matched the target, for progress names
    yanked: bool = False
    metadata: bool = False  # the index serves the wheel's METADATA at url + ".metadata" (PEP 658)
    metadata_sha256: str | None = None
    size: int | None = None  # the wheel's size in bytes, when the index gives it
    sdist: bool = False  # `filename` is a source distribution: a wheel is built from it (sdists.py)
    local: str | None = None  # a project directory of the build stage, built into a wheel (localpkgs.py)

    @property
    def metadata_url(self) -> str:
        return self.url + ".metadata"


@dataclass(frozen=True)
class ProjectFile:
    link: Link
    version: Version
    tags: frozenset[Tag] | None  # None for a source distribution
    build: tuple = ()
    rank: int | None = None  # index of the wheel's best tag in the target's tags; None = unsupported

    @property
    def tag_text(self) -> str:
        return "-".join(self.link.filename[:-len(".whl")].split("-")[-3:])


SOURCE_TAG = "source"  # PackageChoice.tag of an sdist: its wheel's tag is known once built
LOCAL_TAG = "local"  # PackageChoice.tag of a local package


def select_wheel(pin: Pin, links: Sequence[Link], tags: Sequence[str], python_version: str,
                 page_url: str, allow_sdist: bool = False, prefer_sdist: bool = False) -> PackageChoice:
    """The wheel to install for `pin` (else its sdist, if allowed); InputError if the pin cannot be met.
    `prefer_sdist` (--no-binary NAME): the sdist only."""
    ranks: dict[str, int] = {}
    for i, tag in enumerate(tags):
        ranks.setdefault(tag, i)
    files = project_files(pin.name, links, ranks)
    wanted = _version(pin.version)
    if prefer_sdist:
        return _sdist_only(pin, files, wanted, python_version, page_url)
    wheels = [f for f in files if f.tags is not None and f.version == wanted]
    fitting = [w for w in wheels if w.rank is not None]
    runnable = [w for w in fitting if admits_python(w.link.requires_python, python_version)]
    if not runnable:
        sdists = [f for f in files if f.tags is None and f.version == wanted
                  and admits_python(f.link.requires_python, python_version)]
        if sdists and allow_sdist:
            return _sdist_choice(pin, sdists, page_url)
        raise _no_wheel(pin, files, wheels, fitting, tags, python_version, page_url)
    chosen = best_file(_hash_matches(pin, runnable))
    if not chosen.link.sha256:
        raise ResolutionError(f"the index gives no sha256 for {chosen.link.filename}; "
                              f"pylayers needs one to pin the download ({page_url})")
    assert chosen.rank is not None
    return PackageChoice(name=pin.name, version=str(chosen.version), filename=chosen.link.filename,
                         url=chosen.link.url, sha256=chosen.link.sha256, tag=tags[chosen.rank],
                         yanked=chosen.link.yanked, metadata=bool(chosen.link.core_metadata),
                         metadata_sha256=metadata_sha256(chosen.link.core_metadata),
                         size=chosen.link.size)


def _sdist_only(pin: Pin, files: list[ProjectFile], wanted: Version | None, python_version: str,
                page_url: str) -> PackageChoice:
    sdists = [f for f in files if f.tags is None and f.version == wanted
              and admits_python(f.link.requires_python, python_version)]
    if not sdists:
        raise InputError(pin.file, pin.line, f"{pin.name}=={pin.version} has no source distribution on {page_url}, "
                         f"and --no-binary {pin.name} excludes its wheels")
    return _sdist_choice(pin, sdists, page_url)


def _sdist_choice(pin: Pin, sdists: list[ProjectFile], page_url: str) -> PackageChoice:
    """pip's order among a version's sdists: not yanked, then by file name."""
    pool = _hash_matches(pin, sdists)
    chosen = sorted([f for f in pool if not f.link.yanked] or pool, key=lambda f: f.link.filename)[0]
    if not chosen.link.sha256:
        raise ResolutionError(f"the index gives no sha256 for {chosen.link.filename}; "
                              f"pylayers needs one to pin the download ({page_url})")
    return PackageChoice(name=pin.name, version=str(chosen.version), filename=chosen.link.filename,
                         url=chosen.link.url, sha256=chosen.link.sha256, tag=SOURCE_TAG,
                         yanked=chosen.link.yanked, size=chosen.link.size, sdist=True)


def metadata_sha256(value: bool | str) -> str | None:
    if isinstance(value, str) and value.startswith("sha256="):
        return value[len("sha256="):]
    return None


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def project_files(name: str, links: Sequence[Link], ranks: dict[str, int]) -> list[ProjectFile]:
    """The wheels and sdists of project `name` among `links` (other files and names skipped)."""
    files = []
    for link in links:
        try:
            if link.filename.endswith(".whl"):
                project, version, build, wheel_tags = parse_wheel_filename(link.filename)
                found = [ranks[str(t)] for t in wheel_tags if str(t) in ranks]
                file = ProjectFile(link, version, wheel_tags, tuple(build), min(found) if found else None)
            else:
                project, version = parse_sdist_filename(link.filename)
                file = ProjectFile(link, version, None)
        except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
            continue
        if project == name:
            files.append(file)
    return files


def admits_python(requires_python: str | None, python_version: str) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(python_version, prereleases=True)
    except InvalidSpecifier:
        return True  # like pip: an unreadable Requires-Python excludes nothing


def best_file(wheels: list[ProjectFile]) -> ProjectFile:
    pool = [w for w in wheels if not w.link.yanked] or wheels
    pool = sorted(sorted(pool, key=lambda w: w.link.filename), key=lambda w: w.build, reverse=True)
    return min(pool, key=lambda w: w.rank if w.rank is not None else len(pool))


def _hash_matches(pin: Pin, wheels: list[ProjectFile]) -> list[ProjectFile]:
    if not pin.hashes:
        return wheels
    allowed = {h.split(":", 1)[1] for h in pin.hashes if h.startswith("sha256:")}
    matching = [w for w in wheels if w.link.sha256 in allowed]
    if matching:
        return matching
    best = best_file(wheels).link
    hint = (f"the wheel for it is {best.filename}, --hash=sha256:{best.sha256}" if best.sha256
            else f"the index gives no sha256 for {best.filename}")
    raise InputError(pin.file, pin.line, f"none of the --hash values of {pin.name}=={pin.version} "
                     f"match a wheel for this target ({hint})")


def _no_wheel(pin: Pin, files: list[ProjectFile], wheels: list[ProjectFile], fitting: list[ProjectFile],
              tags: Sequence[str], python_version: str, page_url: str) -> InputError:
    spec = f"{pin.name}=={pin.version}"
    target = f"{tags[0] if tags else 'no wheel tags'}, Python {'.'.join(python_version.split('.')[:2])}"
    if fitting:
        message = (f"{spec} requires Python {fitting[0].link.requires_python} and the target "
                   f"has Python {python_version}")
    elif wheels:
        available = ", ".join(sorted({w.tag_text for w in wheels}))
        message = (f"{spec} has no wheel for the target ({target}) on {page_url}; "
                   f"its wheels are for {available}")
    elif any(f.version == _version(pin.version) for f in files):
        message = (f"{spec} has no wheel for the target ({target}) on {page_url}; only a source "
                   "distribution exists, and --only-binary forbids building it")
    else:
        versions = ", ".join(str(v) for v in sorted({f.version for f in files})[-5:]) or "none"
        message = f"{spec} not found on {page_url} (available: {versions})"
    return InputError(pin.file, pin.line, message)
