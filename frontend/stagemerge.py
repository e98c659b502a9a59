"""The package layers of a step put on its stage's FROM image by one MergeOp.

Written as `COPY --link --from=<layer> / /` lines, the N package layers become N copies and N
chained merges in the Dockerfile frontend's graph. BuildKit pays for that chain on every build,
cached or not: each merge's layer list holds every layer below it, and the build record it writes
after each build walks every one of those lists (about 2 s for 58 packages, before any export).

When the step's layers can sit right on the FROM image (hoist.at_stage_start), one MergeOp of
[FROM image, layer 1, …, layer N] is passed as a named context, with the FROM image's config, and
the stage starts `FROM` it: the same layers in the same order, the same image config, one merge.
The config's history gets one entry per package layer, so `docker history` names each package.

The instructions after such a merge (WORKDIR, COPY . .) make BuildKit build the merge: it
hard-links every package's files into one snapshot (1.5–1.9 s for 58 packages, on every pin
change). When every other instruction of the stage is crossable (hoist.stage_crossable), the
stage is instead built without the step, and the merge is [FROM image, layers…, DiffOp(FROM
image → that stage)]: the stage's own layers come last, as they would, and nothing is built on
the merge; the rewritten Dockerfile is just `FROM` it.
"""

from __future__ import annotations

import base64
import json
from typing import Mapping, Sequence

from . import llb


def context_name(index: int) -> str:
    """The named context of step `index`'s stage base (a valid image reference name)."""
    return f"pylayers-{index}-base"


def usable(image_config: Mapping[str, object]) -> bool:
    """Whether a stage may start FROM the merge instead of its image: the image config is known,
    and holds no ONBUILD triggers, which the Dockerfile frontend would run again on the packages.
    (Solving `FROM image` runs an image's triggers and leaves them out of the result's config, so
    the FROM result given here has none; the check guards a config that would still have some.)"""
    config = image_config.get("config")
    return isinstance(config, dict) and not config.get("OnBuild")


def merged_base(base: "llb.State", layers: Sequence[tuple[str, "llb.State"]]) -> "llb.State":
    """base, then each (label, layer) in order, as one merge: each layer stays its own image layer."""
    return llb.merge([base, *(state for _, state in layers)],
                     name=f"pylayers: {len(layers)} package layers on the stage's image")


def merged_stage(base: "llb.State", layers: Sequence[tuple[str, "llb.State"]], stage: "llb.State") -> "llb.State":
    """base, the (label, layer)s, then the layers the stage's other instructions made on base
    (a DiffOp of stage over base): the whole stage, with nothing to build on the merge."""
    return llb.merge([base, *(state for _, state in layers), llb.diff(base, stage)],
                     name=f"pylayers: the stage with its {len(layers)} package layers")


def image_metadata(image_config: Mapping[str, object], labels: Sequence[str], at: int | None = None) -> str:
    """The `input-metadata:` option value: the image config, with one history entry per layer
    after its first `at` entries (the FROM image's; all of them when None)."""
    config = dict(image_config)
    added = [{"created_by": f"pylayers: {label}", "comment": "pylayers"} for label in labels]
    history = list(config.get("history") or ())
    at = len(history) if at is None else at
    config["history"] = [*history[:at], *added, *history[at:]]
    raw = json.dumps(config, sort_keys=True).encode("utf-8")
    return json.dumps({"containerimage.config": base64.b64encode(raw).decode("ascii")})
