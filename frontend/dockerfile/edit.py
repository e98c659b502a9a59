"""Dockerfile text edits: the rewrite that delegates to BuildKit, and the stage cuts it solves."""

from __future__ import annotations

from typing import Mapping

from .model import InstallStep
from .parser import Document, Instruction, content, parse, stage_name
from .steps import find_install_steps

STAGE_NAME = "pylayers-stage"


def has_syntax_directive(text: str) -> bool:
    return bool(parse(text).syntax_lines)


def rewrite(text: str, replacements: Mapping[int, tuple[str, ...]], *, link: bool = True,
            removals: Mapping[int, str] | None = None, hoists: Mapping[int, int] | None = None,
            bases: Mapping[int, str] | None = None, stages: Mapping[int, str] | None = None) -> str:
    """The Dockerfile without its `# syntax=` line(s), each replaced step as COPY --link lines.

    `link=False` writes plain `COPY --from` lines (no MergeOp); `removals[step.key]` is an
    instruction put right before the step's COPY lines; `hoists[step.key]` is the line before
    which they go instead of the step's place (hoist.hoist_point), the step's `after` commands
    staying where the step was. `bases[step.key]` names a context that holds the stage's FROM
    image with the step's layers already on it: the stage starts FROM it, and no COPY is written.
    `stages[step.key]` names a context that is the whole stage, built: the stage is `FROM` it.
    """
    doc = parse(text)
    # with nothing to replace, steps are not looked for: their errors (--user) must not stop a
    # build that leaves every RUN as written (PYLAYERS_DISABLE, subrequests)
    found = find_install_steps(text, "Dockerfile") if replacements else ()
    steps = {s.key: s for s in found if s.key in replacements}
    unknown = set(replacements) - set(steps)
    if unknown:
        raise ValueError(f"not install steps of this Dockerfile: {sorted(unknown)}")
    ends = {i.start: i.end for i in doc.instructions}
    merged = {**{key: (name, False) for key, name in (bases or {}).items()},
              **{key: (name, True) for key, name in (stages or {}).items()}}
    hoisted = {at: key for key, at in (hoists or {}).items() if key in steps and key not in merged}
    froms = {_stage_from(doc, steps[key].stage_index).start: (key, *named) for key, named in merged.items()}
    out: list[str] = []
    index = 0
    while index < len(doc.lines):
        if index in froms:  # the stage's FROM on its merged context: the FROM line, or the whole stage
            key, name, whole = froms[index]
            out.append(_from_context(doc, steps[key], name))
            index = _stage_end(doc, steps[key].stage_index) if whole else ends[index]
            continue
        if index in hoisted:
            key = hoisted.pop(index)
            out.append(_copies(doc, replacements[key], link))
            continue
        if index in steps:
            moved = index in (hoists or {}) or index in (bases or {})
            contexts = () if moved else replacements[index]
            out.extend(_replacement(doc, steps[index], contexts, ends[index], link,
                                    (removals or {}).get(index)))
            index = ends[index]
        else:
            out.extend(() if index in doc.syntax_lines else (doc.lines[index],))
            index += 1
    return "".join(out)


def _from_context(doc: Document, step: InstallStep, context: str) -> str:
    """`FROM context [AS name]`: the stage's FROM line on the context that replaces its image."""
    return f"FROM {context}" + (f" AS {step.stage_name}" if step.stage_name else "") + doc.newline


def _stage_end(doc: Document, stage_index: int) -> int:
    """The line where the stage ends: the next FROM, or the end of the file."""
    froms = [i for i in doc.instructions if i.keyword == "from"]
    return froms[stage_index + 1].start if stage_index + 1 < len(froms) else len(doc.lines)


def stage_without_step(text: str, step: InstallStep, earlier: Mapping[int, tuple[str, ...]] | None = None,
                       bases: Mapping[int, str] | None = None,
                       stages: Mapping[int, str] | None = None) -> tuple[str, str]:
    """The Dockerfile up to the end of the step's stage, without the step (and its syntax lines),
    and the stage to build: the stage's other instructions on its FROM image alone. `earlier`
    steps are replaced as in stage_prefix."""
    if earlier:
        text, step = _rewritten_step(text, step, earlier, bases, stages)
    doc = parse(text)
    _check_step(doc, step)
    end = next(i.end for i in doc.instructions if i.start == step.key)
    rest = parse("".join((*doc.lines[:step.key], *doc.lines[end:])))
    return _cut(rest, step, _stage_end(rest, step.stage_index))


def _replacement(doc: Document, step: InstallStep, contexts: tuple[str, ...], end: int, link: bool,
                 removal: str | None) -> list[str]:
    nl = doc.newline
    lines = [run_line(step, step.before)] if step.before else []
    lines += [removal] if removal else []
    lines += _copy_lines(contexts, link)
    lines += [run_line(step, step.after)] if step.after else []
    text = "".join(line + nl for line in lines)
    last = doc.lines[end - 1]
    return [text if last.endswith("\n") or not text else text[: -len(nl)]]


