"""Frontend options (BUILDKIT_FRONTEND_OPT_* as parsed by the gateway) → a frozen Config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from packaging.utils import InvalidName, canonicalize_name

from .errors import FrontendError

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
BUILD_ARG = "build-arg:"
DEFAULT_FETCH_TIMEOUT = 300.0  # seconds one index page or metadata file may take
MAX_EXEC_GROUPS = 1000  # PYLAYERS_EXEC_GROUPS above this is a mistake, not a plan
DEFAULT_INDEX_MAX_AGE = 600  # seconds the pages of a fully pinned step are reused (pagereuse.py)


@dataclass(frozen=True)
class CacheImport:
    """One --cache-from entry, as BuildKit passes it in the `cache-imports` option."""

    type: str
    attrs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Config:
    opts: Mapping[str, str]
    dockerfile_name: str
    dockerfile_local: str
    target: str
    platforms: tuple[str, ...]
    build_args: Mapping[str, str]
    cache_imports: tuple[CacheImport, ...]
    subrequest: str
    disabled: bool
    max_layers: int | None = None  # PYLAYERS_MAX_LAYERS: package layers per install step
    volatile: tuple[str, ...] = ()  # PYLAYERS_VOLATILE: canonical names pinned to the top
    merge: bool = True  # PYLAYERS_MERGE=0: plain COPY --from (no --link, no MergeOp)
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT
    index_max_age: int = DEFAULT_INDEX_MAX_AGE  # PYLAYERS_INDEX_MAX_AGE: seconds pages are reused, 0: never
    exec_groups: int | None = None  # PYLAYERS_EXEC_GROUPS: the fewest execs small layers share, 0: none
    bytecode_cache: bool = True  # PYLAYERS_BYTECODE_CACHE=0: install execs without the bytecode cache mount

    @property
    def platform(self) -> str:
        """The one target platform ('' = the daemon's default)."""
        return self.platforms[0] if self.platforms else ""


def parse_cache_imports(opts: Mapping[str, str]) -> tuple[CacheImport, ...]:
    entries: list[CacheImport] = []
    raw = opts.get("cache-imports", "")
    if raw:
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            raise FrontendError(f"invalid cache-imports option: {exc}") from None
        for item in decoded or ():
            attrs = tuple(sorted((item.get("Attrs") or {}).items()))
            entries.append(CacheImport(type=item.get("Type", ""), attrs=attrs))
    for ref in filter(None, opts.get("cache-from", "").split(",")):
        entries.append(CacheImport(type="registry", attrs=(("ref", ref.strip()),)))
    return tuple(entries)


def _seconds(name: str, value: str, default: float) -> float:
    if not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 1e6:
        raise FrontendError(f"build argument {name}={value!r}: expected a number of seconds")
    return seconds


def _count(name: str, value: str, most: int, default: int | None, expected: str) -> int | None:
    """A whole number from 0 to `most` (`default` when blank); else a FrontendError saying `expected`."""
    if not value.strip():
        return default
    if not value.strip().isdigit() or int(value) > most:
        raise FrontendError(f"build argument {name}={value!r}: expected {expected}")
    return int(value)


def _max_age(value: str) -> int:
    return _count("PYLAYERS_INDEX_MAX_AGE", value, 86400, DEFAULT_INDEX_MAX_AGE,
                  "a number of seconds from 0 (fetch the index pages on every build) to 86400")


def _exec_groups(value: str) -> int | None:
    return _count("PYLAYERS_EXEC_GROUPS", value, MAX_EXEC_GROUPS, None,
                  f"a number of install execs from 0 (one exec per layer) to {MAX_EXEC_GROUPS}")


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _max_layers(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise FrontendError(f"PYLAYERS_MAX_LAYERS must be a positive number of layers, not {value!r}")
    return int(value)


def _volatile(value: str) -> tuple[str, ...]:
    names = [n.strip() for n in value.replace(" ", ",").split(",") if n.strip()]
    try:
        return tuple(dict.fromkeys(canonicalize_name(n, validate=True) for n in names))
    except InvalidName as exc:
        raise FrontendError(f"PYLAYERS_VOLATILE: {exc}") from None


def from_opts(opts: Mapping[str, str]) -> Config:
    build_args = {k[len(BUILD_ARG):]: v for k, v in opts.items() if k.startswith(BUILD_ARG)}
    platforms = tuple(p.strip() for p in opts.get("platform", "").split(",") if p.strip())
    return Config(
        opts=MappingProxyType(dict(opts)),
        dockerfile_name=opts.get("filename", "") or "Dockerfile",
        dockerfile_local=opts.get("dockerfilekey", "") or "dockerfile",
        target=opts.get("target", ""),
        platforms=platforms,
        build_args=MappingProxyType(build_args),
        cache_imports=parse_cache_imports(opts),
        subrequest=opts.get("requestid", ""),
        disabled=_truthy(build_args.get("PYLAYERS_DISABLE", "")),
        max_layers=_max_layers(build_args.get("PYLAYERS_MAX_LAYERS", "")),
        volatile=_volatile(build_args.get("PYLAYERS_VOLATILE", "")),
        merge=not _falsy(build_args.get("PYLAYERS_MERGE", "")),
        fetch_timeout=_seconds("PYLAYERS_FETCH_TIMEOUT", build_args.get("PYLAYERS_FETCH_TIMEOUT", ""),
                               DEFAULT_FETCH_TIMEOUT),
        index_max_age=_max_age(build_args.get("PYLAYERS_INDEX_MAX_AGE", "")),
        exec_groups=_exec_groups(build_args.get("PYLAYERS_EXEC_GROUPS", "")),
        bytecode_cache=not _falsy(build_args.get("PYLAYERS_BYTECODE_CACHE", "")),
    )


def _falsy(value: str) -> bool:
    return value.strip().lower() in ("0", "false", "no", "off")
