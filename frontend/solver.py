"""Small, typed conveniences over the LLBBridge client: solve LLB, read files, fetch URLs.

Every network access of the frontend goes through here as an http source fetched by the daemon
(the frontend image has no network), so proxies, mirrors and the daemon's trust store apply.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping, Sequence

from . import llb
from ._pb import gateway_pb2
from .config import Config
from .downloads import FAILED, Fetch, HttpDownloads, failure_text
from .errors import FrontendError, GatewayError
from .fetching import FetchNotFound, FetchPolicy, with_retries
from .resolve.index import redact_url
from .resolve.lazywheel import metadata_from_ranges

FETCH_PARALLELISM = 64


@dataclass(frozen=True)
class StageResult:
    """A stage solved by the Dockerfile frontend: its ref, its LLB and its image config."""

    ref_id: str
    definition: object  # ops_pb2.Definition
    image_config: Mapping[str, object]

    @property
    def env(self) -> tuple[str, ...]:
        return tuple(self.image_config.get("config", {}).get("Env") or ())

    @property
    def workdir(self) -> str:
        return self.image_config.get("config", {}).get("WorkingDir") or "/"

    @property
    def layers(self) -> int:
        """Layers of this stage's image so far: the base image's diff_ids, or the history's
        entries that made a layer (a stage built FROM another stage of the Dockerfile)."""
        diff_ids = (self.image_config.get("rootfs") or {}).get("diff_ids") or ()
        history = [h for h in self.image_config.get("history") or () if not h.get("empty_layer")]
        return max(len(diff_ids), len(history))


class Solver:
    def __init__(self, client, config: Config, downloads=None) -> None:
        self.client = client
        self.config = config
        self.policy = FetchPolicy(timeout=config.fetch_timeout)
        self.downloads = downloads or HttpDownloads()

    def with_downloads(self, downloads) -> "Solver":
        """This solver, downloading through `downloads` (downloads.SecretDownloads: credentials)."""
        return Solver(self.client, self.config, downloads)

    def cache_imports(self) -> list:
        return [gateway_pb2.CacheOptionsEntry(Type=c.type, Attrs=dict(c.attrs))
                for c in self.config.cache_imports]

    def solve_state(self, state) -> str:
        """Solve an LLB state lazily; returns the ref id."""
        result = self.client.solve(definition=llb.marshal(state), cache_imports=self.cache_imports())
        return _single_ref(result).id

    def build_state(self, state) -> None:
        """Solve an LLB state and build it now (evaluate): its result is then in BuildKit's cache."""
        self.client.solve(definition=llb.marshal(state), cache_imports=self.cache_imports(), evaluate=True)

    def read(self, ref_id: str, path: str) -> bytes:
        return self.client.read_file(ref_id, path)

    def exists(self, ref_id: str, path: str) -> bool:
        """Whether `path` exists in the solved ref (any error reads as "no")."""
        try:
            self.client.stat_file(ref_id, path)
        except GatewayError:
            return False
        return True

    def fetch(self, item: Fetch, attempt: int = 1) -> bytes:
        """One try, under the policy's deadline.

        BuildKit remembers a failed vertex, and a failed cache key, for the rest of the build: the
        same source would fail again without a request. A retry therefore names its file apart
        (the file name is part of an http source's digest and cache key, and is never sent)."""
        filename, name = item.filename, item.name
        if attempt > 1:
            filename, name = f"try{attempt}-{filename}", f"{name or item.url} (try {attempt})"
        fetch = Fetch(item.url, filename, item.checksum, name)
        return self._read(self.solve_state(self.downloads.file(fetch)), fetch)

    def fetch_retrying(self, item: Fetch) -> bytes:
        """fetch() with retries. After a failed batch, try 1 answers from the batch's result."""
        return with_retries(lambda attempt: self.fetch(item, attempt), redact_url(item.url), self.policy)

    def fetch_page(self, url: str) -> bytes | None:
        """An index page, or None when the index answers 404 (an unknown project)."""
        try:
            return self.fetch_retrying(_page(url))
        except FetchNotFound:
            return None

    def fetch_files(self, items: Sequence[tuple[str, str | None]]) -> list[bytes]:
        """Files whose sha256 the index gives: cached by BuildKit by content, no request on a hit."""
        fetches = [Fetch(url, _stable_name(url, url.rsplit("/", 1)[-1] or "file"),
                         checksum=f"sha256:{sha}" if sha else None, name=f"pylayers: fetch {redact_url(url)}")
                   for url, sha in items]
        try:
            return self.fetch_batch(fetches)
        except GatewayError:  # find out which one failed, retry what may be retried, and say so
            return self._each(self.fetch_retrying, fetches)

    def fetch_pages(self, urls: Sequence[str]) -> list[bytes | None]:
        """Several pages in one solve, in order; one by one if that fails (a 404 is an answer)."""
        try:
            return list(self.fetch_batch([_page(url) for url in urls]))
        except GatewayError:
            if self.downloads.reports_failures:  # retried already; the message names the URL
                raise
            return self._each(self.fetch_page, urls)

    def refetch_wheels(self, wheels: Sequence) -> "Solver":
        """After a solve that needed `wheels` (PackageChoice) failed: each downloaded alone, retried
        as pages are; the solver returned mounts the try that worked (downloads.HttpDownloads)."""
        if self.downloads.reports_failures:  # netfetch.py has retried already
            return self
        downloads = self.downloads

        def one(pkg) -> tuple[str, int]:
            def attempt(n: int) -> int:
                item = Fetch(pkg.url, pkg.filename, f"sha256:{pkg.sha256}",
                             f"pylayers: wheel of {pkg.name} {pkg.version} from {redact_url(pkg.url)} (try {n})")
                self.client.stat_file(self.solve_state(downloads.trying(pkg.url, n).file(item)), "/" + pkg.filename)
                return n
            return pkg.url, with_retries(attempt, f"{redact_url(pkg.url)} (wheel of {pkg.name} {pkg.version})",
                                         self.policy)

        for url, n in self._each(one, wheels):
            downloads = downloads.trying(url, n)
        return self.with_downloads(downloads)

    def wheel_metadata(self, wheels: Sequence[tuple[str, str, str]]) -> list[bytes]:
        """The METADATA of wheels (url, sha256, filename) the index has no metadata file for.

        The daemon fetches each wheel under the same key as its layer's http source (so it is
        downloaded once, and cached by its checksum); only its zip directory and METADATA are read.
        """
        fetches = [Fetch(url, filename, checksum=f"sha256:{sha}", name=f"pylayers: fetch {redact_url(url)}")
                   for url, sha, filename in wheels]
        if not fetches:
            return []
        ref = self._solve_batch(fetches)

        def metadata(f: Fetch) -> bytes:
            path = "/" + f.filename
            size = self.client.stat_file(ref, path).size
            return metadata_from_ranges(lambda offset, n: self.client.read_range(ref, path, offset, n),
                                        size, f.filename)
        return self._each(metadata, fetches)

    def fetch_batch(self, fetches: Sequence[Fetch]) -> list[bytes]:
        """All downloads in one solve (their http sources merged side by side), read in parallel.

        One Solve instead of one per URL: BuildKit fetches them concurrently and the frontend
        makes one round trip; every source keeps its own cache key (URL, filename, checksum).
        """
        if not fetches:
            return []
        ref = self._solve_batch(fetches)
        return self._each(lambda f: self._read(ref, f), fetches)

    def _read(self, ref: str, item: Fetch) -> bytes | None:
        """The downloaded file; with downloads that report failures, None for a 404 page."""
        try:
            return self.client.read_file(ref, "/" + item.filename, timeout=self.policy.timeout)
        except GatewayError:
            if not self.downloads.reports_failures or item.checksum:
                raise
            report = self.client.read_file(ref, "/" + item.filename + FAILED)
        status, message = failure_text(item.url, report)
        if status == 404:
            return None
        raise GatewayError(message)

    def _solve_batch(self, fetches: Sequence[Fetch]) -> str:
        """One solve of every download side by side in one tree, each under its own file name."""
        sources = self.downloads.batch(list({f.filename: f for f in fetches}.values()))
        if len(sources) == 1 or "mergeop" in self.client.llb_caps:
            return self.solve_state(llb.merge(sources, name="pylayers: index documents"))
        tree = llb.scratch()
        for src in sources:
            tree = tree.copy(src, "/", "/")
        return self.solve_state(tree)

    def read_all(self, ref_id: str, paths: Sequence[str]) -> list[bytes]:
        """The files at `paths` of a solved ref, read side by side."""
        return self._each(lambda path: self.read(ref_id, path), list(paths))

    def read_ranges(self, ref_id: str, ranges: Sequence[tuple[str, int, int]]) -> list[bytes]:
        """(path, offset, length) of a solved ref, read side by side; length 0: the whole file."""
        def one(item: tuple[str, int, int]) -> bytes:
            path, offset, length = item
            if not length:
                return self.read(ref_id, path)
            data = self.client.read_range(ref_id, path, offset, length)
            if len(data) != length:
                raise FrontendError(f"{path}: {len(data)} bytes at {offset}, not {length}")
            return data
        return self._each(one, list(ranges))

    @staticmethod
    def _each(fn, items: Sequence) -> list:
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(FETCH_PARALLELISM, len(items))) as pool:
            return list(pool.map(fn, items))

    def solve_dockerfile(self, text: str, target: str, inputs: Mapping[str, object] = {},
                         contexts: Mapping[str, object] = {}, metadata: Mapping[str, str] = {}) -> StageResult:
        """Solve `text` with BuildKit's Dockerfile frontend up to stage `target`.

        `contexts` are named contexts (our layers) the text refers to with COPY --from (or FROM,
        with their `input-metadata:` options in `metadata`).
        """
        opts = delegate_opts(self.config, {"target": target, **{f"context:{n}": f"input:{n}" for n in contexts},
                                           **metadata})
        defs = {**inputs, **contexts, "dockerfile": dockerfile_input(text)}
        result = self.client.solve(frontend="dockerfile.v0", frontend_opt=opts, frontend_inputs=defs)
        ref = _single_ref(result)
        raw = result.metadata.get("containerimage.config", b"{}")
        return StageResult(ref_id=ref.id, definition=getattr(ref, "def"), image_config=json.loads(raw or b"{}"))


