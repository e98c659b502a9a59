"""A requirement as pylayers keeps it (Pin) and the rules for pins that meet: merged like pip's.

Shared by every input format (requirements files, lock files) and by the resolver.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..errors import InputError, InputErrors


@dataclass(frozen=True)
class Pin:
    name: str  # canonical name
    version: str  # the exact version from == ("" for a constraint that is not a pin)
    extras: tuple[str, ...]
    marker: str | None
    hashes: tuple[str, ...]  # "sha256:<hex>", lowercase
    file: str
    line: int  # 1-based, the first physical line of the requirement
    text: str  # the requirement as written, without its options
    specifier: str = ""  # the full version specifier, e.g. "==1.0", ">=2,<3" or ""
    url: str | None = None  # a direct URL wheel (`name @ https://…/x.whl`), without its #fragment


def raise_errors(errors: Iterable[InputError]) -> None:
    errors = list(errors)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)


def merge_pins(pins: Iterable[Pin], key: Callable[[Pin], Hashable] = lambda p: p.name
               ) -> tuple[tuple[Pin, ...], tuple[InputError, ...]]:
    """Pins of the same key merged in first-seen order; a different version is an error at the later."""
    kept: dict[Hashable, Pin] = {}
    errors: list[InputError] = []
    for pin in pins:
        first = kept.get(key(pin))
        if first is None:
            kept[key(pin)] = pin
        elif first.version and pin.version and not same_version(first.version, pin.version):
            errors.append(InputError(pin.file, pin.line, f"{pin.name}=={pin.version} conflicts with "
                                     f"{first.name}=={first.version} at {first.file}:{first.line}"))
        elif first.hashes and pin.hashes and not set(first.hashes) & set(pin.hashes):
            errors.append(InputError(pin.file, pin.line, f"the --hash values of {pin.name}=={pin.version} "
                                     f"have none in common with those at {first.file}:{first.line}"))
        elif not admits(pin.specifier, first.version) or not admits(first.specifier, pin.version):
            errors.append(InputError(pin.file, pin.line, f"{pin.text.strip()} and {first.text.strip()} at "
                                     f"{first.file}:{first.line} admit no version in common"))
        else:
            kept[key(pin)] = _merged(first, pin)
    return tuple(kept.values()), tuple(errors)


def same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def admits(specifier: str, version: str) -> bool:
    """`version` (a pin's exact one, "" for none) satisfies `specifier`, pre-release or not; True
    for a specifier packaging cannot read (a `===` string that is no version is compared as
    written)."""
    if not version:
        return True
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        return True


def _merged(first: Pin, other: Pin) -> Pin:
    """Like pip: extras add up, specifiers intersect, and hashes narrow (no hashes = any file)."""
    hashes = tuple(h for h in first.hashes if h in other.hashes) if other.hashes else first.hashes
    extras = tuple(dict.fromkeys(first.extras + other.extras))
    kept = first if first.version or not other.version else replace(other, extras=first.extras)
    return replace(kept, extras=extras, hashes=hashes or other.hashes, url=first.url or other.url,
                   specifier=_intersection(first.specifier, other.specifier))


def _intersection(a: str, b: str) -> str:
    try:
        return str(SpecifierSet(a) & SpecifierSet(b))
    except InvalidSpecifier:
        return a
