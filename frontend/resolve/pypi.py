"""A fast path for pins on PyPI: its per-release JSON document instead of the project page.

A project page lists every file of every release (botocore's is 1.4 MB); `/pypi/<name>/<version>/json`
lists one release's files with their sha256 and the release's `requires_dist`, in a few KB. Only
used when PyPI is the one index; anything it cannot answer goes through the simple API, so every
error message is the one the simple API path gives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Sequence

from ..inputs.requirements import Pin
from .index import Link

PYPI_SIMPLE = "https://pypi.org/simple/"


@dataclass(frozen=True)
class Release:
    links: tuple[Link, ...]
    requires_dist: tuple[str, ...] | None  # None: PyPI does not know them


def release_url(pin: Pin) -> str:
    return f"https://pypi.org/pypi/{pin.name}/{pin.version}/json"


def parse_release(data: bytes) -> Release | None:
    """The release's files and dependencies; None if the document is not what we expect."""
    try:
        doc = json.loads(data)
        links = tuple(_link(item) for item in doc["urls"])
        requires = doc["info"].get("requires_dist")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return Release(links, None if requires is None else tuple(requires))


def _link(item: dict) -> Link:
    sha256 = item["digests"]["sha256"]
    return Link(filename=item["filename"], url=item["url"], hashes=(("sha256", sha256),),
                requires_python=item.get("requires_python") or None,
                yanked=bool(item.get("yanked")), yanked_reason=item.get("yanked_reason") or None,
                core_metadata=False)


def fetch_releases(fetch_all: Callable[[Sequence[str]], Sequence[bytes | None]],
                   pins: Sequence[Pin]) -> dict[str, Release]:
    """The releases PyPI answered for, by canonical name (missing ones are left out)."""
    bodies = fetch_all([release_url(pin) for pin in pins]) if pins else []
    found = {}
    for pin, body in zip(pins, bodies):
        release = parse_release(body) if body is not None else None
        if release is not None:
            found[pin.name] = release
    return found


def metadata_of(release: Release) -> bytes | None:
    """The release's dependencies as METADATA text, for the dependency check."""
    if release.requires_dist is None:
        return None
    return "".join(f"Requires-Dist: {r}\n" for r in release.requires_dist).encode()
