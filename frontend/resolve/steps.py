"""The requirements of one install step + the target → one wheel per package.

Pins whose marker is false for the target are dropped, the rest merged across the step's files
and checked against the constraints; every project page is then fetched in one batch (through
the daemon, by the caller's `fetch_all`) and the best wheel chosen per pin. All input errors of
the step are reported together.
"""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, Protocol, Sequence

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import InputError, InputErrors, ResolutionError
from ..inputs.pins import admits
from ..inputs.requirements import Pin, RequirementSet, merge_pins, raise_errors
from .index import parse_project_page, project_url, redact_url
from .deps import MissingDependency, dependency_errors
from .pinmeta import KnownMetadata, WheelMetadata, choice_metadata
from .provider import Settings
from .resolver import Request, SdistMetadata, Sources, resolve
from .wheels import PackageChoice, select_wheel

DEFAULT_INDEX_URL = "https://pypi.org/simple/"

FetchAll = Callable[[Sequence[str]], Sequence[bytes | None]]  # URLs → bodies (None = not found)
# (URLs, the version spellings wanted of each) → earlier bodies (those versions' files at least), or None
ReusedPages = Callable[[Sequence[str], Sequence[tuple[str, ...]]], Sequence[bytes | None] | None]
# (url, sha256 or None) → bodies; for files whose content the index pins (PEP 658 metadata)
FetchFiles = Callable[[Sequence[tuple[str, str | None]]], Sequence[bytes]]


class Target(Protocol):
    tags: tuple[str, ...]  # supported wheel tags, most preferred first
    python_full_version: str
    markers: Mapping[str, str]  # PEP 508 marker environment


class InstallOptions(Protocol):
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    no_deps: bool


def choose_wheels(fetch_all: FetchAll, requirement_sets: Sequence[RequirementSet], options: InstallOptions,
                  target: Target, env: Mapping[str, str] | Iterable[str],
                  fetch_files: FetchFiles | None = None, wheel_metadata: WheelMetadata | None = None,
                  sdist_metadata: SdistMetadata | None = None,
                  early: Callable[[tuple[PackageChoice, ...]], None] | None = None,
                  reused: ReusedPages | None = None, known_metadata: KnownMetadata | None = None
                  ) -> tuple[PackageChoice, ...]:
    """The wheel (or sdist) of every pin that applies to the target, sorted by name; InputError(s)
    otherwise. `sdist_metadata` builds the chosen sdists, for their dependencies. All pinned,
    `early` hears of the choice before the dependencies are checked (whose METADATA
    `known_metadata` may have, once `early` is done with them), and the pages may be those
    `reused(urls, spellings)` gives (None: not those), if every pin finds its file on them."""
    env = environment(env)
    errors: list[InputError] = []
    pins, merge_errors = merge_pins(_applicable((p for s in requirement_sets for p in s.pins), target,
                                                errors))
    constraints = _applicable((c for s in requirement_sets for c in s.constraints), target, errors)
    errors.extend(merge_errors)
    indexes = index_urls(options, requirement_sets, env)
    resolution = _Resolution(fetch_all, fetch_files, requirement_sets, options, target, indexes, sdist_metadata)
    if not all(p.version and not p.url for p in pins) or resolution.sources.find_links \
            or not resolution.sources.indexes:
        raise_errors(errors)
        return resolution(pins, constraints)
    pins = _constrained(pins, constraints, errors)
    urls = [[project_url(i, pin.name) for i in indexes] for pin in pins]
    wanted = [_spellings(pin.version) for pin, group in zip(pins, urls) for _ in group]
    found = (_choose_all(pins, fetch_pages(lambda flat: reused(flat, wanted), urls), target, resolution)
             if reused else None)
    if found is None or found[1]:  # not reused, or a pin misses its file there: the pages of now
        found = _choose_all(pins, fetch_pages(fetch_all, urls), target, resolution)
    choices, missed = found
    raise_errors(errors + missed)
    choices.sort(key=lambda c: c.name)
    if early is not None:
        early(tuple(choices))
    if fetch_files is not None and not options.no_deps:
        try:
            check_dependencies(fetch_files, choices, pins, target, fetch_all=fetch_all,
                               wheel_metadata=wheel_metadata, sdist_metadata=sdist_metadata,
                               known=known_metadata)
        except (InputError, InputErrors) as exc:
            found = exc.errors if isinstance(exc, InputErrors) else (exc,)
            if resolution.hash_mode or not any(isinstance(e, MissingDependency) for e in found):
                raise
            return resolution(pins, constraints)  # pip installs the dependencies not pinned
    return tuple(choices)


