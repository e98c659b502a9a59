"""pagereuse.py: which reused pages may be used, the window's cache key, the fallback to None."""

from __future__ import annotations

import json
import zlib
from types import SimpleNamespace

import pytest

from frontend import llb, pagereuse
from frontend.config import DEFAULT_INDEX_MAX_AGE
from frontend.errors import GatewayError
from frontend.netfetch import REUSE_INDEX
from frontend.solver import page_name

NOW = 1_796_025_000.0  # 2026-11-30T07:50:00Z
PAGE = "https://pypi.org/simple/six/"


@pytest.mark.parametrize("answer, usable", [
    ({"cache_control": None, "fetched": NOW - 500}, True),  # no header: the window decides
    ({"cache_control": "max-age=600, public", "fetched": NOW - 599}, True),
    ({"cache_control": "public, max-age=60", "fetched": NOW - 61}, False),  # outlived its max-age
    ({"cache_control": "no-cache", "fetched": NOW}, False),
    ({"cache_control": "private, no-store", "fetched": NOW}, False),
    ({"failed": {"status": 503, "reason": "HTTP 503"}, "fetched": NOW}, False),
    (None, False),
])
def test_a_page_is_used_only_if_it_came_and_its_index_allows_it(answer, usable):
    assert pagereuse.usable(answer, NOW) is usable


def window(now: float = NOW, network: str | None = None, max_age: int = 600,
           urls: tuple[str, ...] = (PAGE, "https://pypi.org/simple/idna/")) -> pagereuse.PageWindow:
    return pagereuse.PageWindow(llb.image("localhost:5000/python:3.13-trixie"), "/usr/bin:/bin", network,
                                max_age, now, urls=urls)


def digest(state) -> bytes:
    return llb.marshal(state).SerializeToString()


def test_the_exec_is_the_same_within_a_window_and_another_in_the_next():
    assert digest(window(NOW).state()) == digest(window(NOW + 599).state())
    assert digest(window(NOW).state()) != digest(window(NOW + 600).state())
    assert digest(window(NOW).state()) != digest(window(NOW, urls=(PAGE,)).state())
    assert window(NOW + 599).start == NOW


def exec_op(state):
    from frontend._pb import ops_pb2

    for raw in getattr(llb.marshal(state), "def"):
        op = ops_pb2.Op.FromString(raw)
        if op.HasField("exec"):
            return op.exec


def test_the_exec_finds_the_base_images_python_on_its_path_without_the_probe():
    solver = FakeSolver({})
    base_env = ("LANG=C.UTF-8", "PATH=/opt/python/bin:/usr/bin:/bin")
    run = exec_op(pagereuse.window(solver, llb.scratch(), base_env, None, now=lambda: NOW).with_urls([PAGE]).state())
    assert run.meta.args[:2] == ["/bin/sh", "-c"] and "command -v" in run.meta.args[2]
    assert "PATH=/opt/python/bin:/usr/bin:/bin" in run.meta.env
    run = exec_op(pagereuse.window(solver, llb.scratch(), (), None, now=lambda: NOW).with_urls([PAGE]).state())
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in run.meta.env  # no PATH: the usual


def test_a_window_without_pages_or_with_a_loopback_index_off_the_host_network_is_none():
    loopback = "http://127.0.0.1:8080/simple/six/"
    assert window().with_urls([]) is None and window().with_urls([PAGE, loopback]) is None
    assert window(network="host").with_urls([PAGE, loopback]).urls == (PAGE, loopback)


class FakeSolver:
    def __init__(self, files: dict[str, bytes] | None, max_age: int = DEFAULT_INDEX_MAX_AGE, opts=None,
                 secret: bool = False) -> None:
        self.files, self.solved = files, []
        self.config = SimpleNamespace(index_max_age=max_age, opts=opts or {}, build_args={})
        self.downloads = SimpleNamespace(reports_failures=secret)
        self.fetched: list[list[str]] = []  # the URLs of each fetch_pages, the usual way

    def fetch_pages(self, urls) -> list[bytes | None]:
        self.fetched.append(list(urls))
        return [f"fresh {url}".encode() for url in urls]

    def solve_state(self, state) -> str:
        self.solved.append(state)
        if self.files is None:
            raise GatewayError('process "/usr/bin/python3 netfetch.py" did not complete successfully: exit code: 1')
        return "ref"

    def read(self, ref: str, path: str) -> bytes:
        return self.files[path.lstrip("/")]

    def read_all(self, ref: str, paths) -> list[bytes]:
        return [self.read(ref, p) for p in paths]

    def read_ranges(self, ref: str, ranges) -> list[bytes]:
        self.ranges = list(ranges)
        return [self.read(ref, p)[o:o + n] if n else self.read(ref, p) for p, o, n in ranges]


