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

    @property
    def ran(self) -> bool:
        """BuildKit executed it to completion in this build (not a cache hit, not canceled)."""
        return self.done and not self.cached


def vertices(output: str) -> list[Vertex]:
    """Vertices in order of first appearance, with whether BuildKit reported them CACHED or DONE.

    A vertex may also end CANCELED: BuildKit stops loading a result that turned out not to be
    needed (with --push, a cached layer above it); it neither ran nor was reported cached.
    """
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


def wheels_built(output: str) -> list[str]:
    """The wheels our sdist and local-package builds reported in their output ("pylayers: built <wheel>").

    This, not a vertex's CACHED line, tells whether such a build ran. One build vertex is in several
    solves of a build (the METADATA read, the overlap check, the delegated solve), and CI once saw
    such a vertex with neither CACHED nor DONE after its name line (buildx prints a vertex's state
    on a tick, and a later solve starting it again can replace an earlier completion). The output
    of an exec that ran is printed line by line, always.
    """
    return sorted(set(re.findall(r"pylayers: built (\S+\.whl)", output)))
