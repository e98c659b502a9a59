"""What the lock-file parsers (uv.lock, pylock.toml, poetry.lock) share.

Each parser turns a lock and the install command's choice of groups and extras into the locked
packages to install for the target: LockedPackage values, each with the wheels the lock lists
(URL and sha256 when the lock carries them) and the line of its `[[package]]` table, so that any
later problem (no wheel for the target, a hash the index contradicts) names file and line.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName

from ..errors import InputError


class Selection(Protocol):
    """The groups and extras an install command asks for (dockerfile.LockOptions)."""

    extras: tuple[str, ...]
    all_extras: bool
    groups: tuple[str, ...]  # --group / --with (added to the default groups)
    without_groups: tuple[str, ...]  # --no-group / --without
    only_groups: tuple[str, ...]  # --only-group / --only ("main": the project's own dependencies)
    all_groups: bool
    no_default_groups: bool


@dataclass(frozen=True)
class LockedFile:
    filename: str
    url: str | None  # None: the lock names the file only (poetry.lock), the index gives its URL
    sha256: str | None
    size: int | None = None  # bytes, when the lock says (uv.lock, pylock.toml): the layer plan uses it


@dataclass(frozen=True)
class LockedPackage:
    name: str  # canonical
    version: str
    file: str  # the lock file
    line: int  # the line of the package's table in the lock
    wheels: tuple[LockedFile, ...]
    sdist: bool  # the lock also lists a source distribution
    index: str | None = None  # the simple index the package comes from, when the lock says
    local: str | None = None  # a project directory (a uv workspace member), relative to the lock's
    sdist_file: LockedFile | None = None  # the sdist, when the lock gives its URL (built if no wheel fits)


@dataclass(frozen=True)
class LockedSet:
    """What a lock asks to install for the target."""

    packages: tuple[LockedPackage, ...]
    project: str | None  # the project itself, when the command installs it (name), else None


def load_toml(path: str, data: bytes) -> dict[str, Any]:
    """The TOML document; an InputError at the line tomllib names when it is malformed."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(path, 0, f"not UTF-8 text ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of_message(str(exc))
        message = getattr(exc, "msg", None) or re.sub(r" \(at line \d+, column \d+\)$", "", str(exc))
        raise InputError(path, line, f"invalid TOML: {message}") from None


@contextlib.contextmanager
def well_formed(path: str, what: str):
    """Turns a value of the wrong type deep in a lock (a list where a table belongs…) into an
    InputError naming the file; the parsers check the shapes they rely on most with their own
    messages, this catches the rest."""
    try:
        yield
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        raise InputError(path, 0, f"malformed {what}: a value has an unexpected type or form "
                         f"({type(exc).__name__}: {exc})") from None


def _line_of_message(text: str) -> int:
    match = re.search(r"at line (\d+)", text)
    return int(match.group(1)) if match else 0


def table_lines(data: bytes, header: str) -> tuple[int, ...]:
    """The 1-based line of each `[[header]]` array-of-tables entry, in document order."""
    pattern = re.compile(r"^\s*\[\[\s*" + re.escape(header) + r"\s*\]\]\s*(?:#.*)?$")
    text = data.decode("utf-8", "replace")
    return tuple(n for n, line in enumerate(text.splitlines(), start=1) if pattern.match(line))


def line_of(lines: tuple[int, ...], index: int) -> int:
    return lines[index] if 0 <= index < len(lines) else 0


def marker_holds(text: str | None, markers: Mapping[str, str], extras: Iterable[str] = (),
                 where: tuple[str, int] = ("", 0)) -> bool:
    """A PEP 508 marker for the target; `extra` true for any of `extras` (or none)."""
    if not text:
        return True
    try:
        marker = Marker(text)
        return any(marker.evaluate({**markers, "extra": extra}) for extra in ("", *extras))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise InputError(where[0], where[1], f"cannot evaluate the marker {text!r} for the "
                         f"target: {exc}") from None


def url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def size_of(value: Any) -> int | None:
    """A file's "size" in a lock: a byte count, or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def sha256_of(value: Any) -> str | None:
    """"sha256:<hex>" (uv.lock, poetry.lock) → <hex>; None for anything else."""
    if isinstance(value, str) and value.lower().startswith("sha256:"):
        return value.split(":", 1)[1].lower()
    return None


def chosen_groups(selection: Selection, known: Iterable[str], defaults: Iterable[str],
                  where: tuple[str, int]) -> tuple[bool, frozenset[str]]:
    """(the project's own dependencies included, the dependency groups included).

    "main" stands for the project's own dependencies (Poetry's name; uv has no such group).
    """
    known = set(known) | {"main"}
    unknown = sorted({*selection.groups, *selection.only_groups, *selection.without_groups} - known)
    if unknown:
        listed = ", ".join(sorted(known - {"main"})) or "none"
        raise InputError(where[0], where[1], f"the install command asks for dependency group(s) "
                         f"{', '.join(unknown)}, which the lock does not define (its groups: {listed})")
    if selection.only_groups:
        return "main" in selection.only_groups, frozenset(selection.only_groups) - {"main"}
    groups = set() if selection.no_default_groups else set(defaults)
    groups |= set(selection.groups) | (known if selection.all_groups else set())
    groups -= set(selection.without_groups)
    return "main" not in selection.without_groups, frozenset(groups - {"main"})


def chosen_extras(selection: Selection, known: Iterable[str], where: tuple[str, int]) -> frozenset[str]:
    known = set(known)
    unknown = sorted(set(selection.extras) - known)
    if unknown:
        raise InputError(where[0], where[1], f"the install command asks for extra(s) {', '.join(unknown)}, "
                         f"which the project does not define (its extras: {', '.join(sorted(known)) or 'none'})")
    return frozenset(known if selection.all_extras else selection.extras)
