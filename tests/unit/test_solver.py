"""Solver: downloads go through BuildKit in one solve per batch, with a per-URL fallback that retries."""

from __future__ import annotations

import json

import pytest

from frontend import config, llb
from frontend._pb import gateway_pb2, ops_pb2
from frontend.dockerfile.model import NetrcSecret
from frontend.downloads import SecretDownloads
from frontend.errors import GatewayError
from frontend.resolve.wheels import PackageChoice
from frontend.solver import Solver

PAGES = {f"https://pypi.org/simple/p{i}/": f"page {i}".encode() for i in range(5)}


class FakeClient:
    """Serves http sources from `served` (URL -> bytes); a solve with an unknown URL fails (404)."""

    def __init__(self, served, llb_caps=frozenset({"mergeop"})):
        self.served = dict(served)
        self.llb_caps = llb_caps
        self.solves: list[list[ops_pb2.Op]] = []
        self.refs: dict[str, dict[str, bytes]] = {}

    def solve(self, definition, cache_imports=()):
        ops = [ops_pb2.Op.FromString(raw) for raw in getattr(definition, "def")]
        self.solves.append(ops)
        files = {}
        for op in ops:
            if op.WhichOneof("op") == "source":
                url = op.source.identifier
                if url not in self.served:
                    raise GatewayError(f"{url}: invalid response status 404")
                files["/" + op.source.attrs["http.filename"]] = self.served[url]
        ref = f"ref-{len(self.solves)}"
        self.refs[ref] = files
        return gateway_pb2.Result(ref=gateway_pb2.Ref(id=ref))

    def read_file(self, ref, path, timeout=None):
        return self.refs[ref][path]


def kinds(ops):
    return sorted(op.WhichOneof("op") or "terminal" for op in ops)


def test_pages_come_in_one_solve_merged_side_by_side_in_order():
    client = FakeClient(PAGES)
    urls = list(PAGES)[::-1] + [list(PAGES)[0]]  # any order, duplicates kept
    assert Solver(client, config.from_opts({})).fetch_pages(urls) == [PAGES[u] for u in urls]
    assert len(client.solves) == 1
    assert kinds(client.solves[0]) == ["merge"] + ["source"] * 5 + ["terminal"]


def test_without_mergeop_the_batch_is_copied_into_one_tree():
    client = FakeClient(PAGES, llb_caps=frozenset())
    assert Solver(client, config.from_opts({})).fetch_pages(list(PAGES)) == list(PAGES.values())
    assert len(client.solves) == 1 and "merge" not in kinds(client.solves[0])


def test_a_missing_page_is_none_and_the_others_still_arrive():
    client = FakeClient(PAGES)
    urls = [*PAGES, "https://pypi.org/simple/nope/"]
    assert Solver(client, config.from_opts({})).fetch_pages(urls) == [*PAGES.values(), None]
    assert len(client.solves) == 1 + len(urls)  # the batch, then one by one


def test_a_file_name_is_the_same_in_every_build_and_unique_per_url():
    first, second = FakeClient(PAGES), FakeClient(PAGES)
    Solver(first, config.from_opts({})).fetch_pages(list(PAGES))
    Solver(second, config.from_opts({})).fetch_pages(list(PAGES)[::-1])
    names = lambda c: sorted(op.source.attrs["http.filename"] for op in c.solves[0] if op.HasField("source"))
    assert names(first) == names(second) and len(set(names(first))) == len(PAGES)


def test_files_with_checksums_keep_them():
    url = "https://files.example/x-1.0-py3-none-any.whl.metadata"
    client = FakeClient({url: b"Metadata-Version: 2.1\n"})
    assert Solver(client, config.from_opts({})).fetch_files([(url, "ab" * 32)]) == [b"Metadata-Version: 2.1\n"]
    (source,) = [op.source for op in client.solves[0] if op.HasField("source")]
    assert source.attrs["http.checksum"] == "sha256:" + "ab" * 32
    assert source.attrs["http.filename"].endswith("-x-1.0-py3-none-any.whl.metadata")


