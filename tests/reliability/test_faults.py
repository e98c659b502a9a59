"""A faulty package index: what each fault does to a build, and that the next build, with the fault
gone, succeeds (BuildKit keeps no failed fetch).

Index pages and PEP 658 metadata files are fetched by the frontend (retried, under a deadline);
wheels, pinned by their sha256, before the frontend delegates (retried after a failure).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import BASE_313, FRONTEND, buildx, one_page_window, run

from .faultindex import Fault, FaultIndex, FaultServer

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
COPY requirements.txt /
RUN pip install --no-cache-dir --index-url {index} -r /requirements.txt
"""
TIMEOUT = 5  # PYLAYERS_FETCH_TIMEOUT of the builds with a stalling server, seconds


@dataclass(frozen=True)
class Case:
    where: str  # "page", "metadata" or "wheel": the URL the fault is put on
    fault: Fault
    expect: str | tuple[str, ...] | None  # None: the build succeeds; else these texts are in the output
    # (formatted with url, name, sha: the file's sha256, got: the sha256 of what the fault sends)
    hits: int  # requests the URL got during the faulty build


def _body(data: bytes, content_type: str = "text/html") -> Fault:
    return Fault("body", body=data, content_type=content_type)


CASES = {
    "page_503_twice_then_ok": Case("page", Fault("status", times=2, status=503), None, 3),
    "page_502_once_then_ok": Case("page", Fault("status", times=1, status=502), None, 2),
    "page_closed_mid_body_once": Case("page", Fault("close_mid_body", times=1), None, 2),
    "page_503_always": Case("page", Fault("status", status=503), "cannot fetch {url}: HTTP 503 (4 tries in ", 4),
    "page_closed_mid_body_always": Case(
        "page", Fault("close_mid_body"),
        "cannot fetch {url}: the connection failed before the whole body arrived (unexpected EOF) (4 tries in ", 4),
    "page_403": Case("page", Fault("status", status=403), "cannot fetch {url}: HTTP 403", 1),
    "page_404": Case("page", Fault("status", status=404), "/requirements.txt:1: {name}: no such project on {url}", 1),
    # A stall costs two deadlines: the batch of every page, then the stalled page alone (to name it).
    "page_stalls_after_headers": Case(
        "page", Fault("stall_headers"),
        f"cannot fetch {{url}}: no complete answer within {TIMEOUT} s (a stalled or very slow server); build argument "
        "PYLAYERS_FETCH_TIMEOUT sets this limit in seconds", 2),
    "page_stalls_before_headers": Case(
        "page", Fault("stall"), f"cannot fetch {{url}}: no complete answer within {TIMEOUT} s (a stalled or very slow server)", 2),
    "page_redirect_loop": Case("page", Fault("redirect_loop"),
                               "cannot fetch {url}: too many redirects (a redirect loop?)", 10),
    "page_malformed_json": Case(
        "page", _body(b'{"meta": {"api-version": "1.0"}, "files": [{"filename": ', "application/vnd.pypi.simple.v1+json"),
        "{url}: invalid JSON project page (Expecting value: line 1 column 57 (char 56))", 1),
    "page_json_without_files": Case(
        "page", _body(b'{"meta": {"api-version": "1.0"}, "projects": []}', "application/json"),
        '{url}: not a PEP 691 project page (no "files" list)', 1),
    "page_html_without_links": Case(
        "page", _body(b"<html><body><h1>502 Bad Gateway</h1>\x00\xff</body>"),
        "/requirements.txt:1: {name}==1.0 not found on {url} (available: none)", 1),
    "page_future_api_version": Case(
        "page", _body(b'<html><head><meta name="pypi:repository-version" content="2.0"></head></html>'),
        "{url}: unsupported simple repository API version 2.0 (pylayers reads version 1.x)", 1),
    "metadata_wrong_body": Case(
        "metadata", _body(b"Metadata-Version: 2.1\nName: evil\n"),
        "cannot fetch {url}: the body does not match its checksum (expected sha256:{sha}, got sha256:{got}) "
        "(4 tries in ", 4),
    "metadata_503_once_then_ok": Case("metadata", Fault("status", times=1, status=503), None, 2),
    # BuildKit checks a wheel's sha256 but neither retries nor checks the status of a download
    # with a checksum (0.13): a 503 is a wrong body. The frontend downloads the wheels before it
    # delegates (the overlap check); when that fails, each wheel is fetched again, with retries.
    # The first retry is answered by BuildKit's memory of the failed download: 4 tries, 4 requests.
    "wheel_wrong_body": Case("wheel", _body(b"PK\x03\x04 not the wheel"), (
        "ERROR: failed to solve: cannot fetch {url} (wheel of {name} 1.0): the body does not match its checksum "
        "(expected sha256:{sha}, got sha256:{got}) (4 tries in "), 4),
    "wheel_503_once_then_ok": Case("wheel", Fault("status", times=1, status=503), None, 2),
    "wheel_503": Case("wheel", Fault("status", status=503), (
        "ERROR: failed to solve: cannot fetch {url} (wheel of {name} 1.0): the body does not match its checksum "
        "(expected sha256:{sha}, got sha256:{got}) (4 tries in "), 4),
    "wheel_closed_mid_body_once": Case("wheel", Fault("close_mid_body", times=1), None, 2),
    "wheel_closed_mid_body": Case("wheel", Fault("close_mid_body"), (
        "ERROR: failed to solve: cannot fetch {url} (wheel of {name} 1.0): the connection failed before the whole "
        "body arrived (unexpected EOF) (4 tries in "), 4),
}


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    with FaultServer(tmp_path_factory.mktemp("faults")) as idx:
        yield idx


