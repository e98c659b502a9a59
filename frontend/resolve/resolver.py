"""Resolve requirements that are not (all) pinned, in few batches of fetches through the daemon.

Every fetch costs BuildKit a source solve, so the driver fetches in rounds: the project pages of
every name known so far in one batch, and in the same round the metadata (PEP 658) of the
candidate each project will most likely end at (the newest one the requirements seen so far
admit). It repeats that walk until nothing is missing, then runs resolvelib over what it has;
when resolvelib backtracks to something not fetched yet, the provider raises Missing and the next
round fetches it (with the next older versions of the same project) before resolving again.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from packaging.utils import parse_wheel_filename
from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver

from ..errors import ResolutionError
from ..inputs.requirements import Pin
from .candidates import (PYTHON, Candidate, Metadata, Req, Versions, dependencies, metadata_from_wheel,
                         metadata_request, parse_metadata, project_versions, root_requirement)
from .explain import explain_impossible, explain_sdist
from .index import Link, parse_project_page, project_url, redact_url
from .provider import Missing, Provider, PythonCandidate, SdistOnly, Settings, constraint_specifiers
from .wheels import SOURCE_TAG, PackageChoice, metadata_sha256

log = logging.getLogger("pylayers")

FetchAll = Callable[[Sequence[str]], Sequence[bytes | None]]
FetchFiles = Callable[[Sequence[tuple[str, str | None]]], Sequence[bytes]]
# sdists → the METADATA of the wheel built from each (the build its layer will use: sdists.py)
SdistMetadata = Callable[[Sequence[PackageChoice]], Sequence[bytes]]
MAX_ROUNDS = 60
OLDER_PREFETCH = 2  # on a miss during backtracking, also fetch this many older versions' metadata


@dataclass(frozen=True)
class Sources:
    indexes: tuple[str, ...]  # simple-repository roots, primary first
    find_links: tuple[str, ...] = ()  # pages of links


class Repository:
    """Pages, metadata and direct wheels fetched so far; the provider's Store."""

    def __init__(self, sources: Sources, fetch_all: FetchAll, fetch_files: FetchFiles,
                 tags: Sequence[str], python_version: str, sdist_metadata: SdistMetadata | None = None) -> None:
        self.sources, self.fetch_all, self.fetch_files = sources, fetch_all, fetch_files
        self.sdist_metadata = sdist_metadata
        self.no_binary: frozenset[str] = frozenset()  # --no-binary names: their sdists only
        self.tags, self.python_version = tuple(tags), python_version
        self.links: dict[str, tuple[Link, ...]] = {}
        self.found: dict[str, bool] = {}  # name → some page of it exists
        self.shared: tuple[Link, ...] | None = None if sources.find_links else ()
        self.meta: dict[str, Metadata] = {}  # by wheel URL
        self.directs: dict[str, Candidate] = {}
        self.direct_hashes: dict[str, str] = {}  # URL → the sha256 the user gave for it
        self.unserved: set[str] = set()  # wheels whose index has no metadata file for them
        self.guesses = [0, 0]  # unannounced metadata files found, not found
        self._versions: dict[str, Versions] = {}
        self.rounds = 0

    def versions(self, name: str) -> Versions:
        if name not in self.links or self.shared is None:
            raise Missing(pages=[name])
        if name not in self._versions:
            links = self.links[name] + self.shared
            self._versions[name] = project_versions(name, links, self.tags, self.python_version,
                                                    name in self.no_binary)
        return self._versions[name]

    def metadata(self, candidate: Candidate) -> Metadata:
        if candidate.link.url not in self.meta:
            raise Missing(candidates=[candidate])
        return self.meta[candidate.link.url]

    def direct(self, name: str, url: str) -> Candidate:
        if url not in self.directs:
            raise Missing(candidates=[_url_candidate(name, url, self.direct_hashes.get(url))])
        return self.directs[url]

    def shared_names(self) -> dict[str, bool]:
        """The projects the --find-links pages have files of."""
        found: dict[str, bool] = {}
        for link in self.shared or ():
            try:
                found[parse_wheel_filename(link.filename)[0]] = True
            except ValueError:
                continue
        return found

    def fetch(self, names: Iterable[str], candidates: Iterable[Candidate]) -> None:
        """One round: the pages of `names` and the metadata of `candidates`, side by side."""
        names = sorted(set(names) - set(self.links))
        pending = {c.link.url: c for c in candidates if c.link.url not in self.meta}
        sdists = [c for c in pending.values() if c.is_sdist]
        requests = [(c, *self._metadata_request(c)) for c in pending.values() if not c.is_sdist]
        guesses = [r for r in requests if r[3] == "guess"]
        files = [r for r in requests if r[3] != "guess"]
        page_urls = [project_url(i, n) for n in names for i in self.sources.indexes]
        if self.shared is None:
            page_urls += list(self.sources.find_links)
        with ThreadPoolExecutor(max_workers=3) as pool:
            urls = page_urls + [url for _, url, _, _ in guesses]
            pages = pool.submit(self.fetch_all, urls) if urls else None
            bodies = pool.submit(self.fetch_files, [(url, sha) for _, url, sha, _ in files]) if files else None
            built = pool.submit(self._build_sdists, sdists) if sdists else None
            page_bodies = list(pages.result()) if pages else []
            file_bodies = list(bodies.result()) if bodies else []
            for candidate, body in zip(sdists, built.result() if built else ()):
                self.meta[candidate.link.url] = parse_metadata(body)
        self.rounds += 1
        log.info("resolver round %d: %d pages, %d metadata files", self.rounds, len(page_urls), len(requests))
        self._store_pages(names, page_urls, page_bodies[:len(page_urls)])
        for (candidate, url, _, how), body in zip(guesses + files, page_bodies[len(page_urls):] + file_bodies):
            if how == "guess":
                self.guesses[body is None] += 1
            if body is None:
                self.unserved.add(candidate.link.url)  # the next round fetches the wheel
            else:
                self._store_metadata(candidate, url, how == "wheel", body)

    def _build_sdists(self, sdists: Sequence[Candidate]) -> Sequence[bytes]:
        if self.sdist_metadata is None:
            raise ResolutionError(f"{sdists[0].link.filename}: building source distributions needs the daemon")
        return self.sdist_metadata([_choice(c) for c in sdists])

    def _metadata_request(self, candidate: Candidate) -> tuple[str, str | None, str]:
        """Once most unannounced metadata files turned out absent, fetch wheels right away: the
        chosen ones are needed anyway, and BuildKit downloads each only once."""
        url, sha, how = metadata_request(candidate, self.unserved)
        if how == "guess" and self.guesses[1] > self.guesses[0]:
            return candidate.link.url, candidate.link.sha256, "wheel"
        return url, sha, how

    def _store_pages(self, names: list[str], urls: list[str], bodies: list[bytes | None]) -> None:
        answers = dict(zip(urls, bodies))
        for name in names:
            links: list[Link] = []
            found = False
            for index in self.sources.indexes:
                url = project_url(index, name)
                if answers.get(url) is not None:
                    found = True
                    links += parse_project_page(answers[url], url)
            self.links[name], self.found[name] = tuple(links), found
        if self.shared is None:
            self.shared = tuple(link for url in self.sources.find_links if answers.get(url) is not None
                                for link in parse_project_page(answers[url], url))

    def _store_metadata(self, candidate: Candidate, url: str, whole: bool, body: bytes) -> None:
        if candidate.direct:
            sha = hashlib.sha256(body).hexdigest()
            expected = candidate.link.sha256
            if expected and sha != expected:
                raise ResolutionError(f"{redact_url(url)}: the download's sha256 is {sha}, not {expected}")
            self.directs[candidate.link.url] = _url_candidate(candidate.name, candidate.link.url, sha,
                                                              self.tags)
        data = metadata_from_wheel(body, candidate.link.filename) if whole else body
        self.meta[candidate.link.url] = parse_metadata(data)