def test_wheel_metadata_reads_ranges_of_wheels_fetched_under_their_layer_file_name():
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("x-1.0.dist-info/METADATA", b"Name: x\n")
    url = "https://files.example/x-1.0-py3-none-any.whl"
    client = FakeClient({url: buf.getvalue()})
    client.stat_file = lambda ref, path: type("Stat", (), {"size": len(client.refs[ref][path])})()
    client.read_range = lambda ref, path, offset, n: client.refs[ref][path][offset:offset + n]
    solver = Solver(client, config.from_opts({}))
    assert solver.wheel_metadata([(url, "cd" * 32, "x-1.0-py3-none-any.whl")]) == [b"Name: x\n"]
    (source,) = [op.source for op in client.solves[0] if op.HasField("source")]
    assert dict(source.attrs) == {"http.checksum": "sha256:" + "cd" * 32, "http.filename": "x-1.0-py3-none-any.whl"}


class ScriptedClient:
    """Solves anything; ReadFile fails with the scripted errors first (as BuildKit reports fetches)."""

    llb_caps = frozenset({"mergeop"})

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        self.solved: list[list[ops_pb2.SourceOp]] = []
        self.reads: list[tuple[str, float | None]] = []

    def solve(self, definition, cache_imports=()):
        ops = [ops_pb2.Op.FromString(raw) for raw in getattr(definition, "def")]
        self.solved.append([op.source for op in ops if op.HasField("source")])
        return gateway_pb2.Result(ref=gateway_pb2.Ref(id=f"ref-{len(self.solved)}"))

    def read_file(self, ref, path, timeout=None):
        self.reads.append((path, timeout))
        if self.errors:
            raise GatewayError(self.errors.pop(0))
        return b"body"


@pytest.fixture
def no_sleep(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)


def scripted(client) -> Solver:
    return Solver(client, config.from_opts({"build-arg:PYLAYERS_FETCH_TIMEOUT": "12"}))


def test_after_a_failed_batch_retries_name_their_file_apart_and_keep_the_url(no_sleep):
    url = "https://idx/f/a.whl.metadata"
    client = ScriptedClient("invalid response status 503", "invalid response status 503", "unexpected EOF")
    assert scripted(client).fetch_files([(url, "ab" * 32)]) == [b"body"]
    assert [[s.identifier for s in sources] for sources in client.solved] == [[url]] * 4
    names = [sources[0].attrs["http.filename"] for sources in client.solved]
    assert names[0] == names[1] and names[2:] == ["try2-" + names[0], "try3-" + names[0]]
    assert {s[0].attrs["http.checksum"] for s in client.solved} == {"sha256:" + "ab" * 32}
    assert [timeout for _, timeout in client.reads] == [12.0] * 4


def test_a_missing_file_is_an_error_and_a_missing_page_none(no_sleep):
    with pytest.raises(GatewayError, match=r"^cannot fetch https://idx/f/a.metadata: HTTP 404$"):
        scripted(ScriptedClient(*["invalid response status 404"] * 2)).fetch_files([("https://idx/f/a.metadata", None)])
    assert scripted(ScriptedClient(*["invalid response status 404"] * 2)).fetch_pages(["https://idx/simple/x/"]) == [None]


def test_credentials_in_a_url_stay_out_of_messages(no_sleep):
    with pytest.raises(GatewayError) as info:
        scripted(ScriptedClient(*["invalid response status 403"] * 2)).fetch_pages(["https://user:s3cret@idx/simple/x/"])
    assert "s3cret" not in str(info.value) and "user:****@idx" in str(info.value)


