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
    """Our package install vertices by layer label: "pylayers 3/14 flask 3.1.3 (py3-none-any)" for
    a layer's own exec, "pylayers 5/14 idna 3.10; 9/14 six 1.17.0 (one exec, a layer each)" for
    an exec shared by small layers (each of its labels maps to it)."""
    return {label: v for v in vertices(output) for label in layer_labels(v.name)}


def layer_labels(name: str) -> list[str]:
    """The labels of the layers an install vertex named so writes ([] for any other vertex)."""
    m = re.match(r"^pylayers (\d+/\d+ .+?) \(", name)
    return [part.split(" ", 1)[1] for part in m.group(1).split("; ")] if m else []


def rebuilt(output: str) -> set[str]:
    """The labels of the layers whose install exec ran (all of a shared exec's)."""
    return {label for label, v in package_steps(output).items() if v.ran}


def exec_mates(output: str, label: str) -> set[str]:
    """The labels of the layers the exec that writes layer `label` writes (itself included)."""
    steps = package_steps(output)
    return {other for other, v in steps.items() if v is steps[label]}


def wheels_built(output: str) -> list[str]:
    """The wheels our sdist and local-package builds reported in their output ("pylayers: built <wheel>").

    This, not a vertex's CACHED line, tells whether such a build ran. One build vertex is in several
    solves of a build (the METADATA read, the overlap check, the delegated solve), and CI once saw
    such a vertex with neither CACHED nor DONE after its name line (buildx prints a vertex's state
    on a tick, and a later solve starting it again can replace an earlier completion). The output
    of an exec that ran is printed line by line, always.
    """
    return sorted(set(re.findall(r"pylayers: built (\S+\.whl)", output)))
