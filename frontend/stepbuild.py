"""One install step of the Dockerfile → its layers (StepLayers): the stage solved, the target
probed, the wheels chosen, checked and planned, the layers built in turn and, where the Dockerfile
lets them, merged onto the stage's image. A part of the orchestrator (build.py), which loops over
the steps and delegates the rewritten Dockerfile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Mapping

from . import dockerfile, layerdefs, llb, lockstep, pagereuse, prebuild, preinstalled, stagemerge, stepwheels
from .downloads import SecretDownloads
from .plan import EXEC_GROUPS, LayerPlan, default_budget, plan_layers
from .resolve.wheels import PackageChoice
from .sdists import SdistBuilds
from .solver import Solver, StageResult
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
        stage, base, probed = solve_stages(solver, text, step, inputs, earlier)
    base_state = llb.from_definition(base.definition)
    environment = lockstep.environment(solver, stage, step, name)
    if environment is None:
        return None
    pages = None if step.lock or step.netrc is not None else pagereuse.window(solver, base_state, base.env,
                                                                               step.network)
    read = None if step.lock else stepwheels.RequirementsAhead(solver, stage, step, name, text, pages)
    with phase(f"step {index}: target probed"):
        new_env = layerdefs.venv_state(base_state, environment.path, stage.env) if environment.create else None
        target = probe_target(solver, probed(), environment.interpreter, new_env and (environment.path, new_env))
    log.info("step %d (%s:%d): target %s", index, name, step.line, target.describe())
    if step.netrc is not None:  # every download of this step with the credentials of the secret
        solver = solver.with_downloads(SecretDownloads(base_state, target.base_interpreter, step.netrc,
                                                       step.network))
    below = ([(f"pylayers-{index}-env", f"the environment {environment.path}",
               layerdefs.at_path(new_env, environment.path))] if new_env is not None else [])
    installer = prebuild.Warm(solver, layerdefs.installer_state(base_state, target.base_interpreter))
    try:  # the installer compiled while the wheels are chosen, fetched and checked (a cold build)
        found, layers = step_layers(solver, text, name, step, index, inputs, stage, base, target, below,
                                    pages, read)
    finally:
        installer.wait()
    if not (on_base and not found.removal and stagemerge.usable(base.image_config)):
        return found
    merged = [(label, state) for _, label, state in layers]
    if whole and dockerfile.stage_crossable(text, step, tuple(target.scheme.values())):
        rest = solver.solve_dockerfile(*dockerfile.stage_without_step(text, step, *rewrites(earlier)), inputs,
                                       definitions(earlier), metadata(earlier))
        return on_whole_stage(found, index, base, rest, merged)
    return on_stage_base(found, index, base, merged) if dockerfile.at_stage_start(text, step, found.hoist) else found


def solve_stages(solver: Solver, text: str, step, inputs, earlier: Mapping[int, StepLayers]
                 ) -> tuple[StageResult, StageResult, Callable[[], StageResult]]:
    """The stage up to the step, its FROM image, and (a function giving it, or raising its error
    when asked) the stage the target is probed on: without its last COPY of the requirement
    files, so that a pin change leaves the probe cached. Solved side by side by the Dockerfile
    frontend: three round trips of a rebuild at once."""
    prefix = dockerfile.stage_prefix(text, step, *rewrites(earlier))
    without = dockerfile.without_requirement_copies(prefix[0], step)
    with ThreadPoolExecutor(max_workers=3) as pool:
        stage = pool.submit(solver.solve_dockerfile, *prefix, inputs, definitions(earlier), metadata(earlier))
        base = pool.submit(solver.solve_dockerfile, *dockerfile.stage_base(text, step), inputs)
        probed = stage if without is None else pool.submit(solver.solve_dockerfile, without, prefix[1], inputs,
                                                           definitions(earlier), metadata(earlier))
    return stage.result(), base.result(), probed.result


def step_layers(solver: Solver, text: str, name: str, step, index: int, inputs, stage: StageResult,
                base: StageResult, target: TargetEnv, below: list, pages: pagereuse.PageWindow | None,
                read: stepwheels.RequirementsAhead | None) -> tuple[StepLayers, list]:
    """The step's layers as COPY contexts, and their (context, label, state): `below` (a new
    environment), the packages' and the project's; `pages`, `read`: the window of index pages
    and the requirement files read before the probe (none for a lock file)."""
    base_state = llb.from_definition(base.definition)
    sdists = SdistBuilds(solver, lambda: solver.solve_dockerfile(*dockerfile.build_env_prefix(text, step), inputs),
                         step.network, stage)
    locked = None

    handoff = stepwheels.MetadataHandoff()

    def ready(packages):  # wheels checked, layers planned and built: (plan, solver, layers)
        checked = stepwheels.Checked()
        try:
            plan, layer_solver, checked = plan_step(solver, text, step, index, base, target, packages, sdists)
        finally:
            handoff.publish(packages, checked.metadata)
        states = package_layers(plan, base_state, target, bool(locked and locked.project), layer_solver, sdists)
        log.info("step %d: %d package layers, written by %d install execs", index, len(plan.layers), len(plan.execs))
        with phase(f"step {index}: layers built in turn"):
            prebuild.prebuild(layer_solver, install_work(plan, checked.sizes, [state for _, _, state in states]))
        return plan, layer_solver, states

    ahead = prebuild.Ahead(ready)  # started on the pinned wheels while their dependencies are checked

    def early(packages):
        handoff.expect(packages)
        ahead.start(packages)

    with phase(f"step {index}: wheels chosen"):
        locked = lockstep.locked_wheels(solver, stage, step, name, target) if step.lock else None
        packages = locked.packages if locked else stepwheels.requirement_wheels(
            solver, stage, step, name, target, text, sdists, early, pages, handoff, read and read.sets())
    plan, solver, states = ahead.result(packages)
    total = len(plan.layers) + bool(locked and locked.project)
    layers = [*below, *states, *project_layer(stage, base_state, target, locked, f"pylayers-{index}-project", total,
                                              solver.config.bytecode_cache)]
    removal = preinstalled.removal_run(target.interpreter, preinstalled.replaced(target.installed, packages))
    hoist = None if removal else dockerfile.hoist_point(text, step, tuple(target.scheme.values()))
    return StepLayers(plan=plan, definitions={c: llb.marshal(state) for c, _, state in layers},
                      contexts=tuple(c for c, _, _ in layers), removal=removal, base_layers=base.layers,
                      hoist=hoist, layers=len(layers)), layers


def package_layers(plan: LayerPlan, base_state, target: TargetEnv, extra: bool, solver: Solver,
                   sdists: SdistBuilds | None) -> list[tuple[str, str, object]]:
    """(context, label, state) of each layer of the plan (`extra`: the project's layer follows)."""
    total = len(plan.layers) + extra
    states: dict[int, object] = {}
    for group in plan.execs:
        made = layerdefs.group_states(base_state, [plan.layers[i] for i in group], target,
                                      [f"{i + 1}/{total}" for i in group], solver.downloads, sdists,
                                      solver.config.bytecode_cache)
        states.update(zip(group, made))
    return [(layer.context, layer.label, states[i]) for i, layer in enumerate(plan.layers)]


def install_work(plan: LayerPlan, sizes: Mapping[str, int], states: list) -> list[tuple[int, object]]:
    """(bytes installed, state) of each install exec of the plan, for prebuild: a shared exec's
    layers as one merge (solving it runs the exec once). Not its first output alone: that saves a
    vertex, yet the stage's merge then took 0.2-0.3 s more and a cold export 1.2 s more
    (docs/benchmarks.md, "Tried after the 09:40 run")."""
    return [(sum(sizes.get(p.name, 0) for i in group for p in plan.layers[i].packages),
             llb.merge([states[i] for i in group], name=f"pylayers: {len(group)} layers of one install exec"))
            for group in plan.execs]


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
              ) -> tuple[LayerPlan, Solver, stepwheels.Checked]:
    """The step's layer plan, within the layer budget, once the wheels are here and do not clash;
    the solver whose downloads the layers use (a wheel that needed a second try keeps it); and
    what the check read of the wheels (their sizes, their METADATA)."""
    with phase(f"step {index}: wheels fetched, overlapping files checked"):
        solver, checked = stepwheels.fetch_and_check(solver, llb.from_definition(base.definition), packages,
                                                   target, sdists)
    budget = solver.config.max_layers or default_budget(other_layers(text, step, base))
    volatile = tuple(dict.fromkeys((*solver.config.volatile, *(p.name for p in packages if p.local))))
    groups = EXEC_GROUPS if solver.config.exec_groups is None else solver.config.exec_groups
    plan = plan_layers(packages, prefix=f"pylayers-{index}", volatile=volatile, max_layers=budget,
                       installed=checked.sizes, exec_groups=groups)
    return plan, solver, checked


