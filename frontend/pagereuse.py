"""Index pages reused by the builds of a few minutes, as uv reuses PyPI's (max-age=600).

Pages come as http sources, which the daemon fetches again on every build: 58 pins are 21 MB of
pages, up to a second or more of each no-op or one-pin rebuild. For a step whose requirements are
all pinned, the pages are first asked of one exec of netfetch.py (mode "reuse") in the stage's
base image (its python3, found on its PATH), on the step's network. The exec fetches the pages of
every project the step pins, whatever their markers: it needs nothing of the target's probe, and
starts beside it (stepwheels.RequirementsAhead). Its cache key holds the current window of
PYLAYERS_INDEX_MAX_AGE seconds (600 by default), so every build of that window gets the pages of
its first build from BuildKit's cache, without a request. A reused page is used only if:

- it came (an index on the daemon's loopback is not asked, unless the step's network is "host");
- its index allowed it: no Cache-Control no-store or no-cache, no max-age it has outlived.

A page that did not come (the exec tries each once, and keeps what it got for the whole window)
or may not be used is fetched the usual way, alone: the others are still reused. If a pin does
not find its version and a file for the target on the pages (resolve.steps.choose_wheels), every
page is fetched again, so a release published within the window is seen at once. The daemon's log
says which pages were fetched again, or why none was reused.

PYLAYERS_INDEX_MAX_AGE=0 or --no-cache turns reuse off. Wheels and metadata files are pinned by
their sha256 and need no window. The exec also groups an HTML page's anchors by version
(netfetch.grouped); a build reads the head and its pins' groups.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Sequence
from urllib.parse import urlsplit

from . import llb
from .downloads import INSTALL_ENV, OUT_DIR, SCRIPT_DIR, script_state
from .errors import FrontendError
from .netfetch import ANY_VERSION, GROUPED, REUSE_INDEX, version_key
from .resolve.index import redact_url
from .solver import Solver, page_name

log = logging.getLogger("pylayers")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
# the proxy build arguments BuildKit's Dockerfile frontend gives every RUN without declaring them
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_FORBIDS = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\b", re.IGNORECASE)


# The base image's python3 (or python), found on its PATH: the exec does not wait for the probe.
# Without one, or with one that cannot run netfetch.py (too old), it still ends well, with no
# pages: the window keeps that answer (a failed exec would run again in every build, and show as
# an error in the build's output), and each build fetches its own pages.
_FIND_PYTHON = r"""
for py in python3 python; do
  if command -v "$py" >/dev/null 2>&1; then
    "$py" "$@" && exit 0
    echo "pylayers: $py of the base image could not fetch index pages for the window (status $?)" >&2
    exit 0
  fi
