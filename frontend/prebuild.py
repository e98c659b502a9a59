"""Package layers built a few at a time, the biggest first, before the build is delegated.

Left to the delegated solve, BuildKit starts every install exec of a step at once: on a cold
build of 58 packages, 58 interpreters share the daemon's 2 CPUs, and the biggest package,
started with the others, finishes last (the installs took 20 s; about 27 CPU-seconds either
way, so the gain is the order). Here the frontend solves the layers itself (Solve with
evaluate), workers() at a time: the biggest ones alone (by the
bytes their wheels install, from the overlap check), the small ones a few in one solve. The
delegated solve then finds every layer in BuildKit's cache. Nothing about a layer changes: the
same LLB, the same cache keys. A failure here is left for the delegated solve to report, as it
would without this step; a layer that is cached costs one short round trip per batch.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Generic, Hashable, Sequence, TypeVar

from . import llb
from .errors import FrontendError

log = logging.getLogger("pylayers")
ALONE_BYTES = 8 << 20  # a layer installing this much is built alone
BATCH_BYTES = 8 << 20  # small layers are built together up to about this much
MIN_LAYERS = 4  # fewer layers: BuildKit may as well build them all at once


def workers() -> int:
    """As many builds at once as the machine has CPUs (the frontend runs on the daemon's host)."""
    return max(2, os.cpu_count() or 2)


def batches(layers: Sequence[tuple[int, object]]) -> list[list[object]]:
    """(bytes, state) layers in batches: the big ones alone, biggest first, then the small ones
    together, up to BATCH_BYTES a batch."""
    ordered = sorted(layers, key=lambda item: -item[0])
    found = [[state] for work, state in ordered if work >= ALONE_BYTES]
    size = BATCH_BYTES
    for work, state in ordered:
        if work >= ALONE_BYTES:
            continue
        if size + work > BATCH_BYTES:
            found.append([])
            size = 0
        found[-1].append(state)
        size += work
    return found


def prebuild(solver, layers: Sequence[tuple[int, object]]) -> None:
    """Build `layers` ((bytes, state)) WORKERS at a time; a failure stops this, not the build."""
    if len(layers) < MIN_LAYERS:
        return
    failed: list[FrontendError] = []

    def build(states: list[object]) -> None:
        if failed:
            return
        try:
            solver.build_state(llb.merge(states, name=f"pylayers: {len(states)} package layers, built in turn"))
        except FrontendError as exc:  # the delegated solve reports it, under the failed vertex
            failed.append(exc)

    with ThreadPoolExecutor(max_workers=workers()) as pool:
        list(pool.map(build, batches(layers)))
    if failed:
        log.info("building the layers in turn stopped: %s", failed[0])


class Warm:
    """A state built in a thread while the frontend goes on, so that it waits in BuildKit's cache
    for the layers that mount it (the installer, compiled while the wheels are chosen and
    checked). A failure is left for those layers' solve to report."""

    def __init__(self, solver, state) -> None:
        self._thread = threading.Thread(target=self._build, args=(solver, state), daemon=True)
        self._thread.start()

    @staticmethod
    def _build(solver, state) -> None:
        try:
            solver.build_state(state)
        except FrontendError as exc:
            log.info("building ahead stopped: %s", exc)

    def wait(self) -> None:
        self._thread.join()


T = TypeVar("T")


class Ahead(Generic[T]):
    """`work(x)` started early on a guess of x, in a thread; its result is used when x turns out
    to be the guess (else it is waited for, never two at once, and `work` runs on the real x).

    The pinned path starts checking and building the chosen wheels while their dependencies
    (PEP 658 metadata) are checked: nearly always those wheels are the answer."""

    def __init__(self, work: Callable[[Hashable], T]) -> None:
        self.work = work
        self.guess: Hashable | None = None
        self.pool: ThreadPoolExecutor | None = None
        self.future = None

    def start(self, guess: Hashable) -> None:
        if self.future is None:
            self.guess, self.pool = guess, ThreadPoolExecutor(max_workers=1)
            self.future = self.pool.submit(self.work, guess)

    def result(self, actual: Hashable) -> T:
        if self.future is None:
            return self.work(actual)
        try:
            if actual == self.guess:
                return self.future.result()
            self.future.exception()
            return self.work(actual)
        finally:
            self.pool.shutdown()
