"""Resolved packages → layers: which wheels go into which image layer, in which order.

Every decision here depends on each package alone (its name and wheel) and on the budget, never
on its neighbours, so that a pin change rebuilds one layer and adding a package changes at most
one layer (see docs/design.md, "Layer plan"):

- While a step's packages fit the budget, each package gets its own layer but a *tiny* one
  (installing less than TINY_BYTES, by the overlap check) shares one of TINY_BUCKETS layers:
  sha256(canonical name) mod TINY_BUCKETS. A layer costs the daemon about the same on every
  build, push and pull whatever its size (export, unpack, history record, registry requests:
  9 layers fewer made the benchmark's 58-package build 2 s faster cold and 0.2 s on a no-op);
  a change to a tiny package pushes its few neighbours again, some tens of KB.
- Past the budget, a *large* wheel (LARGE_WHEEL_BYTES or more, or a platform wheel of unknown
  size) keeps its own layer and small ones share HASH buckets: sha256(canonical name) mod the
  number of buckets, a number fixed by the budget alone. Should the large wheels outnumber half
  the budget, they share buckets of their own the same way.
- Order, bottom to top: by size class, the biggest at the bottom (a power of 4 of the bytes the
  package installs, from the overlap check; of its wheel's size where that is not known), then by
  name, then the tiny buckets; past the budget, the large wheels so, then the buckets. Then the
  packages the user calls volatile, each in its own layer, in the order given. A changed layer
  costs the layers above it too: an image store unpacks, and every pull extracts, the layers
  above a changed one again (their chain changed), so the small ones go above. A version keeps
  its place unless its size crosses a power of 4 (or 64 KiB); it moves then, and its layer (and
  the tiny bucket it leaves or joins) is the only one that changes.

Which layers one exec installs is decided the same way. A container start costs the daemon about
0.1 s of wall time whatever runs in it (twenty execs 3.1 s against one exec starting Python twenty
times 0.53 s), as much as installing a small wheel. So a *small* layer (installing less than
GROUP_BYTES, by the overlap check, with no wheel built from source and not volatile) shares an
install exec with the small layers of its group, sha256(context) mod EXEC_GROUPS, each layer
still written to its own output: the same layers, the same bytes, far fewer execs. A pin change
runs its group's exec again: the group's other layers come out with the same bytes (the same
digests, nothing new to push or pull) at the cost of installing them again, a few small wheels.
Past GROUP_LAYERS * EXEC_GROUPS small layers there is a group per GROUP_LAYERS of them (each
layer's definition carries its whole exec; the delegated Solve carries them all, 4 MiB at most):
a small layer added or removed there may change the number of groups, and every small layer's
exec runs again, once, with the same bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from .errors import FrontendError
from .resolve.wheels import PackageChoice

DEFAULT_MAX_LAYERS = 60  # package layers per install step
LARGE_WHEEL_BYTES = 2 << 20  # 2 MiB: numpy, pandas, grpcio, botocore…; most wheels are far below
SAFE_TOTAL_LAYERS = 90  # above this many layers in the image, pylayers warns
MAX_TOTAL_LAYERS = 125  # overlayfs stacks of about 128 lower layers fail to mount: refused
MIN_MAX_LAYERS = 2
TINY_BYTES = 64 << 10  # a package installing less than this shares a layer (six, mdurl, blinker…)
TINY_BUCKETS = 4
EXEC_GROUPS = 8  # install execs the small layers of a step share (PYLAYERS_EXEC_GROUPS; 0: none)
GROUP_BYTES = 512 << 10  # a layer installing less than this shares an install exec
GROUP_LAYERS = 4  # small layers per group, on average, past EXEC_GROUPS groups


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
    installs: tuple[tuple[int, ...], ...] | None = None  # the layers (indexes) each exec installs

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(layer.context for layer in self.layers)

    @property
    def execs(self) -> tuple[tuple[int, ...], ...]:
        """The layers each install exec writes, in the order of their first layer; one each by default."""
        return self.installs if self.installs is not None else tuple((i,) for i in range(len(self.layers)))


_UNSAFE = re.compile(r"[^a-z0-9-]+")


def context_name(prefix: str, package: PackageChoice) -> str:
    """A named-context name that is a valid image reference path component."""
    return f"{prefix}-{_UNSAFE.sub('-', package.name)}".strip("-")


def group_context(prefix: str, kind: str, index: int) -> str:
    """A bucket's context: `--` never occurs in a package's context (canonical names have no `--`)."""
    return f"{prefix}--{kind}-{index:02d}"


def is_large(package: PackageChoice) -> bool:
    if package.sdist:  # its wheel's size is unknown until built; a build of its own is worth a layer
        return True
    if package.size is not None:
        return package.size >= LARGE_WHEEL_BYTES
    return not package.tag.endswith("-any")  # unknown size: platform wheels carry compiled code


def size_class(package: PackageChoice, installed: Mapping[str, int] = {}) -> int:
    """The power of 4 of what the package installs (or of its wheel; of LARGE_WHEEL_BYTES for a
    large wheel of unknown size, 0 for a small one)."""
    size = installed.get(package.name)
    if size is None:
        known = package.size is not None and not package.sdist
        size = package.size if known else (LARGE_WHEEL_BYTES if is_large(package) else 0)
    return max(size, 0).bit_length() // 2


def is_tiny(package: PackageChoice, installed: Mapping[str, int]) -> bool:
    """Installs less than TINY_BYTES, by the overlap check (never a package built from source)."""
    size = installed.get(package.name)
    return size is not None and size < TINY_BYTES and not package.sdist


def bucket(name: str, count: int) -> int:
    """The bucket of a canonical name: stable across runs, machines and Python versions."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big") % count