def _choose_all(pins: Sequence[Pin], pages, target: Target, resolution: "_Resolution"
                ) -> tuple[list[PackageChoice], list[InputError]] | None:
    """(the choice of each pin, the errors of the pins that have none) from the pages, if any."""
    if pages is None:
        return None
    choices, errors = [], []
    for pin, answers in zip(pins, pages):
        if all(body is None for _, body in answers):
            errors.append(InputError(pin.file, pin.line, f"{pin.name}: no such project on "
                                     + " or ".join(redact_url(url) for url, _ in answers)))
            continue
        try:
            choices.append(_choose(pin, answers, target, resolution.allows_sdist(pin.name),
                                   pin.name in resolution.no_binary))
        except InputError as exc:
            errors.append(exc)
    return choices, errors


class _Resolution:
    """The resolver for a step whose requirements are not all pinned (or whose pins miss some)."""

    def __init__(self, fetch_all: FetchAll, fetch_files: FetchFiles | None,
                 requirement_sets: Sequence[RequirementSet], options: InstallOptions, target: Target,
                 indexes: tuple[str, ...], sdist_metadata: SdistMetadata | None = None) -> None:
        no_index = any(s.no_index for s in requirement_sets)
        self.only_binary = frozenset((*getattr(options, "only_binary", ()),
                                      *(n for s in requirement_sets for n in s.only_binary)))
        self.sdist_metadata = sdist_metadata
        self.no_binary = frozenset(n for s in requirement_sets for n in s.no_binary)
        self.sources = Sources(() if no_index else indexes,
                               tuple(dict.fromkeys(u for s in requirement_sets for u in s.find_links)))
        self.hash_mode = any(s.require_hashes for s in requirement_sets)
        self.pre = bool(getattr(options, "pre", False)) or any(s.pre for s in requirement_sets)
        self.fetch_all, self.fetch_files, self.options, self.target = fetch_all, fetch_files, options, target

    def allows_sdist(self, name: str) -> bool:
        return ":all:" not in self.only_binary and name not in self.only_binary

    def __call__(self, pins: Sequence[Pin], constraints: Sequence[Pin]) -> tuple[PackageChoice, ...]:
        if self.fetch_files is None:
            raise ResolutionError("resolving requirements needs the daemon to fetch metadata files")
        settings = Settings(self.target.python_full_version, self.target.markers, pre=self.pre,
                            no_deps=self.options.no_deps, only_binary=self.only_binary, no_binary=self.no_binary)
        request = Request(tuple(pins), tuple(constraints), settings, tuple(self.target.tags))
        return resolve(request, self.sources, self.fetch_all, self.fetch_files, self.sdist_metadata)


def check_dependencies(fetch_files: FetchFiles, choices: Sequence[PackageChoice], pins: Sequence[Pin],
                       target: Target, fetch_all: FetchAll | None = None,
                       wheel_metadata: WheelMetadata | None = None,
                       sdist_metadata: SdistMetadata | None = None, known: KnownMetadata | None = None) -> None:
    """Every chosen wheel's declared dependencies must be pinned, at versions it accepts.

    The metadata comes from resolve/pinmeta.py: what `known` has read of the wheels, announced PEP
    658 files, else the wheels themselves; for an sdist, the wheel built from it.
    """
    metadata = choice_metadata(fetch_all, fetch_files, choices, wheel_metadata, sdist_metadata, known)
    raise_errors(dependency_errors(choices, {p.name: p for p in pins}, metadata, target.markers))


def _choose(pin: Pin, answers, target: Target, allow_sdist: bool = False, prefer_sdist: bool = False
            ) -> PackageChoice:
    """The pin's wheel (or sdist), reading only the files of its version; the whole pages for an error."""
    pages = " and ".join(redact_url(url) for url, _ in answers)

    def links(keep, needles=()):
        return tuple(link for url, body in answers if body is not None
                     for link in parse_project_page(body, url, keep=keep, needles=needles))

    spellings = _spellings(pin.version)
    try:
        return select_wheel(pin, links(lambda filename: any(s in filename for s in spellings), spellings),
                            target.tags,
                            target.python_full_version, pages, allow_sdist, prefer_sdist)
    except InputError:
        return select_wheel(pin, links(None), target.tags, target.python_full_version, pages, allow_sdist,
                            prefer_sdist)