done
echo "pylayers: no python3 on the PATH of the base image to fetch index pages for the window with" >&2
"""


@dataclass(frozen=True)
class PageWindow:
    """Where and until when pages are reused: the exec runs the python3 of `base` found on `path`,
    on `network`, and fetches `urls` (set by with_urls)."""

    base: "llb.State"
    path: str  # the PATH the exec looks for python3 on
    network: str | None
    max_age: int  # seconds
    now: float
    proxies: tuple[str, ...] = ()  # the build's proxy arguments, NAME=value, for the exec's urllib
    urls: tuple[str, ...] = ()  # the pages the window's exec fetches

    @property
    def start(self) -> int:
        return int(self.now // self.max_age * self.max_age)

    def with_urls(self, urls: Sequence[str]) -> "PageWindow | None":
        """This window fetching `urls`; None if there are none, or if one is on the daemon's
        loopback, which the exec's network does not reach (unless it is "host")."""
        return dataclasses.replace(self, urls=tuple(urls)) if urls and reachable(self, urls) else None

    def state(self) -> "llb.State":
        listed = json.dumps([[url, "", page_name(url)] for url in self.urls])
        start = datetime.fromtimestamp(self.start, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        mounts = (llb.Mount(OUT_DIR, llb.scratch()), llb.Mount(SCRIPT_DIR, script_state(), readonly=True))
        env = (f"PATH={self.path}", *(e for e in INSTALL_ENV if not e.startswith("PATH=")), *self.proxies,
               f"PYLAYERS_PAGES_WINDOW={start}+{self.max_age}s")
        run = self.base.run(args=("/bin/sh", "-c", _FIND_PYTHON, "pylayers-pages", f"{SCRIPT_DIR}/netfetch.py",
                                  "", "", OUT_DIR, "reuse", listed),
                            env=env,
                            cwd="/",
                            network=self.network, readonly_root=True, mounts=mounts,
                            name=f"pylayers: {len(self.urls)} index pages, reused by the builds of "
                                 f"{self.max_age} s from {start}")
        return run.mount_output(OUT_DIR)


def window(solver: Solver, base: "llb.State", base_env: Sequence[str], network: str | None,
           now: Callable[[], float] = time.time) -> PageWindow | None:
    """The step's window (its URLs not set yet), or None when pages are not reused (turned off,
    or a netrc secret); `base_env`: the base image's environment, whose PATH finds its python3."""
    max_age = solver.config.index_max_age
    if max_age <= 0 or "no-cache" in solver.config.opts or solver.downloads.reports_failures:
        return None
    args = solver.config.build_args
    proxies = tuple(f"{k}={args[k]}" for k in PROXY_ARGS if args.get(k))
    path = next(e[5:] for e in (*base_env, *INSTALL_ENV) if e.startswith("PATH="))
    return PageWindow(base, path, network, max_age, now(), proxies)


def reachable(pages: PageWindow, urls: Sequence[str]) -> bool:
    """Whether the window's exec reaches `urls`: its network has a loopback of its own, unless it
    is the host's."""
    return pages.network == "host" or not any(urlsplit(url).hostname in LOOPBACK for url in urls)


def reused_pages(solver: Solver, pages: PageWindow, urls: Sequence[str],
                 spellings: Sequence[Sequence[str]] | None = None) -> list[bytes | None] | None:
    """Every page of `urls`: from the window's exec those that came and may be used, the others
    fetched the usual way; None if none of them came. With the `spellings` of the version pinned
    from each page, a reused HTML page is its head and the anchors of that version (and of files
    whose version their name does not tell), not all its anchors."""
    if not urls or not reachable(pages, urls):
        return None
    try:
        ref = solver.solve_state(pages.state())
        found = json.loads(solver.read(ref, "/" + REUSE_INDEX))
        if not isinstance(found, dict):
            raise ValueError(f"{REUSE_INDEX} is not an object")
        came = [i for i, url in enumerate(urls) if usable(found.get(page_name(url)), pages.now)]
        if not came:
            log.info("index pages: none of %d from the window's exec (%s)", len(urls),
                     next((a["failed"].get("reason") for a in found.values() if "failed" in a), "none usable"))
            return None
        bodies = _bodies(solver, ref, [(urls[i], found[page_name(urls[i])]) for i in came],
                         None if spellings is None else [spellings[i] for i in came])
    except (FrontendError, ValueError, TypeError, KeyError, AttributeError, zlib.error) as exc:
        log.info("index pages: none from the window's exec (%s: %s)", type(exc).__name__, exc)
        return None
    return _with_the_others(solver, urls, dict(zip(came, bodies)))


def _with_the_others(solver: Solver, urls: Sequence[str], reused: dict[int, bytes]) -> list[bytes | None]:
    """The pages of `urls` in order: `reused` (position → body), the others fetched now."""
    others = [i for i in range(len(urls)) if i not in reused]
    if others:
        named = ", ".join(redact_url(urls[i]) for i in others[:3]) + (", ..." if len(others) > 3 else "")
        log.info("index pages: %d of %d from the window's exec, %d fetched again (%s)", len(reused), len(urls),
                 len(others), named)
        reused = {**reused, **dict(zip(others, solver.fetch_pages([urls[i] for i in others])))}
    return [reused[i] for i in range(len(urls))]


def _bodies(solver: Solver, ref: str, answers, spellings) -> list[bytes]:
    """The pages, or of each grouped one its head and the groups of its version's keys."""
    reads, heads = [], []
    for i, (url, answer) in enumerate(answers):
        groups, head = answer.get("groups"), answer.get("head")
        if spellings is None or not isinstance(groups, dict) or not isinstance(head, str):
            reads.append((i, "/" + page_name(url), 0, 0))  # the whole (compressed) page
            heads.append(None)
            continue
        heads.append(head.encode("utf-8"))
        for key in sorted({version_key(s) for s in spellings[i]} | {ANY_VERSION}):
            if key in groups:
                offset, length = groups[key]
                reads.append((i, "/" + page_name(url) + GROUPED, int(offset), int(length)))
    data = solver.read_ranges(ref, [(path, offset, length) for _, path, offset, length in reads])
    parts: list[list[bytes]] = [[] for _ in answers]
    for (i, _, _, length), chunk in zip(reads, data):
        parts[i].append(chunk if length else zlib.decompress(chunk))
    return [b"".join(p) if head is None else head + b"\n" + b"".join(p) for head, p in zip(heads, parts)]


def usable(answer: dict | None, now: float) -> bool:
    """A page that came, whose index allows it to be used now."""
    if not isinstance(answer, dict) or "failed" in answer:
        return False
    control = answer.get("cache_control") or ""
    if _FORBIDS.search(control):
        return False
    max_age = _MAX_AGE.search(control)
    return max_age is None or now - float(answer.get("fetched", 0)) <= int(max_age.group(1))
