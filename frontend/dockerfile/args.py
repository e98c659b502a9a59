"""The build arguments a RUN step sees: the ARGs its stage declares before it.

A RUN's environment holds the stage's ARGs (the --build-arg value, else the ARG's default; an ARG
declared again inside a stage without a default takes the global one) under its ENV, which wins
(Dockerfile reference, "Using ARG variables"). pip expands `${VAR}` in requirements files from
that environment, so pylayers must too.
"""

from __future__ import annotations

import shlex
from typing import Mapping

from .model import InstallStep
from .parser import parse


def step_args(text: str, step: InstallStep, build_args: Mapping[str, str]) -> dict[str, str]:
    """NAME → value of the ARGs in scope at `step` (unset ones left out)."""
    doc = parse(text)
    global_args: dict[str, str] = {}
    scope: dict[str, str] = {}
    stage = -1
    for instr in doc.instructions:
        if instr.start >= step.key:
            break
        if instr.keyword == "from":
            stage, scope = stage + 1, {}
        elif instr.keyword == "arg":
            target = global_args if stage < 0 else scope
            for name, default in _declarations(instr.args):
                value = build_args.get(name, default if default is not None else global_args.get(name))
                if value is not None:
                    target[name] = value
    return scope if stage == step.stage_index else {}


def _declarations(args: str) -> list[tuple[str, str | None]]:
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    found = []
    for word in words:
        name, eq, default = word.partition("=")
        found.append((name, default if eq else None))
    return found
