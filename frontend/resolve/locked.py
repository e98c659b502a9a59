"""Locked packages → one wheel per package for the target (wheels.select_wheel's ranking).

uv.lock and pylock.toml give each wheel's URL and sha256: nothing is fetched. poetry.lock gives
file names and sha256 only: the URLs come from the index's simple project page (PyPI unless the
lock names a source), and every file the index lists under a name in the lock must carry the
lock's sha256 — the download is pinned to it.
"""

from __future__ import annotations

import posixpath
from typing import Callable, Sequence

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..errors import InputError
from ..inputs.locks import LockedFile, LockedPackage
from ..inputs.requirements import Pin, raise_errors
from .index import Link, parse_project_page, project_url, redact_url
from .wheels import LOCAL_TAG, PackageChoice, select_wheel

PYPI_SIMPLE = "https://pypi.org/simple/"
FetchAll = Callable[[Sequence[str]], Sequence[bytes | None]]


def choose_locked(packages: Sequence[LockedPackage], tags: Sequence[str], python_full_version: str,
                  fetch_all: FetchAll | None = None) -> tuple[PackageChoice, ...]:
    """The wheel of each locked package, sorted by name; every problem reported together."""
    unlocated = [p for p in packages if any(w.url is None for w in p.wheels)]
    errors: list[InputError] = []
    found = _index_links(unlocated, fetch_all, errors) if unlocated else {}
    choices = []
    for package in packages:
        if package.local is not None:
            choices.append(_local(package))
            continue
        if package in unlocated and package.name not in found:
            continue  # its error is in `errors`
        try:
            links, where = found.get(package.name) or (_links(package), package.file)
            choices.append(select_wheel(_pin(package), links, tags, python_full_version, where,
                                        allow_sdist=package.sdist_file is not None))
        except InputError as exc:
            errors.append(exc)
    raise_errors(errors)
    return tuple(sorted(choices, key=lambda c: c.name))


def _local(package: LockedPackage) -> PackageChoice:
    """A workspace member: built from its directory (relative to the lock's) into a wheel."""
    path = posixpath.normpath(posixpath.join(posixpath.dirname(package.file), package.local or "."))
    return PackageChoice(name=package.name, version=package.version, filename=path, url=f"file://{path}",
                         sha256="", tag=LOCAL_TAG, local=path)


def _pin(package: LockedPackage) -> Pin:
    version = package.version or _wheel_version(package.wheels)
    return Pin(name=package.name, version=version, extras=(), marker=None,
               hashes=tuple(f"sha256:{w.sha256}" for w in (*package.wheels, *filter(None, (package.sdist_file,)))
                            if w.sha256),
               file=package.file, line=package.line, text=f"{package.name}=={version}")


def _wheel_version(wheels: Sequence[LockedFile]) -> str:
    for wheel in wheels:
        try:
            return str(parse_wheel_filename(wheel.filename)[1])
        except InvalidWheelFilename:
            continue
    return ""


def _links(package: LockedPackage) -> tuple[Link, ...]:
    """The lock's wheels, and its sdist when the lock gives the sdist's URL and sha256."""
    files = (*package.wheels, *((package.sdist_file,) if package.sdist_file else ()))
    return tuple(Link(filename=w.filename, url=w.url or "", hashes=(("sha256", w.sha256),) if w.sha256 else (),
                      size=w.size) for w in files)


def _index_links(packages: Sequence[LockedPackage], fetch_all: FetchAll | None, errors: list[InputError]
                 ) -> dict[str, tuple[tuple[Link, ...], str]]:
    """The index's links to the lock's wheel files, by package name, with the page they came from."""
    if fetch_all is None:
        raise ValueError("locked packages without URLs need an index")
    found: dict[str, tuple[tuple[Link, ...], str]] = {}
    urls = [project_url(_index(p), p.name) for p in packages]
    for package, url, body in zip(packages, urls, fetch_all(urls)):
        if body is None:
            errors.append(InputError(package.file, package.line, f"{package.name}: no such project on "
                                     f"{redact_url(url)}"))
            continue
        wanted = {w.filename for w in package.wheels}
        try:
            links = _verified(package, parse_project_page(body, url, keep=wanted.__contains__))
        except InputError as exc:
            errors.append(exc)
            continue
        found[package.name] = (links, redact_url(url))
    return found


def _index(package: LockedPackage) -> str:
    return (package.index or PYPI_SIMPLE).rstrip("/") + "/"


def _verified(package: LockedPackage, links: Sequence[Link]) -> tuple[Link, ...]:
    """The index's links to the lock's files, each pinned to the lock's sha256."""
    by_name = {w.filename: w for w in package.wheels}
    kept = []
    for link in links:
        locked = by_name.get(link.filename)
        if locked is None:
            continue
        if link.sha256 and locked.sha256 and link.sha256 != locked.sha256:
            raise InputError(package.file, package.line, f"{link.filename}: the lock says sha256 "
                             f"{locked.sha256}, the index says {link.sha256}")
        kept.append(Link(filename=link.filename, url=link.url,
                         hashes=(("sha256", locked.sha256 or link.sha256 or ""),),
                         requires_python=link.requires_python, yanked=link.yanked,
                         core_metadata=link.core_metadata))
    return tuple(kept)