def _build(workdir, index: FaultIndex, requirements: str, *args: str):
    (workdir / "requirements.txt").write_text(requirements)
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url))
    return buildx(workdir, *args, timeout=600)


def _url(index: FaultIndex, where: str, name: str) -> str:
    wheel = index.file_url(f"{name.replace('-', '_')}-1.0-py3-none-any.whl")
    return {"page": index.page_url(name), "wheel": wheel, "metadata": wheel + ".metadata"}[where]


@pytest.mark.parametrize("case", list(CASES))
def test_a_fault_has_its_exact_outcome_and_leaves_nothing_behind(case, index, workdir, image_name, docker_client):
    spec = CASES[case]
    name = case.replace("_", "-")
    marker = uuid.uuid4().hex  # fresh wheel bytes: no cache of an earlier run may hide the fault
    index.add(name, "1.0", files={f"{name.replace('-', '_')}/__init__.py": f"MARK = {marker!r}\n".encode()})
    url = _url(index, spec.where, name)
    fault = index.inject(url, Fault(**{**spec.fault.__dict__, "hits": 0}))
    try:
        deadline = ("--build-arg", f"PYLAYERS_FETCH_TIMEOUT={TIMEOUT}") if "stall" in spec.fault.kind else ()
        result = _build(workdir, index, f"{name}==1.0\n", *deadline, "-t", f"{image_name}:faulty")
    finally:
        index.clear()
    assert fault.hits == spec.hits, result.output[-3000:]
    if spec.expect is None:
        result.check()
    else:
        assert result.returncode != 0, result.output[-3000:]
        served = (index.root / "files" / url.rsplit("/", 1)[-1]) if spec.where != "page" else None
        values = dict(url=url, name=name, got=hashlib.sha256(fault.payload).hexdigest(),
                      sha=served and hashlib.sha256(served.read_bytes()).hexdigest())
        expected = (spec.expect,) if isinstance(spec.expect, str) else spec.expect
        # BuildKit's client runs the build function and the Solve call side by side and reports
        # whichever fails first: "failed to run Build function: …" or "failed to solve: …"
        output = result.output.replace("ERROR: failed to run Build function: ", "ERROR: failed to solve: ")
        for text in expected:
            assert text.format(**values) in output, result.output[-3000:]
        assert docker_client.images.list(name=f"{image_name}") == []
        assert result.seconds < 120  # a stall ends with the deadline, not with the server
    # the fault is gone: the next build succeeds (and the image holds the right package)
    if spec.where == "page":
        _build(workdir, index, f"{name}==1.0\n").check()
        return
    _build(workdir, index, f"{name}==1.0\n", "--load", "-t", f"{image_name}:ok").check()
    module = name.replace("-", "_")
    assert run(docker_client, f"{image_name}:ok", "python", "-c", f"import {module}; print({module}.MARK)").strip() == marker


REUSE_WINDOW = 86400  # one window of reused pages for the whole test (pagereuse.py)


def test_a_page_the_window_exec_missed_is_fetched_alone_and_the_others_are_still_reused(
        index, workdir, image_name, docker_client):
    """The exec that fetches the pages a window reuses tries each page once, and what it got
    stays for the whole window: a page that failed there is fetched the usual way, alone, on every
    build of the window, while the other page is still reused: the index never sees it again."""
    salt = uuid.uuid4().hex[:8]
    names = (f"reused-{salt}", f"missed-{salt}")
    for name in names:
        index.add(name, "1.0", files={f"{name.replace('-', '_')}/__init__.py": f"NAME = {name!r}\n".encode()})
    reused, missed = (index.page_url(name) for name in names)
    (workdir / "requirements.txt").write_text("".join(f"{name}==1.0\n" for name in names))
    dockerfile = (f"# syntax={FRONTEND}\nFROM {BASE_313}\nCOPY requirements.txt /\n"
                  f"RUN --network=host pip install --no-cache-dir --index-url {index.url} -r /requirements.txt\n")
    (workdir / "Dockerfile").write_text(dockerfile)
    args = ("--allow", "network.host", *one_page_window(REUSE_WINDOW))
    index.inject(missed, Fault("status", times=1, status=503))  # the exec's one try
    try:
        result = buildx(workdir, *args, "--load", "-t", f"{image_name}:1", timeout=600)
    finally:
        index.clear()
    result.check()
    assert (index.hits(reused), index.hits(missed)) == (1, 2), result.output[-3000:]

    (workdir / "Dockerfile").write_text(dockerfile + "ENV REBUILT=1\n")
    buildx(workdir, *args, "--load", "-t", f"{image_name}:2", timeout=600).check()
    assert (index.hits(reused), index.hits(missed)) == (1, 3)
    check = "; ".join(f"import {n.replace('-', '_')} as m; print(m.NAME)" for n in names)
    assert run(docker_client, f"{image_name}:2", "python", "-c", check).split() == list(names)