def _spellings(version: str) -> tuple[str, ...]:
    """A cheap filter: the version as pinned and in its normal form, one of which the file names
    of its files contain."""
    try:
        return tuple(dict.fromkeys((version, str(Version(version)))))
    except InvalidVersion:
        return (version,)


def environment(env: Mapping[str, str] | Iterable[str]) -> Mapping[str, str]:
    """A stage's environment as a mapping; also accepts an image config's ["K=V", ...] list."""
    if isinstance(env, Mapping):
        return env
    return dict(item.split("=", 1) for item in env if "=" in item)


def index_urls(options: InstallOptions, requirement_sets: Sequence[RequirementSet],
               env: Mapping[str, str]) -> tuple[str, ...]:
    """The index, then the extra indexes: pip's command line > requirements files > PIP_* env."""
    from_files = [s.index_url for s in requirement_sets if s.index_url]
    primary = (options.index_url or (from_files[-1] if from_files else None)
               or env.get("PIP_INDEX_URL") or DEFAULT_INDEX_URL)
    extras = [*options.extra_index_urls, *(u for s in requirement_sets for u in s.extra_index_urls),
              *env.get("PIP_EXTRA_INDEX_URL", "").split()]
    unique: dict[str, str] = {}
    for url in (primary, *extras):
        unique.setdefault(url.rstrip("/") + "/", url)
    return tuple(unique.values())


def window_urls(requirement_sets: Sequence[RequirementSet], options: InstallOptions,
                env: Mapping[str, str] | Iterable[str]) -> tuple[str, ...]:
    """The index pages of every project the sets pin to a version (markers not evaluated: this
    needs no target), sorted: what a window of reused pages fetches (pagereuse.py). Nothing with
    --find-links or --no-index, where pages are not reused."""
    if any(s.find_links or s.no_index for s in requirement_sets):
        return ()
    indexes = index_urls(options, requirement_sets, environment(env))
    names = sorted({canonicalize_name(p.name) for s in requirement_sets for p in s.pins if p.version and not p.url})
    return tuple(project_url(i, name) for name in names for i in indexes)


def all_pinned(requirement_sets: Sequence[RequirementSet]) -> bool:
    """Every requirement of the sets pinned to a version, none a URL or a local project."""
    return all(p.version and not p.url for s in requirement_sets for p in s.pins) \
        and not any(s.locals for s in requirement_sets)


def fetch_pages(fetch_all: FetchAll | ReusedPages, urls: Sequence[Sequence[str]]
                ) -> list[tuple[tuple[str, bytes | None], ...]] | None:
    """Every URL fetched in one batch; per group of URLs, (url, body) in the same order. None
    when `fetch_all` is a ReusedPages that has none."""
    flat = [url for group in urls for url in group]
    bodies = fetch_all(flat) if flat else []
    if bodies is None:
        return None
    bodies = list(bodies)
    if len(bodies) != len(flat):
        raise ResolutionError(f"fetched {len(bodies)} index pages for {len(flat)} URLs")
    answers = iter(zip(flat, bodies))
    return [tuple(next(answers) for _ in group) for group in urls]


def _applicable(pins: Iterable[Pin], target: Target, errors: list[InputError]) -> list[Pin]:
    """The pins without a marker or whose marker holds for the target (extra = "")."""
    kept = []
    for pin in pins:
        try:
            if pin.marker is None or Marker(pin.marker).evaluate({**target.markers, "extra": ""}):
                kept.append(pin)
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
            errors.append(InputError(pin.file, pin.line, f"cannot evaluate the marker of '{pin.text}' "
                                     f"for the target: {exc}"))
    return kept


def _constrained(pins: Sequence[Pin], constraints: Sequence[Pin], errors: list[InputError]) -> list[Pin]:
    """The pins that every constraint of their name admits; an error for each one that does not."""
    kept = []
    for pin in pins:
        bad = [c for c in constraints if c.name == pin.name and not admits(c.specifier, pin.version)]
        for c in bad[:1]:
            errors.append(InputError(pin.file, pin.line, f"{pin.name}=={pin.version} conflicts with "
                                     f"the constraint '{c.text}' at {c.file}:{c.line}"))
        if not bad:
            kept.append(pin)
    return kept