def plan_layers(packages: Sequence[PackageChoice], prefix: str, max_layers: int = DEFAULT_MAX_LAYERS,
                volatile: Sequence[str] = (), installed: Mapping[str, int] = {},
                exec_groups: int = EXEC_GROUPS) -> LayerPlan:
    """The layers of `packages` and the execs that install them; `installed`: the bytes each
    one installs, where known."""
    names = [p.name for p in packages]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate packages in plan: {sorted(names)}")
    by_name = {p.name: p for p in packages}
    top = [by_name[n] for n in dict.fromkeys(volatile) if n in by_name]
    rest = [p for p in packages if p.name not in set(volatile)]
    room = max_layers - len(top)
    if len(rest) > room and room < MIN_MAX_LAYERS:
        raise FrontendError(
            f"a layer budget of {max_layers} (PYLAYERS_MAX_LAYERS) leaves {max(room, 0)} layer(s) for "
            f"{len(rest)} packages besides the {len(top)} volatile ones: raise PYLAYERS_MAX_LAYERS "
            f"to at least {len(top) + MIN_MAX_LAYERS} or name fewer packages in PYLAYERS_VOLATILE")
    def order(p: PackageChoice) -> tuple[int, str]:
        return -size_class(p, installed), p.name

    if len(rest) <= room:
        solo = sorted((p for p in rest if not is_tiny(p, installed)), key=order)
        tiny = sorted((p for p in rest if is_tiny(p, installed)), key=lambda p: p.name)
        bottom = _solo(prefix, solo) + _buckets(prefix, "tiny", tiny, TINY_BUCKETS)
    else:
        large = sorted((p for p in rest if is_large(p)), key=order)
        small = sorted((p for p in rest if not is_large(p)), key=lambda p: p.name)
        heavy_slots = room // 2
        bottom = (_solo(prefix, large) if len(large) <= heavy_slots
                  else _buckets(prefix, "heavy", large, heavy_slots))
        bottom += _buckets(prefix, "group", small, room - heavy_slots)
    layers = tuple(bottom + _solo(prefix, top))
    return LayerPlan(layers, install_groups(layers, installed, volatile, exec_groups))


def install_groups(layers: Sequence[Layer], installed: Mapping[str, int], volatile: Sequence[str] = (),
                   count: int = EXEC_GROUPS) -> tuple[tuple[int, ...], ...]:
    """The indexes of the layers each install exec writes: a small layer with the small layers of
    its group (bucket of its context), any other alone; in the order of each exec's first layer.
    More than GROUP_LAYERS * count small layers get a group per GROUP_LAYERS of them: each
    layer's definition carries its whole exec, and the delegated Solve carries every definition."""
    small = [count > 0 and is_small(layer, installed, volatile) for layer in layers]
    count = max(count, -(-sum(small) // GROUP_LAYERS))
    groups: dict[object, list[int]] = {}
    for i, layer in enumerate(layers):
        groups.setdefault(bucket(layer.context, count) if small[i] else ("alone", i), []).append(i)
    return tuple(sorted(tuple(g) for g in groups.values()))


def is_small(layer: Layer, installed: Mapping[str, int], volatile: Sequence[str] = ()) -> bool:
    """Installs less than GROUP_BYTES (known from the overlap check), from wheels only, none volatile."""
    sizes = [installed.get(p.name) for p in layer.packages]
    return (None not in sizes and sum(sizes) < GROUP_BYTES
            and not any(p.sdist or p.local or p.name in volatile for p in layer.packages))


def _solo(prefix: str, packages: Sequence[PackageChoice]) -> list[Layer]:
    return [Layer(context_name(prefix, p), (p,)) for p in packages]


def _buckets(prefix: str, kind: str, packages: Sequence[PackageChoice], count: int) -> list[Layer]:
    members: dict[int, list[PackageChoice]] = {}
    for p in packages:
        members.setdefault(bucket(p.name, count), []).append(p)
    return [Layer(group_context(prefix, kind, i), tuple(sorted(members[i], key=lambda p: p.name)))
            for i in sorted(members)]


@dataclass(frozen=True)
class LayerCount:
    """The layers of the image a stage builds: its base, its other instructions, its packages."""

    base: int
    instructions: int
    packages: int

    @property
    def total(self) -> int:
        return self.base + self.instructions + self.packages

    def describe(self) -> str:
        return (f"{self.total} layers ({self.base} from the base image, {self.instructions} from "
                f"other instructions, {self.packages} package layers)")


def default_budget(fixed: int) -> int:
    """Package layers per step when PYLAYERS_MAX_LAYERS is not set: what keeps the image safe."""
    return max(MIN_MAX_LAYERS, min(DEFAULT_MAX_LAYERS, SAFE_TOTAL_LAYERS - fixed))


def check_total(count: LayerCount, stage: str) -> str | None:
    """A warning past SAFE_TOTAL_LAYERS; FrontendError past MAX_TOTAL_LAYERS."""
    if count.total > MAX_TOTAL_LAYERS:
        room = MAX_TOTAL_LAYERS - count.base - count.instructions
        hint = (f"build with --build-arg PYLAYERS_MAX_LAYERS={max(room, MIN_MAX_LAYERS)} or lower"
                if room >= MIN_MAX_LAYERS else
                "use a base image with fewer layers or merge RUN/COPY instructions")
        raise FrontendError(f"stage {stage} would have {count.describe()}; images with more than "
                            f"{MAX_TOTAL_LAYERS} layers fail to run: {hint}")
    if count.total > SAFE_TOTAL_LAYERS:
        return (f"stage {stage} has {count.describe()}; more than {SAFE_TOTAL_LAYERS} layers slow down "
                "pulls and come close to the limit of about 125: lower PYLAYERS_MAX_LAYERS")
    return None
