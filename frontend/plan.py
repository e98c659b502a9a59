"""Resolved packages → layers: which wheels go into which image layer, in which order.

For now every package gets its own layer. The order is by canonical name, so it depends on the
set of packages alone, never on the order of lines in a requirements file, and a pin change moves
no other package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .resolve.wheels import PackageChoice


@dataclass(frozen=True)
class Layer:
    context: str  # named build context that carries this layer into the Dockerfile
    packages: tuple[PackageChoice, ...]

    @property
    def label(self) -> str:
        return ", ".join(f"{p.name} {p.version}" for p in self.packages)


@dataclass(frozen=True)
class LayerPlan:
    layers: tuple[Layer, ...]

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(layer.context for layer in self.layers)


_UNSAFE = re.compile(r"[^a-z0-9-]+")


def context_name(prefix: str, package: PackageChoice) -> str:
    """A named-context name that is a valid image reference path component."""
    return f"{prefix}-{_UNSAFE.sub('-', package.name)}".strip("-")


def plan_layers(packages: tuple[PackageChoice, ...] | list[PackageChoice], prefix: str) -> LayerPlan:
    ordered = sorted(packages, key=lambda p: p.name)
    names = [p.name for p in ordered]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate packages in plan: {names}")
    return LayerPlan(tuple(Layer(context_name(prefix, p), (p,)) for p in ordered))
