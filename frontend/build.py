"""The one orchestrator: Dockerfile → install steps → target → pins → wheels → layers → delegate.

This is the only module that sees every stage of the pipeline (inputs, resolve, plan, llb,
gateway), with its parts stepbuild.py (one install step → its layers), stepwheels.py and
lockstep.py. Everything the Dockerfile does apart from the install steps is left to BuildKit's
own Dockerfile frontend, to which the rewritten Dockerfile is delegated at the end.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Mapping

from . import config as config_mod
from . import dockerfile, llb
from .errors import FrontendError, InputError, InputErrors, SourceLines
from .plan import LayerCount, check_total
from .solver import Solver, delegate_opts, dockerfile_input
from .stepbuild import StepLayers, build_step, definitions, metadata, phase, rewrites

log = logging.getLogger("pylayers")


def build(client, fenv):
    config = config_mod.from_opts(fenv.opts)
    solver = Solver(client, config)
    inputs = client.inputs() if "frontend.inputs" in client.caps else {}
    name, text = read_dockerfile(solver, fenv, config, inputs)
    try:
        return build_dockerfile(client, config, solver, inputs, name, text)
    except FrontendError as exc:
        raise located(exc, name, text)


def build_dockerfile(client, config, solver: Solver, inputs, name: str, text: str):
    """The steps of the Dockerfile `name` (`text`) built, the rest delegated; the delegated result."""
    steps = find_steps(client, config, text, name)
    link = use_merge(client, config) if steps else True
    per_stage = [s.stage_index for s in steps]
    on_base = {s.key for s in steps if link and config.merge and "mergeop" in client.llb_caps
               and per_stage.count(s.stage_index) == 1}
    whole = "diffop" in client.llb_caps
    results: dict[int, StepLayers] = {}
    for index, step in enumerate(steps, start=1):
        try:
            result = build_step(solver, text, name, step, index, inputs, dict(results), on_base=step.key in on_base,
                                whole=whole)
        except FrontendError as exc:  # a failed fetch or resolution: show the install step's RUN
            if exc.source is None and not isinstance(exc, (InputError, InputErrors)):
                exc.source = SourceLines(name, text.encode("utf-8"), ((step.line, step.line),))
            raise
        if result is None:  # left to run as written (said in the progress output)
            continue
        results[step.key] = result
    warn_unused_volatile(client, config, results.values())
    contexts, based, whole_stages = rewrites(results)
    rewritten = dockerfile.rewrite(text, contexts, link=link,
                                   removals={k: r.removal for k, r in results.items() if r.removal},
                                   hoists={k: r.hoist for k, r in results.items() if r.hoist is not None},
                                   bases=based, stages=whole_stages)
    check_layers(client, rewritten, [s for s in steps if s.key in results], results, text)
    with phase("delegated build solved"):
        return delegate(client, config, rewritten, inputs, definitions(results), metadata(results))


def use_merge(client, config) -> bool:
    """COPY --link (MergeOp) unless PYLAYERS_MERGE=0; says once when the daemon lacks MergeOp."""
    if not config.merge:
        return False
    if "mergeop" not in client.llb_caps:
        reason = client.disabled_llb_caps.get("mergeop") or "not supported"
        client.warn(f"this BuildKit cannot merge layers (MergeOp: {reason}; Docker's classic image store?): "
                    "package layers are stacked as copies, so a changed layer re-copies every layer above "
                    "it. The image is the same; use the containerd image store for independent layers")
    return True


def warn_unused_volatile(client, config, results) -> None:
    found = {p.name for r in results for layer in r.plan.layers for p in layer.packages}
    unused = [n for n in config.volatile if n not in found]
    if unused:
        client.warn(f"PYLAYERS_VOLATILE names packages no install step installs: {', '.join(unused)}")


def check_layers(client, rewritten: str, steps, results: Mapping[int, StepLayers], text: str) -> None:
    """Warn past a safe number of layers per stage, refuse past what an image can run with."""
    counts = list(dockerfile.stage_layer_counts(rewritten))
    for s in steps:  # a whole stage in one context: its other instructions' layers are in there
        if results[s.key].whole_stage:
            counts[s.stage_index] = dockerfile.stage_layer_counts(text)[s.stage_index] - 1
    for stage in sorted({s.stage_index for s in steps}):
        mine = [results[s.key] for s in steps if s.stage_index == stage]
        packages = sum(r.layers for r in mine)
        in_text = sum(r.layers for r in mine if not r.base_metadata)  # as COPY lines
        count = LayerCount(mine[0].base_layers, counts[stage] - in_text, packages)
        label = next((s.stage_name for s in steps if s.stage_index == stage and s.stage_name), f"#{stage + 1}")
        log.info("stage %s: %s", label, count.describe())
        warning = check_total(count, label)
        if warning:
            client.warn(warning)


def located(exc: FrontendError, name: str, text: str) -> FrontendError:
    """`exc` with the Dockerfile lines its input errors name, for BuildKit to show as a snippet."""
    errors = exc.errors if isinstance(exc, InputErrors) else (exc,)
    lines = tuple((e.line, e.line) for e in errors if isinstance(e, InputError) and e.file == name and e.line)
    if lines and exc.source is None:
        exc.source = SourceLines(name, text.encode("utf-8"), lines)
    return exc


def find_steps(client, config, text: str, name: str):
    if config.disabled or config.subrequest:
        return ()
    steps = dockerfile.find_install_steps(text, name)
    if steps and len(config.platforms) > 1:
        client.warn("pylayers builds one platform at a time: the pip install steps of this "
                    "multi-platform build run as written")
        return ()
    return steps


def read_dockerfile(solver: Solver, fenv, config, inputs) -> tuple[str, str]:
    name = config.dockerfile_name
    if "dockerfile" in inputs:
        ref = solver.solve_state(llb.from_definition(inputs["dockerfile"]))
    else:
        session = config.opts.get(f"local-sessionid:{config.dockerfile_local}") or fenv.session_id
        src = llb.local(config.dockerfile_local, session_id=session,
                        follow_paths=(name, name + ".dockerignore"),
                        shared_key_hint=name, differ="none")
        ref = solver.solve_state(src)
    data = solver.read(ref, name)
    try:
        return posixpath.basename(name), data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrontendError(f"{name}: not UTF-8 text ({exc})") from None


def delegate(client, config, rewritten: str, inputs, layer_inputs, metadata: Mapping[str, str] = {}):
    opts = delegate_opts(config, {**{f"context:{n}": f"input:{n}" for n in layer_inputs}, **metadata})
    defs = {**inputs, **layer_inputs, "dockerfile": dockerfile_input(rewritten)}
    return client.solve(frontend="dockerfile.v0", frontend_opt=opts, frontend_inputs=defs)
