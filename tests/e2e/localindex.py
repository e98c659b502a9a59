"""A PEP 503 package index on 127.0.0.1 serving wheels that tests make on the fly.

BuildKit's http source downloads from the daemon, which runs in the host's network, so the daemon
reaches this server; containers do not need to.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import threading
import zipfile
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_wheel(name: str, version: str, files: dict[str, bytes] | None = None,
               tag: str = "py3-none-any", requires: tuple[str, ...] = (),
               extra_entries: dict[str, bytes] | None = None) -> tuple[str, bytes]:
    """A valid wheel (dist-info, RECORD) with `files`; `extra_entries` are added unchecked."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = dict(files or {f"{dist}/__init__.py": f"VERSION = {version!r}\n".encode()})
    meta = "".join(f"Requires-Dist: {r}\n" for r in requires)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{meta}".encode()
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    record = "".join(f"{p},sha256={_b64(d)},{len(d)}\n" for p, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in {**files, **(extra_entries or {})}.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return f"{dist}-{version}-{tag}.whl", buf.getvalue()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


@dataclass
class LocalIndex:
    root: Path
    port: int = 0
    projects: dict[str, list[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def add(self, name: str, version: str, **kwargs) -> str:
        """Adds a wheel, with its METADATA served as a PEP 658 file; returns the wheel's sha256."""
        filename, data = make_wheel(name, version, **kwargs)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            meta = zf.read(f"{name.replace('-', '_')}-{version}.dist-info/METADATA")
        self._store(filename + ".metadata", meta)
        return self.add_file(name, filename, data)

    def add_file(self, name: str, filename: str, data: bytes) -> str:
        """Adds any file (an sdist, a hand-made wheel) to a project; returns its sha256."""
        self._store(filename, data)
        self.projects.setdefault(name, []).append(filename)
        self._write_page(name)
        return hashlib.sha256(data).hexdigest()

    def _store(self, filename: str, data: bytes) -> None:
        (self.root / "files").mkdir(parents=True, exist_ok=True)
        (self.root / "files" / filename).write_bytes(data)

    def _write_page(self, name: str) -> None:
        links = []
        for fn in self.projects[name]:
            digest = hashlib.sha256((self.root / "files" / fn).read_bytes()).hexdigest()
            meta = self.root / "files" / (fn + ".metadata")
            attr = ""
            if meta.exists():
                attr = f' data-core-metadata="sha256={hashlib.sha256(meta.read_bytes()).hexdigest()}"'
            links.append(f'<a href="../../files/{html.escape(fn)}#sha256={digest}"{attr}>{html.escape(fn)}</a><br/>')
        page = self.root / "simple" / name
        page.mkdir(parents=True, exist_ok=True)
        (page / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")


class _Quiet(SimpleHTTPRequestHandler):
    """Serves the index directory; logs each path (granted: None, no credentials asked)."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, None))
        super().do_GET()

    def do_HEAD(self) -> None:
        self.server.requests.append((self.path, None))
        super().do_HEAD()


class _Private(_Quiet):
    """Answers 401 unless the request carries the server's basic-auth credentials; logs each path."""

    def do_GET(self) -> None:
        server = self.server
        granted = self.headers.get("Authorization") == server.authorization
        server.requests.append((self.path, granted))
        if not granted:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="private"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        SimpleHTTPRequestHandler.do_GET(self)  # logged above, with whether it was granted

    do_HEAD = do_GET


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # the daemon fetches hundreds of files at once (default: 5)
    authorization: str | None = None
    requests: list


def serve(root: Path, credentials: tuple[str, str] | None = None) -> tuple[LocalIndex, ThreadingHTTPServer]:
    """The index and its server; with `credentials` (user, password) every request needs them."""
    root.mkdir(parents=True, exist_ok=True)
    handler = _Private if credentials else _Quiet
    server = _Server(("127.0.0.1", 0), partial(handler, directory=str(root)))
    server.requests = []
    if credentials:
        server.authorization = "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return LocalIndex(root=root, port=server.server_address[1]), server
