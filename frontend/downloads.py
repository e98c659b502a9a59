"""How a file from an index reaches the build: an http source, or an exec holding a netrc secret.

Without credentials every download is an http source fetched by the daemon, cached by its URL
and, for files, by the sha256 the index gives. With a netrc secret (the install step mounts one)
each download is an exec of netfetch.py in the stage's base image, the secret mounted at
NETRC_PATH: the credential never enters the LLB, the frontend or the image. Files pinned by a
sha256 get one exec each, so each is cached on its own, as an http source would be; index pages
are fetched together by one exec that runs on every build (the cache would never see a new
release), and which reports failures in files the frontend reads instead of failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import llb
from .dockerfile.model import NetrcSecret
from .resolve.index import redact_url

NETRC_PATH = "/run/pylayers/netrc"
SCRIPT_DIR = "/pylayers-fetch"
OUT_DIR = "/pylayers-out"
FAILED = ".failed"  # suffix of the file that says why a page could not be fetched
# the fixed environment of pylayers' own execs (downloads, installs): nothing of the stage's ENV.
# PYTHONHASHSEED=0: the installer compiles with a fixed seed, and would otherwise start itself again
# with it (a second interpreter start and import for each of the N package layers of a cold build)
INSTALL_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8",
               "PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0")


@dataclass(frozen=True)
class Fetch:
    """One URL to download; `checksum` ("sha256:<hex>") pins its content."""

    url: str
    filename: str
    checksum: str | None = None
    name: str | None = None  # progress vertex name


@dataclass(frozen=True)
class HttpDownloads:
    """The daemon's http source: no credentials.

    BuildKit remembers a failed source for the rest of the build, so a wheel fetched again after a
    failure must be another source: the same URL, checksum and file name (the installer reads the
    name) with another file mode, which is part of the source's cache key. `retried` holds the
    try of each wheel that needed one; its layer mounts that very download.
    """

    retried: tuple[tuple[str, int], ...] = ()  # (URL, try ≥ 2)

    reports_failures = False

    def file(self, item: Fetch) -> "llb.State":
        attempt = dict(self.retried).get(item.url, 1) if item.checksum else 1
        return llb.http(item.url, checksum=item.checksum, filename=item.filename, name=item.name,
                        perm=retry_mode(attempt))

    def trying(self, url: str, attempt: int) -> "HttpDownloads":
        """These downloads with `url` fetched as try `attempt`."""
        kept = tuple((u, a) for u, a in self.retried if u != url)
        return HttpDownloads(tuple(sorted(kept + (((url, attempt),) if attempt > 1 else ()))))

    def batch(self, items: Sequence[Fetch]) -> list:
        return [self.file(item) for item in items]


@dataclass(frozen=True)
class SecretDownloads:
    """Downloads run by `python` of `base` with the netrc secret, on the install step's network."""

    base: "llb.State"
    python: str
    secret: NetrcSecret
    network: str | None = None

    reports_failures = True  # pages: a failure is a `<file>.failed` file, not a failed solve

    def trying(self, url: str, attempt: int) -> "SecretDownloads":
        return self  # netfetch.py retries by itself

    def file(self, item: Fetch) -> "llb.State":
        if item.checksum:
            return self._exec((item,), "files", item.name or f"pylayers: fetch {redact_url(item.url)}")
        return self._exec((item,), "report", item.name or f"pylayers: index {redact_url(item.url)}")

    def batch(self, items: Sequence[Fetch]) -> list:
        pages = tuple(i for i in items if not i.checksum)
        states = [self.file(i) for i in items if i.checksum]
        if pages:
            states.append(self._exec(pages, "report", f"pylayers: index pages ({len(pages)}, with secret "
                                                      f"{self.secret.id})"))
        return states

    def _exec(self, items: Sequence[Fetch], mode: str, name: str) -> "llb.State":
        listed = json.dumps([[i.url, (i.checksum or "").removeprefix("sha256:"), i.filename] for i in items])
        args = (self.python, f"{SCRIPT_DIR}/netfetch.py", NETRC_PATH, self.secret.id, OUT_DIR, mode, listed)
        mounts = (llb.Mount(OUT_DIR, llb.scratch()),
                  llb.Mount(SCRIPT_DIR, script_state(), readonly=True),
                  llb.Mount(NETRC_PATH, secret=self.secret.id, optional=not self.secret.required))
        run = self.base.run(args=args, env=INSTALL_ENV, cwd="/", network=self.network, readonly_root=True,
                            mounts=mounts, name=name, ignore_cache=mode == "report")
        return run.mount_output(OUT_DIR)


def retry_mode(attempt: int) -> int | None:
    """The file mode of a wheel's try: BuildKit's default (0600) first, then 0601, 0602, …"""
    return None if attempt == 1 else 0o600 + attempt - 1


def script_state() -> "llb.State":
    return llb.scratch().mkfile("/netfetch.py", (Path(__file__).parent / "netfetch.py").read_bytes(), mode=0o644)


def failure_text(url: str, failed: bytes) -> tuple[int | None, str]:
    """(HTTP status, what the user reads) from a page's `.failed` report (see netfetch.advice)."""
    report = json.loads(failed)
    return report.get("status"), f"cannot fetch {redact_url(url)}: {report.get('reason')}"
