"""Where a step's package layers can go lower than its RUN, with the same image filesystem.

A Dockerfile usually copies the requirements file (or the whole project) right before the
install: `COPY requirements.txt .` then `RUN pip install -r requirements.txt`. Left there, the
package layers sit on top of that COPY, so every pin change (which changes the file) re-chains
every package layer: BuildKit merges each again, and an image store unpacks each again. The
layers are `COPY --link` layers that only add files under the interpreter's prefix, so they can
be written before instructions that cannot see or touch those files: metadata instructions and
COPY/ADD whose destination is outside the prefix. The image then holds the same files; only the
order of its layers changes, with the packages below what changes more often.
"""

from __future__ import annotations

import posixpath

from .model import InstallStep
from .parser import Document, Instruction, exec_form, parse, split_flags

# instructions that change no file (WORKDIR makes its directory, which no package layer holds)
_METADATA = frozenset(("workdir", "env", "arg", "label", "user", "expose", "cmd", "entrypoint",
                       "stopsignal", "healthcheck", "maintainer", "shell"))


def hoist_point(text: str, step: InstallStep, prefixes: tuple[str, ...]) -> int | None:
    """The line before which the step's layers may go, if lower than the step; else None.

    `prefixes` are the directories the layers write into (the target's install scheme). The
    step must have no commands before the install in its RUN (they would then run with the
    packages present).
    """
    if step.before:
        return None
    doc = parse(text)
    stage = _stage(doc, step)
    workdirs = _workdirs(stage)
    point = None
    for instr, workdir in reversed(list(zip(stage, workdirs))):
        if instr.start >= step.key:
            continue
        if not _crossable(instr, workdir, prefixes):
            break
        point = instr.start
    return point


def at_stage_start(text: str, step: InstallStep, hoist: int | None) -> bool:
    """Whether the step's layers can go right on the stage's FROM image: nothing before the
    install in its RUN, and every instruction between the FROM and the step crossable (`hoist`
    is the step's hoist_point, or None when nothing can be crossed)."""
    if step.before:
        return False
    stage = _stage(parse(text), step)
    return bool(stage) and stage[0].start == (step.key if hoist is None else hoist)


def stage_crossable(text: str, step: InstallStep, prefixes: tuple[str, ...]) -> bool:
    """Whether every other instruction of the step's stage, before and after it, is crossable:
    the stage's files outside the packages then come out the same built without them, and the
    layers can be merged between the FROM image and the rest (stagemerge.py)."""
    if step.before or step.after:
        return False
    stage = _stage_instructions(parse(text), step.stage_index)
    return all(instr.start == step.key or _crossable(instr, workdir, prefixes)
               for instr, workdir in zip(stage, _workdirs(stage)))


def _stage(doc: Document, step: InstallStep) -> list[Instruction]:
    """The instructions of the step's stage after its FROM, up to and including the step."""
    return [i for i in _stage_instructions(doc, step.stage_index) if i.start <= step.key]


def _stage_instructions(doc: Document, stage_index: int) -> list[Instruction]:
    """The instructions of a stage after its FROM, up to the next FROM."""
    froms = [i for i, instr in enumerate(doc.instructions) if instr.keyword == "from"]
    end = froms[stage_index + 1] if stage_index + 1 < len(froms) else len(doc.instructions)
    return list(doc.instructions[froms[stage_index] + 1:end])


def _workdirs(stage: list[Instruction]) -> list[str | None]:
    """The working directory each instruction runs in (None once it depends on a variable)."""
    current: str | None = "/"
    found = []
    for instr in stage:
        found.append(current)
        if instr.keyword == "workdir":
            path = instr.args.strip()
            current = None if current is None or "$" in path else posixpath.join(current, path)
    return found


def _crossable(instr: Instruction, workdir: str | None, prefixes: tuple[str, ...]) -> bool:
    if instr.keyword in _METADATA:
        return True
    if instr.keyword not in ("copy", "add") or instr.heredoc or workdir is None:
        return False
    dest = _destination(instr.args)
    if dest is None or "$" in dest:
        return False
    target = posixpath.normpath(posixpath.join(workdir, dest))
    return not any(_related(target, posixpath.normpath(p)) for p in prefixes)


def _destination(args: str) -> str | None:
    words = _words(args)[1]
    return words[-1] if len(words) >= 2 else None


def _words(args: str) -> tuple[tuple[str, ...], list[str]]:
    """A COPY/ADD's (flags, sources and destination), in exec or shell form."""
    flags, rest = split_flags(args)
    words = exec_form(rest)
    return flags, list(words) if words is not None else rest.split()


def _related(a: str, b: str) -> bool:
    """One path is the other or inside it."""
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def without_requirement_copies(prefix: str, step: InstallStep) -> str | None:
    """`prefix` (a stage_prefix) without its last COPY lines that bring in the step's requirement
    files, or None if it has none: where the probe of the target runs. The stage's interpreter
    does not depend on them, and without them a pin change leaves the probe cached.

    Only COPY from the context (no --from, no heredoc, no variable) after the stage's last RUN,
    into a directory (not /) that holds one of the step's -r/-c files, or into that file."""
    if step.lock is not None:
        return None
    doc = parse(prefix)
    stage = _stage_instructions(doc, step.stage_index)
    workdirs = _workdirs(stage)
    here = workdirs[-1] if stage else "/"
    if here is None:
        return None
    files = [posixpath.normpath(posixpath.join(here, f)) for f in (*step.options.requirements,
                                                                 *step.options.constraints)]
    dropped = []
    for instr, workdir in reversed(list(zip(stage, workdirs))):
        if instr.keyword in ("run", "onbuild", "add"):
            break
        if instr.keyword == "copy" and _brings(instr, workdir, files):
            dropped.append(instr)
    if not dropped:
        return None
    lines = list(doc.lines)
    for instr in dropped:
        lines[instr.start:instr.end] = [""] * (instr.end - instr.start)
    return "".join(lines)


def _brings(instr: Instruction, workdir: str | None, files: list[str]) -> bool:
    flags, words = _words(instr.args)
    if instr.heredoc or workdir is None or len(words) < 2 or any(f.startswith("--from") for f in flags) \
            or any("$" in w for w in words):
        return False
    target = posixpath.normpath(posixpath.join(workdir, words[-1]))
    return target != "/" and any(f == target or f.startswith(target + "/") for f in files)