def answers(cache_control=None, **pages: bytes) -> dict[str, bytes]:
    urls = {f"https://pypi.org/simple/{name}/": body for name, body in pages.items()}
    index = {page_name(u): {"cache_control": cache_control, "fetched": NOW - 10} for u in urls}
    return {REUSE_INDEX: json.dumps(index).encode(), **{page_name(u): zlib.compress(b) for u, b in urls.items()}}


def test_reused_pages_come_decompressed_in_order():
    solver = FakeSolver(answers(six=b"<a>six</a>", idna=b"<a>idna</a>"))
    got = pagereuse.reused_pages(solver, window(), ["https://pypi.org/simple/idna/", PAGE])
    assert got == [b"<a>idna</a>", b"<a>six</a>"] and len(solver.solved) == 1


@pytest.mark.parametrize("solver", [
    FakeSolver(None),  # the exec failed
    FakeSolver(answers(cache_control="no-store", six=b"x")),
    FakeSolver({REUSE_INDEX: json.dumps({page_name(PAGE): {"failed": {"status": 404}, "fetched": NOW}}).encode()}),
    FakeSolver({REUSE_INDEX: b"{not json"}),
])
def test_no_page_from_the_exec_means_none_at_all(solver):
    assert pagereuse.reused_pages(solver, window(), [PAGE]) is None and solver.fetched == []


IDNA = "https://pypi.org/simple/idna/"


@pytest.mark.parametrize("answer", [
    {"failed": {"status": None, "reason": "The read operation timed out"}, "fetched": NOW},
    {"cache_control": "max-age=5", "fetched": NOW - 10},  # outlived
    None,  # not in pages.json
])
def test_a_page_that_cannot_be_used_is_fetched_alone_and_the_others_are_reused(answer):
    files = answers(six=b"<a>six</a>", idna=b"<a>idna</a>")
    index = json.loads(files[REUSE_INDEX])
    if answer is None:
        del index[page_name(IDNA)]
    else:
        index[page_name(IDNA)] = answer
    solver = FakeSolver({**files, REUSE_INDEX: json.dumps(index).encode()})
    got = pagereuse.reused_pages(solver, window(), [IDNA, PAGE])
    assert got == [f"fresh {IDNA}".encode(), b"<a>six</a>"] and solver.fetched == [[IDNA]]


def test_a_page_fetched_again_that_fails_fails_the_build():
    solver = FakeSolver(answers(six=b"<a>six</a>"))

    def unreachable(urls):
        raise GatewayError(f"cannot fetch {urls[0]}: HTTP 503 (4 tries in 7 s)")

    solver.fetch_pages = unreachable
    with pytest.raises(GatewayError, match="HTTP 503"):
        pagereuse.reused_pages(solver, window(), [IDNA, PAGE])


def test_a_loopback_index_is_asked_only_on_the_host_network():
    url = "http://127.0.0.1:8080/simple/six/"
    solver = FakeSolver(answers(six=b"x"))
    assert pagereuse.reused_pages(solver, window(), [url]) is None and solver.solved == []
    solver.files = {REUSE_INDEX: json.dumps({page_name(url): {"fetched": NOW}}).encode(),
                    page_name(url): zlib.compress(b"x")}
    assert pagereuse.reused_pages(solver, window(network="host"), [url]) == [b"x"]


@pytest.mark.parametrize("solver, on", [
    (FakeSolver({}), True),
    (FakeSolver({}, max_age=0), False),
    (FakeSolver({}, opts={"no-cache": ""}), False),  # docker build --no-cache
    (FakeSolver({}, secret=True), False),  # pages with a netrc secret run on every build
])
def test_reuse_is_on_unless_turned_off_or_with_credentials(solver, on):
    found = pagereuse.window(solver, llb.scratch(), (), None, now=lambda: NOW)
    assert (found is not None) is on
    if on:
        assert (found.max_age, found.now) == (600, NOW)


