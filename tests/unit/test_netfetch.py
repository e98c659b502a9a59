"""netfetch.py, the download script that runs in the build with the netrc secret, against a real
HTTP server on 127.0.0.1 that wants basic auth."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from frontend import netfetch

USER, PASSWORD = "ci-bot", "pa55-w0rd-not-in-any-output"
GOOD = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
BODY = b"<html><a href='x.whl'>x.whl</a></html>"
SHA = hashlib.sha256(BODY).hexdigest()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        server.seen.append((self.path, self.headers.get("Authorization")))
        server.alpn.append(getattr(self.connection, "selected_alpn_protocol", lambda: None)())
        if self.path == "/redirect":  # to the same server under another host name
            return self._answer(302, b"", {"Location": f"http://localhost:{server.server_port}/page"})
        if self.path == "/open":
            return self._answer(200, BODY)
        if self.path == "/cached":
            return self._answer(200, BODY, {"Cache-Control": "max-age=600, public"})
        if self.path == "/busy":
            return self._answer(503, b"busy")
        if self.headers.get("Authorization") != GOOD:
            return self._answer(401, b"", {"WWW-Authenticate": 'Basic realm="x"'})
        if self.path == "/flaky" and server.seen.count(("/flaky", GOOD)) < 2:
            return self._answer(503, b"busy")
        if self.path in ("/page", "/flaky"):
            return self._answer(200, BODY)
        self._answer(404, b"no")

    def _answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.seen, srv.alpn = [], []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


def netrc_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "netrc"
    path.write_text(text)
    return str(path)


def fetch(server, tmp_path, items, mode="files", netrc_text=f"machine 127.0.0.1 login {USER} password {PASSWORD}\n",
          capsys=None):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    netrc_path = netrc_file(tmp_path, netrc_text) if netrc_text is not None else str(tmp_path / "absent")
    urls = [[f"http://127.0.0.1:{server.server_port}{path}", sha, name] for path, sha, name in items]
    status = netfetch.run(netrc_path, "netrc", str(out), mode, urls, sleep=lambda s: None)
    return status, out


def test_sends_the_netrc_credentials_and_checks_the_sha256(server, tmp_path):
    status, out = fetch(server, tmp_path, [("/page", SHA, "page.html")])
    assert status == 0 and (out / "page.html").read_bytes() == BODY
    assert ("/page", GOOD) in server.seen


def test_a_redirect_to_another_host_gets_that_hosts_credentials_only(server, tmp_path):
    netrc_text = f"machine 127.0.0.1 login {USER} password {PASSWORD}\n"  # nothing for "localhost"
    status, out = fetch(server, tmp_path, [("/redirect", "", "r")], mode="report", netrc_text=netrc_text)
    assert status == 0 and server.seen[-1] == ("/page", None)
    report = json.loads((out / "r.failed").read_text())
    assert report["status"] == 401
    assert report["reason"] == ("HTTP 401: the index asks for credentials and the netrc of secret netrc has none "
                                "for localhost: add a line `machine localhost login <user> password <password>`")


def test_a_default_entry_serves_every_host(server, tmp_path):
    status, out = fetch(server, tmp_path, [("/redirect", SHA, "r")], netrc_text=f"default login {USER} password {PASSWORD}\n")
    assert status == 0 and (out / "r").read_bytes() == BODY and server.seen[-1] == ("/page", GOOD)


def test_5xx_is_retried(server, tmp_path):
    status, out = fetch(server, tmp_path, [("/flaky", SHA, "f")])
    assert status == 0 and (out / "f").read_bytes() == BODY
    assert [p for p, _ in server.seen].count("/flaky") == 2


def test_report_mode_writes_why_a_page_failed_and_exits_0(server, tmp_path):
    status, out = fetch(server, tmp_path, [("/missing", "", "m"), ("/page", "", "p")], mode="report")
    assert status == 0 and (out / "p").read_bytes() == BODY and not (out / "m").exists()
    assert json.loads((out / "m.failed").read_text()) == {"status": 404, "reason": "HTTP 404"}


@pytest.mark.parametrize("netrc_text, reason", [
    (f"machine 127.0.0.1 login {USER} password wrong-{PASSWORD}\n",
     "HTTP 401: the index refused the credentials for 127.0.0.1 in the netrc of secret netrc"),
    (None, "HTTP 401: the index asks for credentials and the build has no secret netrc: build with "
           "--secret id=netrc,src=<netrc file>"),
])
def test_files_mode_fails_with_a_message_that_never_shows_the_password(server, tmp_path, capsys, netrc_text, reason):
    status, out = fetch(server, tmp_path, [("/page", SHA, "page.html")], netrc_text=netrc_text)
    err = capsys.readouterr().err
    assert status == 1 and not (out / "page.html").exists()
    assert err == f"pylayers: http://127.0.0.1:{server.server_port}/page: {reason}\n"
    assert PASSWORD not in err


def test_a_body_that_does_not_match_its_sha256_is_never_written(server, tmp_path, capsys):
    status, out = fetch(server, tmp_path, [("/open", "0" * 64, "o")])
    assert status == 1 and list(out.iterdir()) == []
    assert "the body does not match its checksum (expected sha256:" + "0" * 64 in capsys.readouterr().err


def test_a_broken_netrc_is_reported_without_quoting_it(server, tmp_path, capsys):
    status, _ = fetch(server, tmp_path, [("/page", SHA, "p")], netrc_text=f"machine 127.0.0.1 login {USER} password\n"
                                                                           f"{PASSWORD} bogus\n")
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("pylayers: secret netrc: the netrc secret cannot be read (NetrcParseError")
    assert PASSWORD not in err


def test_runs_as_a_script_with_the_standard_library_only(server, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    listed = json.dumps([[f"http://127.0.0.1:{server.server_port}/page", SHA, "page"]])
    script = Path(netfetch.__file__)
    proc = subprocess.run([sys.executable, "-I", str(script), netrc_file(tmp_path, f"default login {USER} password "
                           f"{PASSWORD}\n"), "netrc", str(out), "files", listed], capture_output=True, text=True)
    assert (proc.returncode, proc.stderr, (out / "page").read_bytes()) == (0, "", BODY)


def test_reuse_mode_keeps_compressed_pages_with_their_cache_control_and_tries_once(server, tmp_path):
    import time
    import zlib

    out = tmp_path / "out"
    out.mkdir()
    base = f"http://127.0.0.1:{server.server_port}"
    before = time.time()
    status = netfetch.run("", "", str(out), "reuse", [[f"{base}/cached", "", "c"], [f"{base}/open", "", "o"],
                                                    [f"{base}/busy", "", "b"], [f"{base}/missing", "", "m"]])
    assert status == 0
    assert zlib.decompress((out / "c").read_bytes()) == BODY == zlib.decompress((out / "o").read_bytes())
    found = json.loads((out / netfetch.REUSE_INDEX).read_text())
    assert found["c"]["cache_control"] == "max-age=600, public" and found["o"]["cache_control"] is None
    assert before <= found["c"]["fetched"] <= time.time()
    assert found["b"]["failed"] == {"status": 503, "reason": "HTTP 503"} and not (out / "b").exists()
    assert "failed" in found["m"] and not (out / "m").exists()  # 401 here, or not asked after /busy failed
    assert [p for p, _ in server.seen].count("/busy") == 1  # the frontend fetches what is missing


def test_reuse_mode_asks_for_no_page_after_one_failed(server, tmp_path, monkeypatch):
    monkeypatch.setattr(netfetch, "REUSE_PARALLEL", 1)  # one after the other
    base = f"http://127.0.0.1:{server.server_port}"
    seen = len(server.seen)
    assert netfetch.reuse(str(tmp_path), [[f"{base}/busy", "", "b"], [f"{base}/open", "", "o"]]) == 0
    found = json.loads((tmp_path / netfetch.REUSE_INDEX).read_text())
    assert found["o"]["failed"] == {"status": None, "reason": "not asked: another page failed"}
    assert [p for p, _ in server.seen[seen:]] == ["/busy"]


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    """The handler over HTTPS with a certificate made for 127.0.0.1, trusted through SSL_CERT_FILE
    (which contexts made by ssl.create_default_context read)."""
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.seen, srv.alpn = [], []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2", "http/1.1"])
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setattr(netfetch, "_TLS", [])  # made again, with this trust
    yield srv
    srv.shutdown()


def test_https_requests_share_one_tls_context_that_still_verifies(tls_server, tmp_path, monkeypatch):
    """Making a TLS context loads the CA bundle (16 ms of CPU each on the test bed): one for all."""
    import ssl

    loads = []
    load = ssl.SSLContext.set_default_verify_paths
    monkeypatch.setattr(ssl.SSLContext, "set_default_verify_paths", lambda self: loads.append(1) or load(self))
    base = f"https://127.0.0.1:{tls_server.server_port}"
    items = [[f"{base}/open", "", f"o{i}"] for i in range(6)]
    assert netfetch.reuse(str(tmp_path), items) == 0
    found = json.loads((tmp_path / netfetch.REUSE_INDEX).read_text())
    assert all("failed" not in found[f"o{i}"] for i in range(6)), found
    assert len(tls_server.seen) == 6 and len(loads) == 1
    assert tls_server.alpn == ["http/1.1"] * 6  # what urllib's own contexts offer (never h2)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert-of-nobody.pem"))
    monkeypatch.setattr(netfetch, "_TLS", [])  # a context that does not trust the server's certificate
    with pytest.raises(netfetch.Failed, match="CERTIFICATE_VERIFY_FAILED"):
        netfetch.get(f"{base}/open", {}, 5)


@pytest.mark.parametrize("version, key", [("2.9.0.post0", "2.9"), ("2.9", "2.9"), ("v1.0", "1"), ("1.0.0", "1"),
                                          ("2024.08.30", "2024.8.30"), ("1!2.0", "1"), ("dev", ""), ("0", "0")])
def test_version_key_is_the_release_without_trailing_zeros(version, key):
    assert netfetch.version_key(version) == key


@pytest.mark.parametrize("filename, key", [
    ("python_dateutil-2.9.0.post0-py2.py3-none-any.whl", "2.9"),
    ("python-dateutil-2.9.0.post0.tar.gz", "2.9"),
    ("numpy-2.4.6-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl", "2.4.6"),
    ("numpy-2.4.6-1-cp313-cp313-linux_x86_64.whl", "2.4.6"),  # a build tag
    ("celery-3.1.26-1.tar.gz", netfetch.ANY_VERSION),  # the name cannot be told from the version
    ("py-3to2-1.0.tar.gz", netfetch.ANY_VERSION),
    ("numpy-1.0.win32-py2.4.exe", netfetch.ANY_VERSION),
])
def test_file_key_tells_a_files_version_or_says_it_cannot(filename, key):
    project = filename.split("-")[0].replace("_", "-").lower()
    assert netfetch.file_key(filename, "python-dateutil" if project == "python" else project) == key


def test_grouped_keeps_every_anchor_once_under_its_key_and_the_head():
    page = ('<html><head><base href="https://f/"></head><body>'
            + "".join(f'<a href="a-{v}-py3-none-any.whl">a-{v}-py3-none-any.whl</a><br/>'
                      for v in ("1.0", "1.0.0", "2.0", "2.0.1")) + '<a href="a-1.0.exe">a-1.0.exe</a></body></html>')
    head, data, index = netfetch.grouped(page.encode(), "https://idx/simple/A/")
    assert head == '<html><head><base href="https://f/"></head><body>'
    groups = {k: data[o:o + n].decode() for k, (o, n) in index.items()}
    assert set(groups) == {"1", "2", "2.0.1", netfetch.ANY_VERSION}
    assert groups["1"].count("<a ") == 2 and "a-2.0.1" not in groups["2"] and "a-1.0.exe" in groups["*"]
    assert sum(g.count("<a ") for g in groups.values()) == 5
    assert netfetch.grouped(b'<a href="x">a&#46;whl</a>', "https://idx/simple/a/") is None
    assert netfetch.grouped(b'{"files": []}', "https://idx/simple/a/") is None


def test_the_exec_delimits_anchors_as_the_frontend_does():
    """netfetch.py runs alone in the build's image (stdlib only) and keeps its own copy of the
    anchor pattern of resolve/index.py: the pages it groups are read back with that one."""
    from frontend.resolve import index

    assert (netfetch._ANCHOR.pattern, netfetch._ANCHOR.flags) == (index._ANCHOR.pattern, index._ANCHOR.flags)