def _url_candidate(name: str, url: str, sha256: str | None, tags: Sequence[str] = ()) -> Candidate:
    filename = url.rsplit("/", 1)[-1]
    _, version, _, wheel_tags = parse_wheel_filename(filename)
    matching = [t for t in tags if t in {str(w) for w in wheel_tags}]
    link = Link(filename=filename, url=url, hashes=(("sha256", sha256),) if sha256 else ())
    return Candidate(name, version, link, matching[0] if matching else "", direct=True)


@dataclass(frozen=True)
class Request:
    roots: tuple[Pin, ...]  # the user's requirements that apply to the target
    constraints: tuple[Pin, ...]
    settings: Settings
    tags: tuple[str, ...]


def resolve(request: Request, sources: Sources, fetch_all: FetchAll, fetch_files: FetchFiles,
            sdist_metadata: SdistMetadata | None = None) -> tuple[PackageChoice, ...]:
    """The wheels pip would install for the roots; InputError naming the lines when impossible."""
    start = time.monotonic()
    repo = Repository(sources, fetch_all, fetch_files, request.tags, request.settings.python_version,
                      sdist_metadata)
    repo.no_binary = request.settings.no_binary
    roots = [root_requirement(p) for p in request.roots]
    repo.direct_hashes.update((p.url, p.hashes[0].split(":", 1)[1]) for p in request.roots if p.url and p.hashes)
    provider = Provider(repo, request.settings, roots, constraint_specifiers(request.constraints))
    extra_pages: set[str] = set()
    extra_meta: list[Candidate] = []
    while True:
        names, candidates = _likely_missing(repo, provider, roots)
        names |= extra_pages
        candidates += extra_meta
        if names or candidates:
            if repo.rounds >= MAX_ROUNDS:
                raise ResolutionError(f"resolution needed more than {MAX_ROUNDS} rounds of index fetches")
            repo.fetch(names, candidates)
            extra_pages, extra_meta = set(), []
            continue
        provider.parents = {}
        try:
            result = Resolver(provider, BaseReporter()).resolve(roots, max_rounds=20000)
        except Missing as miss:
            extra_pages, extra_meta = set(miss.pages), _with_older(repo, miss.candidates)
            continue
        except SdistOnly as exc:
            raise explain_sdist(exc.candidate, provider.parents, request) from None
        except ResolutionImpossible as exc:
            raise explain_impossible(exc, repo, provider.parents, request) from None
        except ResolutionTooDeep:
            raise ResolutionError("the resolution backtracked too often; pin some versions") from None
        break
    log.info("resolved %d packages in %d rounds, %.0f ms", len(result.mapping), repo.rounds,
             (time.monotonic() - start) * 1000)
    return _choices(result.mapping.values())


