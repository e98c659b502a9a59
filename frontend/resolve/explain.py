"""Why a resolution failed, in the words of pip's ResolutionImpossible, naming the user's lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

from ..errors import InputError
from ..inputs.requirements import Pin
from .candidates import PYTHON, Candidate, Req
from .index import project_url, redact_url

if TYPE_CHECKING:  # pragma: no cover
    from .resolver import Repository, Request


def where(pin: Pin) -> str:
    return f"{pin.file}:{pin.line}"


def root_of(name: str, parents: Mapping[str, Candidate], request: "Request") -> Pin:
    """The user's line that brought `name` in: its own, or that of the first chain of parents."""
    roots = {p.name: p for p in request.roots}
    seen: set[str] = set()
    while name not in roots and name in parents and name not in seen:
        seen.add(name)
        name = parents[name].name
    return roots.get(name) or request.roots[0]


def _chain(name: str, parents: Mapping[str, Candidate]) -> str:
    steps, seen = [], set()
    while name in parents and name not in seen:
        seen.add(name)
        parent = parents[name]
        steps.append(f"{parent.name} {parent.version}")
        name = parent.name
    return " ← ".join(steps)


def _target(request: "Request") -> str:
    python = ".".join(request.settings.python_version.split(".")[:2])
    return f"{request.tags[0] if request.tags else 'no wheel tags'}, Python {python}"


def explain_sdist(candidate: Candidate, parents: Mapping[str, Candidate], request: "Request") -> InputError:
    pin = root_of(candidate.name, parents, request)
    via = _chain(candidate.name, parents) if candidate.name != pin.name else ""
    needed = f" (needed by {via})" if via else ""
    return InputError(pin.file, pin.line, f"{candidate.name}=={candidate.version}{needed} has no wheel for the "
                      f"target ({_target(request)}); only a source distribution exists "
                      f"({candidate.link.filename}), and --only-binary forbids building it")


def explain_impossible(exc, repo: "Repository", parents: Mapping[str, Candidate],
                       request: "Request") -> InputError:
    causes = list(exc.causes)
    constraints = {c.name: c for c in request.constraints}
    if len(causes) == 1 and causes[0].requirement.name not in constraints:
        return _no_match(causes[0].requirement, causes[0].parent, repo, parents, request)
    triggers = sorted({_trigger(c.requirement, c.parent, request) for c in causes})
    lines = [f"Cannot install {_join(triggers)} because these package versions have conflicting "
             "dependencies.", "The conflict is caused by:"]
    relevant = []
    for cause in causes:
        req, parent = cause.requirement, cause.parent
        if parent is not None:
            lines.append(f"    {parent.name} {parent.version} depends on {req.shown()}")
        else:
            lines.append(f"    The user requested {req.shown()}" + (f" ({where(req.pin)})" if req.pin else ""))
        if req.name in constraints and req.name not in relevant:
            relevant.append(req.name)
    for name in relevant:
        c = constraints[name]
        lines.append(f"    The user requested (constraint) {name}{c.specifier} ({where(c)})")
    lines.append("To fix this, loosen the range of package versions you've specified, or remove "
                 "package versions to allow the dependency conflict to be solved.")
    first = next((c.requirement.pin for c in causes if c.requirement.pin is not None), None)
    first = first or root_of(causes[0].requirement.name, parents, request)
    return InputError(first.file, first.line, "\n".join(lines))


def _trigger(req: Req, parent: Candidate | None, request: "Request") -> str:
    if parent is None:
        return req.shown() + (f" ({where(req.pin)})" if req.pin else "")
    roots = {p.name: p for p in request.roots}
    at = f" ({where(roots[parent.name])})" if parent.name in roots else ""
    return f"{parent.name}=={parent.version}{at}"


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _no_match(req: Req, parent: Candidate | None, repo: "Repository", parents: Mapping[str, Candidate],
              request: "Request") -> InputError:
    pin = req.pin or root_of(parent.name if parent else req.name, parents, request)
    by = f" (required by {parent.name} {parent.version})" if parent is not None else ""
    if req.name == PYTHON:
        python = request.settings.python_version
        return InputError(pin.file, pin.line, f"{parent.name} {parent.version} requires a different Python: "
                          f"{python} not in '{req.specifier}'")
    if not repo.found.get(req.name, True) and not repo.shared_names().get(req.name):
        pages = " or ".join(redact_url(project_url(i, req.name)) for i in repo.sources.indexes)
        return InputError(pin.file, pin.line, f"{req.name}{by}: no such project on {pages or 'no index'}")
    versions = repo.versions(req.name)
    fitting = ", ".join(str(c.version) for c in reversed(versions.candidates)) or "none"
    message = (f"Could not find a version that satisfies the requirement {req.shown()}{by} "
               f"(from versions: {fitting})")
    if not versions.candidates and versions.all_versions:
        message += (f"; none of its files fits the target ({_target(request)}): wheels for other "
                    f"platforms or Python versions only")
    return InputError(pin.file, pin.line, message)
