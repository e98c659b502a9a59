"""Reading BuildKit's plain progress output: which vertices ran, which were cached."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^#(\d+) (.*)$")


@dataclass(frozen=True)
class Vertex:
    name: str
    cached: bool
    done: bool


def vertices(output: str) -> list[Vertex]:
    """Vertices in order of first appearance, with whether BuildKit reported them CACHED."""
    names: dict[str, str] = {}
    cached: set[str] = set()
    done: set[str] = set()
    for line in output.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        vid, rest = m.groups()
        if vid not in names:
            names[vid] = rest
        elif rest == "CACHED":
            cached.add(vid)
        elif rest.startswith("DONE"):
            done.add(vid)
    return [Vertex(n, v in cached, v in done) for v, n in names.items()]


def package_steps(output: str) -> dict[str, Vertex]:
    """Our per-package install vertices ("pylayers 3/14 flask 3.1.3 (py3-none-any)"), by label."""
    found = {}
    for v in vertices(output):
        m = re.match(r"^pylayers \d+/\d+ (.+?) \(", v.name)
        if m:
            found[m.group(1)] = v
    return found