def _with_older(repo: Repository, candidates: Sequence[Candidate]) -> list[Candidate]:
    found = list(candidates)
    for c in candidates:
        if c.direct or c.name not in repo.links or repo.shared is None:
            continue
        older = [o for o in repo.versions(c.name).candidates if o.version < c.version and not o.is_sdist
                 and repo._metadata_request(o)[2] != "wheel"]  # never whole wheels on a guess
        found += older[:OLDER_PREFETCH]
    return found


def _likely_missing(repo: Repository, provider: Provider, roots: Sequence[Req]
                    ) -> tuple[set[str], list[Candidate]]:
    """Walk from the roots through each project's likely candidate; what is not fetched yet."""
    reqs: dict[str, list[Req]] = {}
    queue = deque(roots)
    names: set[str] = set()
    for meta in repo.meta.values():  # dependencies of versions fetched earlier need their pages too
        names.update(r.name for r in dependencies(meta, frozenset(), provider.settings.markers)
                     if r.name not in repo.links and not r.url)
    likely: dict[str, Candidate] = {}
    candidates: list[Candidate] = []
    while queue:
        req = queue.popleft()
        if req.name == PYTHON:
            continue
        reqs.setdefault(req.name, []).append(req)
        key = req.identifier
        try:  # every requirement seen so far counts: a later, narrower one re-walks the project
            found = provider.find_matches(key, {req.name: iter(reqs[req.name]), key: iter(reqs[req.name])},
                                          {key: iter(())})
        except Missing as miss:
            names.update(miss.pages)
            continue
        chosen, deps, missing = _first_fitting(repo, provider, found, roots)
        candidates.extend(missing)
        if chosen is not None and likely.get(key) != chosen:
            likely[key] = chosen
            queue.extend(deps)
    return names, candidates


def _first_fitting(repo: Repository, provider: Provider, found: Sequence[Candidate], roots: Sequence[Req]
                   ) -> tuple[Candidate | None, list[Req], list[Candidate]]:
    """The newest candidate whose dependencies the user's own requirements and the interpreter
    do not rule out (what backtracking would come to); the metadata still missing on the way."""
    for i, candidate in enumerate(found):
        try:
            deps = provider.get_dependencies(candidate)
        except Missing as miss:
            older = [c for c in found[i + 1:] if c.link.url not in repo.meta and not c.is_sdist]
            return None, [], [*miss.candidates, *(older[:OLDER_PREFETCH] if i else [])]
        except SdistOnly:
            return None, [], []
        if not any(_ruled_out(repo, provider, dep, roots) for dep in deps):
            return candidate, deps, []
    return None, [], []


def _ruled_out(repo: Repository, provider: Provider, dep: Req, roots: Sequence[Req]) -> bool:
    if dep.name == PYTHON:
        return not dep.specifier.contains(provider.settings.python_version, prereleases=True)
    own = [r for r in roots if r.name == dep.name and not r.url]
    if not own or dep.url or dep.name not in repo.links or repo.shared is None:
        return False
    versions = repo.versions(dep.name).candidates
    return not any(all(r.specifier.contains(c.version, prereleases=True) for r in (dep, *own))
                   for c in versions)


def _choices(candidates: Iterable[Candidate]) -> tuple[PackageChoice, ...]:
    chosen = (_choice(c) for c in candidates if not (c.extras or isinstance(c, PythonCandidate)))
    return tuple(sorted(chosen, key=lambda c: c.name))


def _choice(c: Candidate) -> PackageChoice:
    if not c.link.sha256:
        raise ResolutionError(f"the index gives no sha256 for {c.link.filename}; pylayers needs one "
                              f"to pin the download ({redact_url(c.link.url)})")
    return PackageChoice(name=c.name, version=str(c.version), filename=c.link.filename,
                         url=c.link.url, sha256=c.link.sha256, tag=SOURCE_TAG if c.is_sdist else c.tag or "",
                         yanked=c.link.yanked, metadata=bool(c.link.core_metadata),
                         metadata_sha256=metadata_sha256(c.link.core_metadata), sdist=c.is_sdist)

