"""pylock.toml (PEP 751) → the locked packages to install for the target.

The file is validated by `packaging.pylock`; the selection follows PEP 751's installer steps:
the lock's `requires-python` and `environments` must admit the target, each package whose marker
holds (with `extras` and `dependency_groups` as sets: the default groups unless the command names
others) is installed, its `requires-python` must admit the target, one package per name. Wheels
carry URL and sha256: no index access. A package from a VCS, a directory or a non-wheel archive is
an error naming its line (not supported yet).
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Mapping

from packaging.markers import Marker
from packaging.utils import canonicalize_name

from ..errors import InputError
from .locks import (LockedFile, LockedPackage, LockedSet, line_of, load_toml, size_of, table_lines,
                    url_filename, well_formed)

if TYPE_CHECKING:  # packaging.pylock is imported when a pylock.toml is read, not at start-up
    from packaging.pylock import Package, Pylock

_PYLOCK_NAME = re.compile(r"^pylock\.([^.]+\.)?toml$")
_PACKAGE_INDEX = re.compile(r"^packages\[(\d+)\]")


def is_pylock(path: str) -> bool:
    """`pylock.toml` or `pylock.<name>.toml` (PEP 751's file names)."""
    return bool(_PYLOCK_NAME.match(posixpath.basename(path)))


def parse_pylock(path: str, data: bytes, markers: Mapping[str, str], python_full_version: str,
                 extras: tuple[str, ...] = (), groups: tuple[str, ...] | None = None) -> LockedSet:
    """The packages to install; `groups` None: the lock's default groups."""
    lines = table_lines(data, "packages")
    with well_formed(path, "pylock file"):
        lock = _validated(path, load_toml(path, data), lines)
        return _select(path, lock, lines, markers, python_full_version, extras, groups)


def _select(path: str, lock: Pylock, lines: tuple[int, ...], markers: Mapping[str, str],
            python_full_version: str, extras: tuple[str, ...], groups: tuple[str, ...] | None) -> LockedSet:
    if lock.requires_python and not lock.requires_python.contains(python_full_version, prereleases=True):
        raise InputError(path, 0, f"the lock requires Python {lock.requires_python} and the target has "
                         f"Python {python_full_version}")
    if lock.environments and not any(m.evaluate(dict(markers)) for m in lock.environments):
        raise InputError(path, 0, "the lock is for other environments than the target's "
                         f"({'; '.join(str(m) for m in lock.environments)})")
    env = {**markers, "extras": frozenset(canonicalize_name(e) for e in extras),
           "dependency_groups": frozenset(lock.default_groups or () if groups is None else groups)}
    chosen: dict[str, int] = {}
    for index, package in enumerate(lock.packages):
        if package.marker and not _holds(package.marker, env, path, line_of(lines, index)):
            continue
        line = line_of(lines, index)
        if package.requires_python and not package.requires_python.contains(python_full_version,
                                                                             prereleases=True):
            raise InputError(path, line, f"{package.name} requires Python {package.requires_python} "
                             f"and the target has Python {python_full_version}")
        if package.name in chosen:
            raise InputError(path, line, f"{package.name} is selected twice for the target (also at "
                             f"line {line_of(lines, chosen[package.name])})")
        chosen[package.name] = index
    return LockedSet(tuple(_locked(path, lock.packages[i], line_of(lines, i)) for i in chosen.values()), None)


def _validated(path: str, doc: dict, lines: tuple[int, ...]) -> Pylock:
    from packaging.pylock import Pylock, PylockValidationError

    try:
        return Pylock.from_dict(doc)
    except PylockValidationError as exc:
        match = _PACKAGE_INDEX.match(exc.context or "")
        line = line_of(lines, int(match.group(1))) if match else 0
        raise InputError(path, line, f"not a valid pylock file: {exc}") from None


def _holds(marker: Marker, env: dict, path: str, line: int) -> bool:
    try:
        return marker.evaluate(env, context="lock_file")
    except Exception as exc:  # packaging's marker errors have no common base
        raise InputError(path, line, f"cannot evaluate the marker {str(marker)!r} for the target: "
                         f"{exc}") from None


def _locked(path: str, package: Package, line: int) -> LockedPackage:
    from packaging.pylock import PackageArchive

    wheels = list(package.wheels or ())
    if isinstance(package.archive, PackageArchive) and package.archive.url and \
            url_filename(package.archive.url).endswith(".whl"):
        wheels = [package.archive]
    elif package.vcs or package.directory or package.archive:
        kind = "VCS" if package.vcs else "directory" if package.directory else "archive"
        raise InputError(path, line, f"{package.name} comes from a {kind}: not supported yet "
                         "(pylayers installs wheels with a URL)")
    files = []
    for wheel in wheels:
        if not wheel.url:
            raise InputError(path, line, f"{package.name}: a wheel with a local path and no URL: "
                             "not supported yet")
        name = getattr(wheel, "name", None) or url_filename(wheel.url)
        files.append(LockedFile(name, wheel.url, (wheel.hashes or {}).get("sha256"),
                                size_of(getattr(wheel, "size", None))))
    sdist = package.sdist
    sdist_file = (LockedFile(getattr(sdist, "name", None) or url_filename(sdist.url), sdist.url,
                             (sdist.hashes or {}).get("sha256"), size_of(getattr(sdist, "size", None)))
                  if sdist is not None and sdist.url and (sdist.hashes or {}).get("sha256") else None)
    return LockedPackage(name=package.name, version=str(package.version or ""), file=path, line=line,
                         wheels=tuple(files), sdist=sdist is not None, index=package.index, sdist_file=sdist_file)
