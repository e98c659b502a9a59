"""The METADATA of chosen wheels, for checking pins against their dependencies.

PEP 658 files the index announces are fetched with their sha256. For the others, the wheel's own
METADATA is read lazily when the caller can (`wheel_metadata`: the wheel is fetched with its
sha256, as its layer will be, so a rebuild makes no request); otherwise the `.metadata` file is
tried anyway (PyPI mirrors often serve files they do not announce) before the whole wheel is read.
A caller that has read the wheels already (`known`: the overlap check) gives their METADATA first.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Mapping, Sequence

from ..errors import ResolutionError
from .candidates import metadata_from_wheel
from .wheels import PackageChoice

FetchAll = Callable[[Sequence[str]], Sequence[bytes | None]]
FetchFiles = Callable[[Sequence[tuple[str, str | None]]], Sequence[bytes]]
WheelMetadata = Callable[[Sequence[tuple[str, str, str]]], Sequence[bytes]]  # (url, sha256, filename)
SdistMetadata = Callable[[Sequence[PackageChoice]], Sequence[bytes]]  # the wheels built from the sdists
KnownMetadata = Callable[[Sequence[PackageChoice]], Mapping[str, bytes]]  # name → METADATA, of those it has




def choice_metadata(fetch_all: FetchAll | None, fetch_files: FetchFiles, choices: Sequence[PackageChoice],
                    wheel_metadata: WheelMetadata | None = None,
                    sdist_metadata: SdistMetadata | None = None, known: KnownMetadata | None = None
                    ) -> dict[str, bytes]:
    """name → METADATA text, in at most two rounds of fetches; an sdist's from the wheel built from it."""
    if known is not None:
        found = dict(known(choices))
        rest = [c for c in choices if c.name not in found]
        return {**found, **(choice_metadata(fetch_all, fetch_files, rest, wheel_metadata, sdist_metadata)
                            if rest else {})}
    sdists = [c for c in choices if c.sdist]
    if sdists:
        if sdist_metadata is None:
            raise ResolutionError(f"{sdists[0].filename}: building source distributions needs the daemon")
        wheels = [c for c in choices if not c.sdist]
        with ThreadPoolExecutor(max_workers=2) as pool:
            built = pool.submit(sdist_metadata, sdists)
            found = choice_metadata(fetch_all, fetch_files, wheels, wheel_metadata)
            found.update(zip((c.name for c in sdists), built.result()))
        return found
    if wheel_metadata is not None:
        return _announced_or_lazy(fetch_files, wheel_metadata, choices)
    announced = [c for c in choices if c.metadata]
    guessed = [c for c in choices if not c.metadata] if fetch_all is not None else []
    with ThreadPoolExecutor(max_workers=2) as pool:
        files = pool.submit(fetch_files, [(c.metadata_url, c.metadata_sha256) for c in announced])
        guesses = pool.submit(fetch_all, [c.metadata_url for c in guessed]) if guessed else None
        found = dict(zip((c.name for c in announced), files.result()))
        guess_bodies = list(guesses.result()) if guesses else []
    wheels = []
    for choice, body in zip(guessed, guess_bodies):
        if body is None:
            wheels.append(choice)
        else:
            found[choice.name] = body
    if wheels:
        bodies = fetch_files([(c.url, c.sha256) for c in wheels])
        found.update((c.name, metadata_from_wheel(body, c.filename)) for c, body in zip(wheels, bodies))
    return found


def _announced_or_lazy(fetch_files: FetchFiles, wheel_metadata: WheelMetadata,
                       choices: Sequence[PackageChoice]) -> dict[str, bytes]:
    announced = [c for c in choices if c.metadata]
    others = [c for c in choices if not c.metadata]
    with ThreadPoolExecutor(max_workers=2) as pool:
        files = pool.submit(fetch_files, [(c.metadata_url, c.metadata_sha256) for c in announced])
        lazy = pool.submit(wheel_metadata, [(c.url, c.sha256, c.filename) for c in others])
        found = dict(zip((c.name for c in announced), files.result()))
        found.update(zip((c.name for c in others), lazy.result()))
    return found