def other_layers(text: str, step, base: StageResult) -> int:
    """The layers of the step's stage that are not package layers (before they are planned)."""
    instructions = dockerfile.stage_layer_counts(text)[step.stage_index] - 1  # the step's RUN
    return base.layers + instructions + bool(step.before) + bool(step.after)


def project_layer(stage: StageResult, base_state, target: TargetEnv, locked, context: str, total: int,
                  bytecode_cache: bool = True) -> list[tuple[str, str, object]]:
    """The project itself (uv sync, poetry install), built from the stage: the step's last layer,
    as [(context, label, state)]."""
    if not (locked and locked.project):
        return []
    wheel = layerdefs.project_wheel_state(llb.from_definition(stage.definition), stage.env,
                                          locked.project_dir, locked.project)
    layer = layerdefs.project_layer_state(base_state, wheel, target, f"{total}/{total} {locked.project}",
                                          bytecode_cache)
    return [(context, f"the project {locked.project}", layer)]


def probe_target(solver: Solver, stage: StageResult, interpreter: tuple[str, str],
                 new_env: tuple[str, object] | None = None) -> TargetEnv:
    executable, kind = interpreter
    mounts = (llb.Mount(new_env[0], new_env[1], readonly=True),) if new_env else ()
    out = layerdefs.probe_state(llb.from_definition(stage.definition), stage.env, stage.workdir,
                                executable, kind, mounts)
    data = solver.read(solver.solve_state(out), "/" + layerdefs.PROBE_FILE)
    return TargetEnv.from_probe(data)
