"""poetry.lock (+ pyproject.toml) → the locked packages `poetry install` installs for the target.

Lock format 2.1 (Poetry 2) records, per package, the dependency groups that need it and its
marker (one marker, or one per group), so the selection is a filter: a package is installed when
one of its groups is chosen and that group's marker holds for the target and the chosen extras.
pyproject.toml says which groups exist and which are optional (not installed unless asked for).
The lock lists file names and sha256 only: their URLs come from the index (resolve.locked).
Lock format 2.0 (Poetry 1.x) has neither: poetrylegacy walks its dependency graph instead.
"""

from __future__ import annotations

from typing import Any, Mapping

from packaging.utils import canonicalize_name

from ..errors import InputError
from . import poetrylegacy
from .locks import (LockedFile, LockedPackage, LockedSet, Selection, chosen_extras, chosen_groups,
                    line_of, load_toml, marker_holds, sha256_of, table_lines, well_formed)

SUPPORTED = ("2.0", "2.1")


def parse_poetry_lock(path: str, data: bytes, pyproject_path: str, pyproject: bytes | None,
                      selection: Selection, markers: Mapping[str, str],
                      install_project: bool = True) -> LockedSet:
    doc = load_toml(path, data)
    project = load_toml(pyproject_path, pyproject) if pyproject is not None else {}
    with well_formed(path, "poetry.lock"):
        return _parse(path, data, doc, project, selection, markers, install_project)


def _parse(path: str, data: bytes, doc: dict, project: dict, selection: Selection, markers: Mapping[str, str],
           install_project: bool) -> LockedSet:
    version = str((doc.get("metadata") or {}).get("lock-version", ""))
    if version not in SUPPORTED:
        raise InputError(path, 0, f"poetry.lock lock-version {version or '(none)'} is not supported: "
                         "pylayers reads lock-versions 2.0 and 2.1 (Poetry 1.5 and later); run `poetry lock` "
                         "with a newer Poetry")
    groups, optional = _groups(project)
    lines = table_lines(data, "package")
    packages = doc.get("package") or []
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise InputError(path, 0, "poetry.lock: `package` must be an array of tables")
    locked_groups = {g for p in packages for g in (p.get("groups") or [])}
    main, chosen = chosen_groups(selection, groups | locked_groups, (groups | locked_groups) - optional,
                                 (path, 0))
    extras_table = doc.get("extras") or {}
    extras = chosen_extras(selection, {canonicalize_name(e) for e in extras_table} | _project_extras(project),
                           (path, 0))
    if version == "2.0":
        edges = poetrylegacy.root_edges(project, main, chosen, extras)
        chosen_indexes = poetrylegacy.walk(path, packages, lines, edges, markers)
    else:
        wanted = (chosen | {"main"}) if main else chosen
        chosen_indexes = [i for i, package in enumerate(packages)
                          if _selected(package, wanted, extras, extras_table, markers, (path, line_of(lines, i)))]
    found = [_locked(path, packages[i], line_of(lines, i)) for i in chosen_indexes]
    name = _project_name(project)
    root = name if main and install_project and name and _package_mode(project) else None
    return LockedSet(tuple(found), root)


def _groups(project: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """The groups pyproject.toml defines, and the optional ones among them."""
    poetry = (project.get("tool") or {}).get("poetry") or {}
    groups = {"dev"} if poetry.get("dev-dependencies") else set()
    optional = set()
    for name, table in (poetry.get("group") or {}).items():
        groups.add(name)
        if isinstance(table, dict) and table.get("optional"):
            optional.add(name)
    groups |= set(project.get("dependency-groups") or {})
    return groups, optional


def _project_extras(project: Mapping[str, Any]) -> set[str]:
    poetry = (project.get("tool") or {}).get("poetry") or {}
    names = set((project.get("project") or {}).get("optional-dependencies") or {}) | set(poetry.get("extras") or {})
    return {canonicalize_name(n) for n in names}


def _project_name(project: Mapping[str, Any]) -> str | None:
    return (project.get("project") or {}).get("name") or ((project.get("tool") or {}).get("poetry") or {}).get("name")


def _package_mode(project: Mapping[str, Any]) -> bool:
    return ((project.get("tool") or {}).get("poetry") or {}).get("package-mode", True) is not False


def _selected(package: dict, wanted: set[str], extras: frozenset[str], extras_table: Mapping[str, Any],
              markers: Mapping[str, str], where: tuple[str, int]) -> bool:
    groups = package.get("groups")
    if not isinstance(groups, list) or not isinstance(package.get("name"), str):
        raise InputError(*where, "a [[package]] without a name or a `groups` list")
    groups = [g for g in groups if g in wanted]
    marker = package.get("markers")
    if isinstance(marker, dict):
        holds = any(marker_holds(marker.get(g), markers, extras, where) for g in groups)
    else:
        holds = bool(groups) and marker_holds(marker, markers, extras, where)
    if holds and package.get("optional") and not marker:
        name = canonicalize_name(package["name"])
        holds = any(name in {canonicalize_name(n.split()[0]) for n in extras_table.get(e, [])}
                    for e in extras_table if canonicalize_name(e) in extras)
    return holds


def _locked(path: str, package: dict, line: int) -> LockedPackage:
    source = package.get("source") or {}
    kind = source.get("type") if isinstance(source, dict) else None
    if kind not in (None, "legacy"):
        raise InputError(path, line, f"{package['name']} comes from a {kind} source: not supported yet "
                         "(pylayers installs wheels from an index)")
    files = []
    for item in package.get("files") or []:
        if not isinstance(item, dict) or not isinstance(item.get("file"), str):
            raise InputError(path, line, f"{package['name']}: malformed entry in `files`: {item!r}")
        if item["file"].endswith(".whl"):
            files.append(LockedFile(item["file"], None, sha256_of(item.get("hash"))))
    sdist = any(isinstance(i, dict) and not str(i.get("file", "")).endswith(".whl")
                for i in package.get("files") or [])
    return LockedPackage(name=canonicalize_name(package["name"]), version=str(package.get("version", "")),
                         file=path, line=line, wheels=tuple(files), sdist=sdist,
                         index=source.get("url") if kind == "legacy" else None)