def test_the_exec_goes_through_the_builds_proxy_like_a_run():
    solver = FakeSolver({})
    solver.config.build_args = {"HTTPS_PROXY": "http://proxy.corp:3128", "no_proxy": "localhost", "FOO": "bar"}
    found = pagereuse.window(solver, llb.scratch(), (), None, now=lambda: NOW)
    assert found.proxies == ("HTTPS_PROXY=http://proxy.corp:3128", "no_proxy=localhost")
    definition = llb.marshal(found.with_urls([PAGE]).state()).SerializeToString()
    assert b"HTTPS_PROXY=http://proxy.corp:3128" in definition and b"FOO=bar" not in definition


SIX = (b'<html><head><meta name="pypi:repository-version" content="1.1"></head><body>\n'
       b'<a href="six-1.16.0-py2.py3-none-any.whl#sha256=aa">six-1.16.0-py2.py3-none-any.whl</a><br />\n'
       b'<a href="six-1.17.0-py2.py3-none-any.whl#sha256=bb">six-1.17.0-py2.py3-none-any.whl</a><br />\n'
       b'<a href="six-1.17.0.tar.gz#sha256=cc">six-1.17.0.tar.gz</a><br />\n'
       b'<a href="six-0.9-py2.4.egg#sha256=dd">six-0.9-py2.4.egg</a><br />\n</body></html>')


def grouped_answers(**pages: bytes) -> dict[str, bytes]:
    """What the exec writes (netfetch.reuse): pages, their groups and pages.json."""
    from frontend import netfetch

    files, index = {}, {}
    for name, body in pages.items():
        url = f"https://pypi.org/simple/{name}/"
        files[page_name(url)] = zlib.compress(body)
        index[page_name(url)] = {"cache_control": None, "fetched": NOW - 10}
        split = netfetch.grouped(body, url)
        if split is not None:
            files[page_name(url) + netfetch.GROUPED] = split[1]
            index[page_name(url)].update(head=split[0], groups=split[2])
    return {REUSE_INDEX: json.dumps(index).encode(), **files}


def test_with_the_pinned_spellings_a_page_is_its_head_and_that_versions_anchors():
    from frontend.resolve.index import parse_project_page

    solver = FakeSolver(grouped_answers(six=SIX, idna=b"<a href='i-1.0.whl'>idna-1&#46;0-py3-none-any.whl</a>"))
    urls = [PAGE, "https://pypi.org/simple/idna/"]
    six, idna = pagereuse.reused_pages(solver, window(), urls, [("1.17.0",), ("1.0",)])
    assert idna == b"<a href='i-1.0.whl'>idna-1&#46;0-py3-none-any.whl</a>"  # not grouped: the whole page
    files = [link.filename for link in parse_project_page(six, PAGE)]
    assert files == ["six-0.9-py2.4.egg", "six-1.17.0-py2.py3-none-any.whl", "six-1.17.0.tar.gz"]
    assert b"pypi:repository-version" in six  # the head: <base>/<meta> tags still apply
    assert [n for _, _, n in solver.ranges if n] and all(p.endswith(".grouped") for p, _, n in solver.ranges if n)
    # a version the page does not have: the head (and the files of unknown version) only
    (none,) = pagereuse.reused_pages(solver, window(), [PAGE], [("9.9",)])
    assert [link.filename for link in parse_project_page(none, PAGE)] == ["six-0.9-py2.4.egg"]
    assert pagereuse.reused_pages(solver, window(), [PAGE]) == [SIX]  # no spellings: the whole page


def test_why_no_page_is_reused_goes_to_the_daemons_log(caplog):
    failed = {"failed": {"status": None, "reason": "The read operation timed out"}, "fetched": NOW}
    solver = FakeSolver({REUSE_INDEX: json.dumps({page_name(PAGE): failed}).encode()})
    with caplog.at_level("INFO", logger="pylayers"):
        assert pagereuse.reused_pages(solver, window(), [PAGE]) is None
        assert pagereuse.reused_pages(FakeSolver(None), window(), [PAGE]) is None
    assert "index pages: none of 1 from the window's exec (The read operation timed out)" in caplog.text
    assert "index pages: none from the window's exec (GatewayError: process" in caplog.text
