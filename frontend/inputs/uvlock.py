"""uv.lock → the locked packages `uv sync --frozen` installs for the target.

uv.lock is universal: it holds every package for every platform, extra and dependency group.
What one target gets is found by walking the dependency graph from the project (the package
whose source is the project directory): its dependencies, the optional dependencies of the
extras asked for and the dev-dependencies of the groups asked for, each edge's marker evaluated
for the target. Where the lock forks (one name, several versions) an edge names the version, and
otherwise the package's `resolution-markers` decide. Wheels carry URL and sha256: no index needed.
"""

from __future__ import annotations

from typing import Any, Mapping

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..errors import InputError
from .locks import (LockedFile, LockedPackage, LockedSet, Selection, chosen_extras, chosen_groups,
                    line_of, load_toml, marker_holds, sha256_of, size_of, table_lines, url_filename,
                    well_formed)

SUPPORTED_VERSION = 1
_LOCAL_SOURCES = ("editable", "virtual", "directory", "path")
_MEMBER_SOURCES = ("editable", "directory")  # built from their directory (localpkgs.py), as regular wheels


def parse_uv_lock(path: str, data: bytes, selection: Selection, markers: Mapping[str, str],
                  default_groups: tuple[str, ...] | None = None, install_project: bool = True) -> LockedSet:
    """The packages to install; `default_groups` from pyproject's [tool.uv] (None: ["dev"])."""
    doc = load_toml(path, data)
    with well_formed(path, "uv.lock"):
        return _parse(path, data, doc, selection, markers, default_groups, install_project)


def _parse(path: str, data: bytes, doc: dict, selection: Selection, markers: Mapping[str, str],
           default_groups: tuple[str, ...] | None, install_project: bool) -> LockedSet:
    if doc.get("version") != SUPPORTED_VERSION:
        raise InputError(path, 1, f"unsupported uv.lock version {doc.get('version')!r} "
                         f"(pylayers reads version {SUPPORTED_VERSION})")
    _check_python(path, data, doc.get("requires-python"), markers["python_full_version"])
    lock = _Lock(path, doc, table_lines(data, "package"), markers)
    root = lock.root()
    where = (path, lock.line(root))
    groups = lock.table(root, "dev-dependencies")
    main, chosen = chosen_groups(selection, groups, ("dev",) if default_groups is None else default_groups,
                                 where)
    extras = chosen_extras(selection, lock.table(root, "optional-dependencies"), where)
    edges = []
    if main:
        edges += list(root.get("dependencies") or [])
        edges += [e for x in sorted(extras) for e in lock.table(root, "optional-dependencies")[x]]
    edges += [e for g in sorted(chosen) for e in groups.get(g) or []]
    visited = lock.walk(root, edges)
    project = root["name"] if main and install_project and _source_kind(root) != "virtual" else None
    installed = (i for i in sorted(visited) if _source_kind(lock.packages[i]) != "virtual")  # nothing to install
    return LockedSet(tuple(lock.locked(i) for i in installed), project)


def _check_python(path: str, data: bytes, requires: object, version: str) -> None:
    """uv refuses an interpreter outside the lock's requires-python: so does pylayers."""
    if not requires:
        return
    try:
        admitted = SpecifierSet(str(requires)).contains(version, prereleases=True)
    except InvalidSpecifier:
        admitted = True
    if not admitted:
        lines = data.decode("utf-8", "replace").splitlines()
        line = next((n for n, text in enumerate(lines, start=1) if text.startswith("requires-python")), 0)
        raise InputError(path, line, f"the lock requires Python {requires} and the target has Python {version}")


def _source_kind(package: Mapping[str, Any]) -> str:
    source = package.get("source") or {}
    return next(iter(source), "") if isinstance(source, dict) else ""


