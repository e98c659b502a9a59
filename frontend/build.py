"""The one orchestrator: Dockerfile → install steps → target → pins → wheels → layers → delegate.

This is the only module that sees every stage of the pipeline (inputs, resolve, plan, llb,
gateway). Everything the Dockerfile does apart from the install steps is left to BuildKit's own
Dockerfile frontend, to which the rewritten Dockerfile is delegated at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import posixpath
import time
from dataclasses import dataclass
from typing import Mapping

from . import config as config_mod
from . import dockerfile, layerdefs, llb, lockstep, pagereuse, prebuild, preinstalled, stagemerge, stepwheels
from .downloads import SecretDownloads
from .errors import FrontendError, InputError, InputErrors, SourceLines
from .plan import LayerCount, LayerPlan, check_total, default_budget, plan_layers
from .resolve.wheels import PackageChoice
from .sdists import SdistBuilds
from .solver import Solver, StageResult, delegate_opts, dockerfile_input
from .target import TargetEnv

log = logging.getLogger("pylayers")


@dataclass(frozen=True)
class StepLayers:
    """What one install step became: layer definitions keyed by their named-context name."""

    plan: LayerPlan
    definitions: Mapping[str, object]
    contexts: tuple[str, ...]  # what the step becomes, in order: a new environment, then the plan
    removal: str | None  # the RUN that uninstalls what the stage has of these packages
    base_layers: int  # layers of the stage's FROM image
    hoist: int | None = None  # the line before which the layers go, lower than the step (hoist.py)
    layers: int = 0  # package layers (with the environment's and the project's)
    base_metadata: str | None = None  # set when the only context is the stage's FROM image with
    # the layers merged on it (stagemerge.py): that context's input-metadata (its image config)
    whole_stage: bool = False  # with base_metadata: the context is the whole stage, not its start


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


def bases(results: Mapping[int, StepLayers]) -> dict[int, str]:
    """Steps whose stage starts FROM their layers merged on its image: that context's name."""
    return {k: r.contexts[0] for k, r in results.items() if r.base_metadata and not r.whole_stage}


def stages(results: Mapping[int, StepLayers]) -> dict[int, str]:
    """Steps whose whole stage is one merge of its image, the layers and the rest: its name."""
    return {k: r.contexts[0] for k, r in results.items() if r.whole_stage}


def rewrites(results: Mapping[int, StepLayers]) -> tuple[dict, dict, dict]:
    """What dockerfile.rewrite needs of the steps built: their contexts, bases and whole stages."""
    return {k: r.contexts for k, r in results.items()}, bases(results), stages(results)


def definitions(results: Mapping[int, StepLayers]) -> dict[str, object]:
    return {name: d for r in results.values() for name, d in r.definitions.items()}


def metadata(results: Mapping[int, StepLayers]) -> dict[str, str]:
    """The input-metadata options (image configs) of the contexts that replace a stage's image."""
    return {f"input-metadata:{r.contexts[0]}": r.base_metadata for r in results.values() if r.base_metadata}


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


@contextlib.contextmanager
def phase(what: str):
    """Logs how long a phase of the frontend took (stderr: the daemon's log)."""
    start = time.monotonic()
    yield
    log.info("%s: %.0f ms", what, (time.monotonic() - start) * 1000)