class ExecClient:
    """Runs netfetch execs on paper: `served` URL -> bytes, or an int (the HTTP status of a failure)."""

    llb_caps = frozenset({"mergeop"})

    def __init__(self, served) -> None:
        self.served = served
        self.refs: dict[str, dict[str, bytes]] = {}

    def solve(self, definition, cache_imports=()):
        files = {}
        for raw in getattr(definition, "def"):
            op = ops_pb2.Op.FromString(raw)
            if op.HasField("exec"):
                mode = op.exec.meta.args[5]
                for url, _, name in json.loads(op.exec.meta.args[6]):
                    answer = self.served[url]
                    if isinstance(answer, bytes):
                        files["/" + name] = answer
                    elif mode == "report":
                        files[f"/{name}.failed"] = json.dumps({"status": answer, "reason": f"HTTP {answer}"}).encode()
                    else:
                        raise GatewayError("process did not complete successfully: exit code: 1")
        ref = f"ref-{len(self.refs)}"
        self.refs[ref] = files
        return gateway_pb2.Result(ref=gateway_pb2.Ref(id=ref))

    def read_file(self, ref, path, timeout=None):
        if path not in self.refs[ref]:
            raise GatewayError(f"open {path}: no such file or directory")
        return self.refs[ref][path]


def secret_solver(served) -> Solver:
    downloads = SecretDownloads(llb.image("python"), "python3", NetrcSecret("netrc"))
    return Solver(ExecClient(served), config.from_opts({})).with_downloads(downloads)


def test_with_a_secret_pages_come_from_one_exec_and_a_404_is_none():
    solver = secret_solver({"https://idx/simple/a/": b"page a", "https://idx/simple/b/": 404})
    assert solver.fetch_pages(["https://idx/simple/a/", "https://idx/simple/b/"]) == [b"page a", None]
    assert solver.fetch_page("https://idx/simple/b/") is None


def test_with_a_secret_a_refused_page_fails_at_once_with_the_scripts_reason(no_sleep):
    solver = secret_solver({"https://idx/simple/a/": b"page a", "https://idx/simple/b/": 401})
    with pytest.raises(GatewayError, match=r"^cannot fetch https://idx/simple/b/: HTTP 401$"):
        solver.fetch_pages(["https://idx/simple/a/", "https://idx/simple/b/"])


def test_with_a_secret_files_keep_their_sha256():
    solver = secret_solver({"https://idx/f/a.whl.metadata": b"Name: a"})
    assert solver.fetch_files([("https://idx/f/a.whl.metadata", "ab" * 32)]) == [b"Name: a"]


class WheelClient(ScriptedClient):
    """A solve of a wheel source fails while `failing` has tries left for its URL (as BuildKit, the
    same source fails again without a request once it failed)."""

    def __init__(self, failing: dict[str, int]) -> None:
        super().__init__()
        self.failing = dict(failing)
        self.broken: set[tuple[str, str]] = set()
        self.stats: list[tuple[str, str]] = []

    def stat_file(self, ref, path):
        source = self.solved[int(ref.split("-")[1]) - 1][0]
        key = (source.identifier, source.attrs.get("http.perm", ""))
        self.stats.append(key)
        if key in self.broken:
            raise GatewayError("digest mismatch sha256:aa: sha256:bb")
        if self.failing.get(source.identifier, 0) > 0:
            self.failing[source.identifier] -= 1
            self.broken.add(key)
            raise GatewayError("digest mismatch sha256:aa: sha256:bb")
        return object()


def wheel(name: str) -> PackageChoice:
    return PackageChoice(name=name, version="1.0", url=f"https://idx/f/{name}-1.0-py3-none-any.whl", sha256="ab" * 32,
                         filename=f"{name}-1.0-py3-none-any.whl", tag="py3-none-any")


def test_refetched_wheels_keep_the_try_that_worked(no_sleep):
    a, b = wheel("a"), wheel("b")
    client = WheelClient({a.url: 2})
    solver = scripted(client).refetch_wheels([a, b])
    assert solver.downloads.retried == ((a.url, 3),)
    assert sorted(client.stats) == sorted([(a.url, ""), (a.url, "0601"), (a.url, "0602"), (b.url, "")])


def test_a_wheel_that_never_arrives_fails_naming_it(no_sleep):
    a = wheel("a")
    with pytest.raises(GatewayError, match=r"^cannot fetch https://idx/f/a-1.0-py3-none-any.whl \(wheel of a 1.0\): "
                                           r"the body does not match its checksum .* \(4 tries in 0 s\)$"):
        scripted(WheelClient({a.url: 9})).refetch_wheels([a])