def _copy_lines(contexts: tuple[str, ...], link: bool) -> list[str]:
    copy = "COPY --link" if link else "COPY"
    return [f"{copy} --from={context} / /" for context in contexts]


def _copies(doc: Document, contexts: tuple[str, ...], link: bool) -> str:
    return "".join(line + doc.newline for line in _copy_lines(contexts, link))


def run_line(step: InstallStep, command: str) -> str:
    return " ".join(("RUN",) + step.run_flags + (command,))


def stage_prefix(text: str, step: InstallStep, earlier: Mapping[int, tuple[str, ...]] | None = None,
                 bases: Mapping[int, str] | None = None, stages: Mapping[int, str] | None = None) -> tuple[str, str]:
    """The Dockerfile up to the step (its `before` commands run), and the stage to build.

    `earlier` maps steps already built to their contexts: they are replaced as in `rewrite` (with
    its `bases` and `stages`), so that the stage holds their layers rather than running them.
    """
    if earlier:
        text, step = _rewritten_step(text, step, earlier, bases, stages)
    doc = parse(text)
    _check_step(doc, step)
    body, target = _cut(doc, step, step.key)
    if step.before:
        body += run_line(step, step.before) + doc.newline
    return body, target


def _rewritten_step(text: str, step: InstallStep, earlier: Mapping[int, tuple[str, ...]],
                    bases: Mapping[int, str] | None = None, stages: Mapping[int, str] | None = None):
    """`text` with the `earlier` steps replaced, and `step` as found in it.

    The steps left keep their order (the commands around a replaced step never install), so the
    step is the one at the same position among those not replaced.
    """
    left = [s.key for s in find_install_steps(text, "Dockerfile") if s.key not in earlier]
    rewritten = rewrite(text, earlier, bases=bases, stages=stages)
    return rewritten, find_install_steps(rewritten, "Dockerfile")[left.index(step.key)]


def build_env_prefix(text: str, step: InstallStep) -> tuple[str, str]:
    """The step's stage up to its first COPY, ADD or install step, and the stage to build: where
    the step's sdists are built.

    Whatever a COPY or ADD brings in (the requirement files among it) is part of the cache key of
    every instruction after it; cut before it, a pin change leaves the sdist builds cached. A
    compiler installed by a RUN before the first COPY is there.
    """
    doc = parse(text)
    _check_step(doc, step)
    start = _stage_from(doc, step.stage_index).end
    installs = {s.key for s in find_install_steps(text, "Dockerfile")}
    cut = next((i.start for i in doc.instructions if start <= i.start < step.key
                and (i.keyword in ("copy", "add") or i.start in installs)), step.key)
    return _cut(doc, step, cut)


def stage_base(text: str, step: InstallStep) -> tuple[str, str]:
    """The Dockerfile up to the FROM of the step's stage, and that stage's name to build."""
    doc = parse(text)
    _check_step(doc, step)
    return _cut(doc, step, _stage_from(doc, step.stage_index).end)


def _check_step(doc: Document, step: InstallStep) -> None:
    if not any(i.start == step.key and i.keyword == "run" for i in doc.instructions):
        raise ValueError(f"line {step.line} is not a RUN instruction of this Dockerfile")


def _cut(doc: Document, step: InstallStep, end: int) -> tuple[str, str]:
    """Lines [0, end) without the syntax lines; the step's stage named if it is not."""
    stage = _stage_from(doc, step.stage_index)
    target = step.stage_name or _free_name(doc)
    lines = list(doc.lines[:end])
    for index in doc.syntax_lines:
        lines[index] = ""
    if step.stage_name is None:
        lines[stage.start:stage.end] = [_named_from(doc, stage, target)]
    body = "".join(lines)
    return (body if not body or body.endswith("\n") else body + doc.newline), target


def _stage_from(doc: Document, stage_index: int) -> Instruction:
    froms = [i for i in doc.instructions if i.keyword == "from"]
    return froms[stage_index]


def _named_from(doc: Document, stage: Instruction, name: str) -> str:
    """The stage's FROM instruction with ` AS name` added, kept as written if on one line."""
    if stage.end - stage.start == 1:
        line = doc.lines[stage.start]
        return content(line).rstrip() + f" AS {name}" + line[len(content(line)):]
    return f"FROM {stage.args} AS {name}{doc.newline}"


def _free_name(doc: Document) -> str:
    used = {stage_name(i.args) for i in doc.instructions if i.keyword == "from"}
    name, n = STAGE_NAME, 1
    while name in used:
        name, n = f"{STAGE_NAME}-{n}", n + 1
    return name


LAYER_KEYWORDS = ("run", "copy", "add", "workdir")  # BuildKit's WORKDIR makes the directory: a layer


def stage_layer_counts(text: str) -> tuple[int, ...]:
    """Per stage (FROM), how many of its instructions add a layer (RUN, COPY, ADD, WORKDIR)."""
    counts: list[int] = []
    for instr in parse(text).instructions:
        if instr.keyword == "from":
            counts.append(0)
        elif instr.keyword in LAYER_KEYWORDS and counts:
            counts[-1] += 1
    return tuple(counts)