def build_step(solver: Solver, text: str, name: str, step, index: int, inputs,
               earlier: Mapping[int, StepLayers] = {}, on_base: bool = False, whole: bool = False
               ) -> StepLayers | None:
    """One install step's layers; `earlier` steps (built already) may be in its stage.
    `on_base`: the layers may be merged onto the stage's FROM image (stagemerge.py), if the
    Dockerfile lets them go there; `whole`: with the rest of the stage as a DiffOp."""
    with phase(f"step {index}: stage and FROM solved"):
        stage = solver.solve_dockerfile(*dockerfile.stage_prefix(text, step, *rewrites(earlier)), inputs,
                                        definitions(earlier), metadata(earlier))
        base_df, base_target = dockerfile.stage_base(text, step)
        base = solver.solve_dockerfile(base_df, base_target, inputs)
    base_state = llb.from_definition(base.definition)
    environment = lockstep.environment(solver, stage, step, name)
    if environment is None:
        return None
    with phase(f"step {index}: target probed"):
        new_env = layerdefs.venv_state(base_state, environment.path, stage.env) if environment.create else None
        target = probe_target(solver, stage, environment.interpreter, new_env and (environment.path, new_env))
    log.info("step %d (%s:%d): target %s", index, name, step.line, target.describe())
    if step.netrc is not None:  # every download of this step with the credentials of the secret
        solver = solver.with_downloads(SecretDownloads(base_state, target.base_interpreter, step.netrc,
                                                       step.network))
    sdists = SdistBuilds(solver, lambda: solver.solve_dockerfile(*dockerfile.build_env_prefix(text, step), inputs),
                         step.network, stage)
    locked = None

    def ready(packages):  # wheels checked, layers planned and built: (plan, solver, layers)
        plan, checked, sizes = plan_step(solver, text, step, index, base, target, packages, sdists)
        states = package_layers(plan, base_state, target, bool(locked and locked.project), checked, sdists)
        with phase(f"step {index}: layers built in turn"):
            prebuild.prebuild(checked, [(sum(sizes.get(p.name, 0) for p in layer.packages), state)
                                        for layer, (_, _, state) in zip(plan.layers, states)])
        return plan, checked, states

    ahead = prebuild.Ahead(ready)  # started on the pinned wheels while their dependencies are checked
    with phase(f"step {index}: wheels chosen"):
        locked = lockstep.locked_wheels(solver, stage, step, name, target) if step.lock else None
        pages = pagereuse.window(solver, base_state, target.base_interpreter, step.network)
        packages = locked.packages if locked else stepwheels.requirement_wheels(solver, stage, step, name, target,
                                                                                text, sdists, ahead.start, pages)
    plan, solver, states = ahead.result(packages)
    total = len(plan.layers) + bool(locked and locked.project)
    below = ([(f"pylayers-{index}-env", f"the environment {environment.path}",
               layerdefs.at_path(new_env, environment.path))] if new_env is not None else [])
    layers = [*below, *states,
              *project_layer(stage, base_state, target, locked, f"pylayers-{index}-project", total)]
    removal = preinstalled.removal_run(target.interpreter, preinstalled.replaced(target.installed, packages))
    hoist = None if removal else dockerfile.hoist_point(text, step, tuple(target.scheme.values()))
    found = StepLayers(plan=plan, definitions={c: llb.marshal(state) for c, _, state in layers},
                       contexts=tuple(c for c, _, _ in layers), removal=removal, base_layers=base.layers,
                       hoist=hoist, layers=len(layers))
    if not (on_base and not removal and stagemerge.usable(base.image_config)):
        return found
    merged = [(label, state) for _, label, state in layers]
    if whole and dockerfile.stage_crossable(text, step, tuple(target.scheme.values())):
        rest = solver.solve_dockerfile(*dockerfile.stage_without_step(text, step, *rewrites(earlier)), inputs,
                                       definitions(earlier), metadata(earlier))
        return on_whole_stage(found, index, base, rest, merged)
    return on_stage_base(found, index, base, merged) if dockerfile.at_stage_start(text, step, hoist) else found


def package_layers(plan: LayerPlan, base_state, target: TargetEnv, extra: bool, solver: Solver,
                   sdists: SdistBuilds | None) -> list[tuple[str, str, object]]:
    """(context, label, state) of each layer of the plan (`extra`: the project's layer follows)."""
    total = len(plan.layers) + extra
    return [(layer.context, layer.label, layerdefs.layer_state(base_state, layer, target, f"{i}/{total}",
                                                               solver.downloads, sdists))
            for i, layer in enumerate(plan.layers, 1)]


