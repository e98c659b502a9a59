"""The LLB of downloads: http sources without credentials, execs holding the netrc secret with."""

from __future__ import annotations

import json
from pathlib import Path

from frontend import llb
from frontend._pb import ops_pb2
from frontend.dockerfile.model import NetrcSecret
from frontend.downloads import NETRC_PATH, OUT_DIR, Fetch, HttpDownloads, SecretDownloads, failure_text

BASE = llb.image("localhost:5000/python:3.13-trixie")
WHEEL = Fetch("https://idx/files/a-1.0-py3-none-any.whl", "a-1.0-py3-none-any.whl", "sha256:" + "ab" * 32, "wheel a")
PAGE = Fetch("https://idx/simple/a/", "0123-page", None, "page a")


def ops(state) -> list[tuple[ops_pb2.Op, ops_pb2.OpMetadata]]:
    definition = llb.marshal(state)
    return [(ops_pb2.Op.FromString(raw), definition.metadata[llb.digest_of(raw)])
            for raw in getattr(definition, "def")[:-1]]


def execs(state):
    return [(op.exec, meta) for op, meta in ops(state) if op.HasField("exec")]


def test_without_credentials_a_download_is_the_daemons_http_source():
    (op, _), = ops(HttpDownloads().file(WHEEL))
    assert (op.source.identifier, dict(op.source.attrs)) == (WHEEL.url, {
        "http.checksum": WHEEL.checksum, "http.filename": WHEEL.filename})


def test_a_file_is_one_cached_exec_with_the_secret_mounted_and_its_sha256_in_the_arguments():
    downloads = SecretDownloads(BASE, "/usr/local/bin/python3", NetrcSecret("netrc"), "host")
    (exec_op, meta), = execs(downloads.file(WHEEL))
    secret, = [m for m in exec_op.mounts if m.mountType == ops_pb2.SECRET]
    assert (secret.dest, secret.secretOpt.ID, secret.secretOpt.optional, secret.secretOpt.mode) == (
        NETRC_PATH, "netrc", True, 0o400)
    assert secret.input == -1 and secret.output == -1
    args = list(exec_op.meta.args)
    assert args[:6] == ["/usr/local/bin/python3", "/pylayers-fetch/netfetch.py", NETRC_PATH, "netrc", OUT_DIR, "files"]
    assert json.loads(args[6]) == [[WHEEL.url, "ab" * 32, WHEEL.filename]]
    assert exec_op.network == ops_pb2.HOST and not meta.ignore_cache
    assert meta.description["llb.customname"] == "wheel a"


def test_pages_are_one_exec_that_runs_on_every_build_and_files_one_exec_each():
    downloads = SecretDownloads(BASE, "python3", NetrcSecret("creds", required=True))
    states = downloads.batch([PAGE, WHEEL, Fetch("https://idx/simple/b/", "4567-page")])
    found = [execs(s)[0] for s in states]
    assert [(json.loads(e.meta.args[6]), e.meta.args[5], m.ignore_cache) for e, m in found] == [
        ([[WHEEL.url, "ab" * 32, WHEEL.filename]], "files", False),
        ([[PAGE.url, "", PAGE.filename], ["https://idx/simple/b/", "", "4567-page"]], "report", True)]
    assert all(e.network == ops_pb2.UNSET for e, _ in found)
    assert {m.secretOpt.optional for e, _ in found for m in e.mounts if m.mountType == ops_pb2.SECRET} == {False}


def test_the_script_is_mounted_read_only_and_the_root_is_read_only():
    state = SecretDownloads(BASE, "python3", NetrcSecret("netrc")).file(PAGE)
    script = [op.file.actions[0].mkfile for op, _ in ops(state) if op.HasField("file")]
    assert [s.path for s in script] == ["/netfetch.py"]
    assert script[0].data == (Path(llb.__file__).parents[1] / "netfetch.py").read_bytes()
    (exec_op, _), = execs(state)
    mounts = {m.dest: m for m in exec_op.mounts}
    assert mounts["/"].readonly and mounts["/pylayers-fetch"].readonly and not mounts[OUT_DIR].readonly


def test_a_failure_report_names_the_url_without_its_credentials():
    status, text = failure_text("https://bot:t0ken@idx/simple/a/", b'{"status": 401, "reason": "HTTP 401: why"}')
    assert (status, text) == (401, "cannot fetch https://bot:****@idx/simple/a/: HTTP 401: why")


def test_a_retried_wheel_is_another_source_with_the_same_url_checksum_and_file_name():
    downloads = HttpDownloads().trying(WHEEL.url, 3)
    (op, _), = ops(downloads.file(WHEEL))
    assert dict(op.source.attrs) == {"http.checksum": WHEEL.checksum, "http.filename": WHEEL.filename,
                                     "http.perm": "0602"}
    assert downloads.trying(WHEEL.url, 1) == HttpDownloads()
    (page, _), = ops(downloads.file(Fetch(WHEEL.url, "page")))  # without a checksum: never a retry mode
    assert "http.perm" not in page.source.attrs
