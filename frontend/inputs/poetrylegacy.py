"""poetry.lock lock-version 2.0 (Poetry 1.x): what `poetry install` installs, found by walking.

These locks record neither groups nor markers per package: the selection starts at
pyproject.toml's dependencies of the chosen groups ([tool.poetry.dependencies] is `main`,
[tool.poetry.group.G.dependencies], [tool.poetry.dev-dependencies] is `dev`) and follows each
package's [package.dependencies] and the extras asked for, evaluating each edge's `markers`,
`python` and `platform` for the target.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..errors import InputError
from .locks import line_of, marker_holds

_EXTRA_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?[^;]*(?:;(.*))?$")


def root_edges(project: Mapping[str, Any], main: bool, groups: frozenset[str],
               extras: frozenset[str]) -> list[tuple[str, Any]]:
    """(name, spec) of the project's dependencies in the chosen groups (optional ones by extra)."""
    poetry = (project.get("tool") or {}).get("poetry") or {}
    wanted_optional = {canonicalize_name(n) for e, names in (poetry.get("extras") or {}).items()
                       if canonicalize_name(e) in extras for n in names}
    edges = []
    if main:
        for name, spec in (poetry.get("dependencies") or {}).items():
            optional = isinstance(spec, dict) and spec.get("optional")
            if name.lower() != "python" and (not optional or canonicalize_name(name) in wanted_optional):
                edges.append((name, spec))
    tables = {g: (t or {}).get("dependencies") or {} for g, t in (poetry.get("group") or {}).items()}
    if poetry.get("dev-dependencies"):
        tables.setdefault("dev", {}).update(poetry["dev-dependencies"])
    edges += [item for g in sorted(groups) for item in tables.get(g, {}).items()]
    return edges


def walk(path: str, packages: list, lines: tuple[int, ...], edges: list[tuple[str, Any]],
         markers: Mapping[str, str]) -> list[int]:
    """The indexes of the lock's packages reached from `edges` for the target."""
    by_name: dict[str, list[int]] = {}
    for index, package in enumerate(packages):
        by_name.setdefault(canonicalize_name(str(package.get("name"))), []).append(index)
    visited: set[int] = set()
    done_extras: set[tuple[int, str]] = set()
    todo = [(name, spec, (path, 0)) for name, spec in edges]
    while todo:
        name, spec, where = todo.pop()
        for one in spec if isinstance(spec, list) else [spec]:
            if not _applies(one, markers, where):
                continue
            index = _pick(path, packages, lines, by_name, canonicalize_name(name), one, markers, where)
            package, here = packages[index], (path, line_of(lines, index))
            if index not in visited:
                visited.add(index)
                todo += [(n, s, here) for n, s in (package.get("dependencies") or {}).items()]
            for extra in (one.get("extras") or []) if isinstance(one, dict) else []:
                if (index, extra) not in done_extras:
                    done_extras.add((index, extra))
                    todo += [_extra_edge(r, here) for r in (package.get("extras") or {}).get(extra, [])]
    return sorted(visited)


def _extra_edge(requirement: str, where: tuple[str, int]) -> tuple[str, Any, tuple[str, int]]:
    """`name (>=1) ; marker` or `name[extra] (>=1)` of a package's [package.extras] → an edge."""
    match = _EXTRA_REQUIREMENT.match(requirement)
    if not match:
        raise InputError(*where, f"malformed extra requirement {requirement!r}")
    extras = [e.strip() for e in (match.group(2) or "").split(",") if e.strip()]
    return match.group(1), {"markers": (match.group(3) or "").strip(), "extras": extras}, where


def _applies(spec: Any, markers: Mapping[str, str], where: tuple[str, int]) -> bool:
    if not isinstance(spec, dict):
        return True
    if spec.get("platform") and spec["platform"] != markers.get("sys_platform"):
        return False
    if spec.get("python") and not poetry_constraint(str(spec["python"])).contains(
            markers["python_full_version"], prereleases=True):
        return False
    return marker_holds(spec.get("markers"), markers, where=where)


def _pick(path: str, packages: list, lines, by_name: dict, name: str, spec: Any, markers, where) -> int:
    found = by_name.get(name, [])
    if len(found) > 1:  # a lock split by Python version: the entry whose python-versions admit the target
        found = [i for i in found if poetry_constraint(str(packages[i].get("python-versions", "*")))
                 .contains(markers["python_full_version"], prereleases=True)] or found
        version = spec.get("version") if isinstance(spec, dict) else spec
        found = [i for i in found if poetry_constraint(str(version or "*"))
                 .contains(str(packages[i].get("version")), prereleases=True)] or found
    if len(found) != 1:
        what = "is not in the lock" if not found else "matches several packages of the lock"
        raise InputError(*where, f"the dependency {name} {what}")
    return found[0]


def poetry_constraint(text: str) -> "_AnyOf":
    """Poetry's version constraint syntax (^, ~, *, ||, spaces or commas) as PEP 440 sets."""
    return _AnyOf(tuple(_specifier(part) for part in text.split("||")))


class _AnyOf(tuple):
    def __new__(cls, sets):
        return super().__new__(cls, sets)

    def contains(self, version: str, prereleases: bool = True) -> bool:
        return any(s.contains(version, prereleases=prereleases) for s in self)


def _specifier(text: str) -> SpecifierSet:
    parts = [p for p in re.split(r"[,\s]+", re.sub(r"(>=|<=|==|!=|~=|>|<|\^|~)\s+", r"\1", text.strip())) if p]
    out = []
    for part in parts:
        if part == "*":
            continue
        if part[0] in "^~" and part[1:2] != "=":
            out += _caret_or_tilde(part[0], part[1:])
        else:
            out.append(part if part[0] in "<>=!~" else f"=={part}")
    try:
        return SpecifierSet(",".join(out))
    except InvalidSpecifier:
        return SpecifierSet()


def _caret_or_tilde(kind: str, version: str) -> list[str]:
    numbers = [int(n) for n in re.findall(r"\d+", version)[:3]] or [0]
    if kind == "^":
        first = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
        upper = numbers[:first] + [numbers[first] + 1]
    else:
        upper = [numbers[0] + 1] if len(numbers) == 1 else [numbers[0], numbers[1] + 1]
    return [f">={version}", f"<{'.'.join(map(str, upper))}"]