class _Lock:
    def __init__(self, path: str, doc: dict, lines: tuple[int, ...], markers: Mapping[str, str]) -> None:
        self.path = path
        self.packages = doc.get("package") or []
        self.lines = lines
        self.markers = markers
        if not isinstance(self.packages, list) or not all(isinstance(p, dict) for p in self.packages):
            raise InputError(path, 0, "uv.lock: `package` must be an array of tables")
        self.by_name: dict[str, list[int]] = {}
        for index, package in enumerate(self.packages):
            if not isinstance(package.get("name"), str) or not isinstance(package.get("version", ""), str):
                raise InputError(path, line_of(lines, index), "a [[package]] without a name or version")
            self.by_name.setdefault(canonicalize_name(package["name"]), []).append(index)
        self.index = {id(p): i for i, p in enumerate(self.packages)}

    def line(self, package: Mapping[str, Any]) -> int:
        return line_of(self.lines, self.index[id(package)])

    def root(self) -> dict:
        roots = [p for p in self.packages if _source_kind(p) in _LOCAL_SOURCES
                 and (p.get("source") or {}).get(_source_kind(p)) == "."]
        if len(roots) != 1:
            raise InputError(self.path, 0, "uv.lock has no project at '.' (a package with source "
                             "{ editable = \".\" } or { virtual = \".\" }): uv sync runs in the "
                             "project's directory")
        return roots[0]

    def table(self, package: dict, key: str) -> dict[str, list]:
        value = package.get(key) or {}
        if not isinstance(value, dict):
            raise InputError(self.path, self.line(package), f"[package.{key}] must be a table")
        return {canonicalize_name(k) if key == "optional-dependencies" else k: v for k, v in value.items()}

    def walk(self, root: dict, edges: list) -> set[int]:
        visited: set[int] = set()
        seen_extras: set[tuple[int, str]] = set()
        todo = [(root, e) for e in edges]
        while todo:
            parent, edge = todo.pop()
            if not isinstance(edge, dict) or not isinstance(edge.get("name"), str):
                raise InputError(self.path, self.line(parent), f"malformed dependency {edge!r} of "
                                 f"{parent.get('name')}")
            if not marker_holds(edge.get("marker"), self.markers, where=(self.path, self.line(parent))):
                continue
            index = self.resolve(parent, edge)
            package = self.packages[index]
            if package is root:
                continue
            if index not in visited:
                visited.add(index)
                todo += [(package, e) for e in package.get("dependencies") or []]
            for extra in edge.get("extra") or []:
                if (index, extra) not in seen_extras:
                    seen_extras.add((index, extra))
                    todo += [(package, e) for e in self.table(package, "optional-dependencies")
                             .get(canonicalize_name(extra), [])]
        return visited

    def resolve(self, parent: dict, edge: dict) -> int:
        name = canonicalize_name(edge["name"])
        found = list(self.by_name.get(name, ()))
        if "version" in edge:
            found = [i for i in found if self.packages[i].get("version") == edge["version"]]
        if "source" in edge:
            found = [i for i in found if self.packages[i].get("source") == edge["source"]]
        if len(found) > 1:
            found = [i for i in found if any(marker_holds(m, self.markers, where=(self.path, self.line(self.packages[i])))
                                             for m in self.packages[i].get("resolution-markers") or [""])]
        if len(found) != 1:
            what = "is not in the lock" if not found else "matches several packages of the lock"
            raise InputError(self.path, self.line(parent), f"{parent.get('name')} depends on {name}, "
                             f"which {what}")
        return found[0]

    def locked(self, index: int) -> LockedPackage:
        package = self.packages[index]
        line = line_of(self.lines, index)
        kind = _source_kind(package)
        if kind in _MEMBER_SOURCES and isinstance(package["source"][kind], str):  # a workspace member
            return LockedPackage(name=canonicalize_name(package["name"]), version=str(package.get("version", "")),
                                 file=self.path, line=line, wheels=(), sdist=False, local=package["source"][kind])
        if kind not in ("registry", "url"):
            what = {"editable": "an editable", "virtual": "a virtual"}.get(kind, f"a {kind or 'unknown'}")
            raise InputError(self.path, line, f"{package['name']} comes from {what} source (a local "
                             "project): not supported yet (pylayers installs wheels from an index or a URL)"
                             if kind in _LOCAL_SOURCES else f"{package['name']} comes from {what} source: "
                             "not supported yet (pylayers installs wheels from an index or a URL)")
        source_url = (package.get("source") or {}).get("url")
        wheels = []
        for wheel in package.get("wheels") or []:
            url = wheel.get("url") or source_url if isinstance(wheel, dict) else None
            if not isinstance(url, str):
                raise InputError(self.path, line, f"{package['name']}: a wheel without a URL")
            wheels.append(LockedFile(url_filename(url), url, sha256_of(wheel.get("hash")),
                                     size_of(wheel.get("size"))))
        return LockedPackage(name=canonicalize_name(package["name"]), version=str(package.get("version", "")),
                             file=self.path, line=line, wheels=tuple(wheels), sdist="sdist" in package,
                             sdist_file=_sdist_file(package.get("sdist"), source_url),
                             index=(package.get("source") or {}).get("registry"))


def _sdist_file(sdist: Any, source_url: str | None) -> LockedFile | None:
    """The lock's sdist with its URL and sha256, else None (it cannot be fetched pinned)."""
    url = sdist.get("url") or source_url if isinstance(sdist, dict) else None
    sha = sha256_of(sdist.get("hash")) if isinstance(sdist, dict) else None
    if not isinstance(url, str) or not sha:
        return None
    return LockedFile(url_filename(url), url, sha, size_of(sdist.get("size")))


def default_groups(path: str, pyproject: bytes) -> tuple[str, ...] | None:
    """[tool.uv] default-groups of pyproject.toml: its list, every group for "all", None if unset."""
    doc = load_toml(path, pyproject)
    value = ((doc.get("tool") or {}).get("uv") or {}).get("default-groups")
    if value == "all":
        return tuple(doc.get("dependency-groups") or ())
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        raise InputError(path, 0, "[tool.uv] default-groups must be a list of group names or \"all\"")
    return tuple(value)