def _stable_name(url: str, base: str) -> str:
    """A file name unique to the URL and the same in every build (so is the source's cache key)."""
    return f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{base}"


def page_name(url: str) -> str:
    """The file name of the index page at `url`, in every download of it."""
    return _stable_name(url, "page")


def _page(url: str) -> Fetch:
    return Fetch(url, page_name(url), name=f"pylayers: index {redact_url(url)}")


def dockerfile_input(text: str):
    """A Definition holding one file, /Dockerfile, for the Dockerfile frontend's `dockerfile` input."""
    return llb.marshal(llb.scratch().mkfile("/Dockerfile", text.encode("utf-8"), mode=0o644))


def delegate_opts(config: Config, extra: Mapping[str, str]) -> dict[str, str]:
    """The user's options, forwarded as they are, with our Dockerfile input in place of theirs."""
    opts = dict(config.opts)
    opts.pop("dockerfilekey", None)
    opts["filename"] = "Dockerfile"
    opts.setdefault("cmdline", "pylayers")  # keeps dockerfile.v0 from following a # syntax line
    opts.update(extra)
    return opts


def _single_ref(result):
    which = result.WhichOneof("result")
    if which == "ref":
        return result.ref
    if which == "refs" and len(result.refs.refs) == 1:
        return next(iter(result.refs.refs.values()))
    if which is None:
        raise GatewayError("BuildKit returned an empty result")
    raise FrontendError("pylayers builds one platform at a time for now; "
                        "build each --platform separately")