def on_whole_stage(found: StepLayers, index: int, base: StageResult, rest: StageResult, layers) -> StepLayers:
    """`found` as one context: the FROM image, the layers, then the stage's other instructions."""
    context = stagemerge.context_name(index)
    merged = stagemerge.merged_stage(llb.from_definition(base.definition), layers, llb.from_definition(rest.definition))
    at = len(base.image_config.get("history") or ())
    return dataclasses.replace(found, definitions={context: llb.marshal(merged)}, contexts=(context,),
                               base_metadata=stagemerge.image_metadata(rest.image_config, [l for l, _ in layers], at),
                               whole_stage=True)


def on_stage_base(found: StepLayers, index: int, base: StageResult, layers) -> StepLayers:
    """`found` as one context: the stage's FROM image with the (label, state) layers merged on it."""
    context = stagemerge.context_name(index)
    merged = stagemerge.merged_base(llb.from_definition(base.definition), layers)
    return dataclasses.replace(found, definitions={context: llb.marshal(merged)}, contexts=(context,),
                               base_metadata=stagemerge.image_metadata(base.image_config, [l for l, _ in layers]))


def plan_step(solver: Solver, text: str, step, index: int, base: StageResult, target: TargetEnv,
              packages: tuple[PackageChoice, ...], sdists: SdistBuilds | None = None
              ) -> tuple[LayerPlan, Solver, dict[str, int]]:
    """The step's layer plan, within the layer budget, once the wheels are here and do not clash;
    the solver whose downloads the layers use (a wheel that needed a second try keeps it); and
    the bytes each wheel installs."""
    with phase(f"step {index}: wheels fetched, overlapping files checked"):
        solver, sizes = stepwheels.fetch_and_check(solver, llb.from_definition(base.definition), packages,
                                                   target, sdists)
    budget = solver.config.max_layers or default_budget(other_layers(text, step, base))
    volatile = tuple(dict.fromkeys((*solver.config.volatile, *(p.name for p in packages if p.local))))
    plan = plan_layers(packages, prefix=f"pylayers-{index}", volatile=volatile, max_layers=budget)
    return plan, solver, sizes


def other_layers(text: str, step, base: StageResult) -> int:
    """The layers of the step's stage that are not package layers (before they are planned)."""
    instructions = dockerfile.stage_layer_counts(text)[step.stage_index] - 1  # the step's RUN
    return base.layers + instructions + bool(step.before) + bool(step.after)


def project_layer(stage: StageResult, base_state, target: TargetEnv, locked, context: str, total: int
                  ) -> list[tuple[str, str, object]]:
    """The project itself (uv sync, poetry install), built from the stage: the step's last layer,
    as [(context, label, state)]."""
    if not (locked and locked.project):
        return []
    wheel = layerdefs.project_wheel_state(llb.from_definition(stage.definition), stage.env,
                                          locked.project_dir, locked.project)
    layer = layerdefs.project_layer_state(base_state, wheel, target, f"{total}/{total} {locked.project}")
    return [(context, f"the project {locked.project}", layer)]


def probe_target(solver: Solver, stage: StageResult, interpreter: tuple[str, str],
                 new_env: tuple[str, object] | None = None) -> TargetEnv:
    executable, kind = interpreter
    mounts = (llb.Mount(new_env[0], new_env[1], readonly=True),) if new_env else ()
    out = layerdefs.probe_state(llb.from_definition(stage.definition), stage.env, stage.workdir,
                                executable, kind, mounts)
    data = solver.read(solver.solve_state(out), "/" + layerdefs.PROBE_FILE)
    return TargetEnv.from_probe(data)


def delegate(client, config, rewritten: str, inputs, layer_inputs, metadata: Mapping[str, str] = {}):
    opts = delegate_opts(config, {**{f"context:{n}": f"input:{n}" for n in layer_inputs}, **metadata})
    defs = {**inputs, **layer_inputs, "dockerfile": dockerfile_input(rewritten)}
    return client.solve(frontend="dockerfile.v0", frontend_opt=opts, frontend_inputs=defs)
