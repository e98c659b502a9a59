"""The Dockerfile side of pylayers: find `RUN pip install -r FILE` steps and rewrite them.

    find_install_steps(text, filename) -> tuple[InstallStep, ...]
    rewrite(text, {step.key: contexts}) -> Dockerfile for BuildKit's Dockerfile frontend
    stage_prefix(text, step) / stage_base(text, step) -> (Dockerfile, target stage) to solve
"""

from __future__ import annotations

from .edit import (build_env_prefix, has_syntax_directive, rewrite, stage_base, stage_layer_counts, stage_prefix,
                   stage_without_step)
from .hoist import at_stage_start, hoist_point, stage_crossable, without_requirement_copies
from .model import InstallOptions, InstallStep
from .steps import find_install_steps

__all__ = [
    "InstallOptions", "InstallStep", "at_stage_start", "build_env_prefix", "find_install_steps", "has_syntax_directive",
    "hoist_point", "rewrite",
    "stage_base", "stage_crossable", "stage_layer_counts", "stage_prefix", "stage_without_step",
    "without_requirement_copies",
]
