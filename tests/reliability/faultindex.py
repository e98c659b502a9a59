"""A fault-injecting package index on 127.0.0.1: the local index of tests/e2e with faults per path.

The daemon's http sources fetch from it (BuildKit runs in the host's network). A fault applies to
one URL path, for every request or for the first `times` requests (then the file is served as
usual), and counts the requests it saw:

    status         answers `status` (e.g. 503, 404) with a short body
    stall_headers  sends 200 and the headers, one byte of body, then nothing until released
    stall          accepts the connection and sends nothing until released
    close_mid_body sends 200 with the full Content-Length, half the body, then closes
    body           serves `body` instead of the file (wrong bytes, malformed HTML/JSON)
    redirect_loop  answers 302 to itself, for ever
    slow           sends the file in 1 KiB pieces, `delay` seconds apart
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.localindex import LocalIndex

KINDS = ("status", "stall_headers", "stall", "close_mid_body", "body", "redirect_loop", "slow")
STALL_LIMIT = 900.0  # seconds a stalled request waits for release before it gives up by itself


@dataclass
class Fault:
    kind: str
    times: int | None = None  # None: every request; N: the first N requests, then serve normally
    status: int = 503
    body: bytes = b""
    content_type: str = "text/html"
    delay: float = 0.5
    hits: int = 0
    sent: int = 0  # body bytes a `slow` fault has sent
    aborted: bool = False  # a `slow` fault's client went away before the end of the body

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @property
    def payload(self) -> bytes:
        """The body a `status` or `body` fault sends."""
        return self.body or f"fault: {self.status}\n".encode()

    def take(self) -> bool:
        """Counts a request; True if the fault applies to it."""
        self.hits += 1
        return self.times is None or self.hits <= self.times


@dataclass
class FaultIndex(LocalIndex):
    """A LocalIndex whose server consults `faults` (URL path → Fault) before serving a file."""

    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path), in order
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, url_or_path: str, fault: Fault) -> Fault:
        self.faults[urlsplit(url_or_path).path] = fault
        return fault

    def clear(self, url_or_path: str | None = None) -> None:
        """Removes one fault (or all) and lets every stalled request end."""
        if url_or_path is None:
            self.faults.clear()
        else:
            self.faults.pop(urlsplit(url_or_path).path, None)
        self.released.set()  # stalled handlers hold this event; later stalls wait on a new one
        self.released = threading.Event()

    def page_url(self, name: str) -> str:
        return f"{self.url}{name}/"

    def file_url(self, filename: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{filename}"

    def hits(self, url_or_path: str) -> int:
        path = urlsplit(url_or_path).path
        with self.lock:
            return sum(1 for _, p in self.requests if p == path)


class _Handler(SimpleHTTPRequestHandler):
    index: FaultIndex

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def _handle(self, head: bool) -> None:
        path = urlsplit(self.path).path
        with self.index.lock:
            self.index.requests.append((self.command, path))
            fault = self.index.faults.get(path)
            active = fault is not None and fault.take()
        if not active:
            return super().do_HEAD() if head else super().do_GET()
        getattr(self, "_" + fault.kind)(fault, path, head)

    def _file_bytes(self, path: str) -> bytes:
        target = Path(self.translate_path(path))
        return (target / "index.html" if target.is_dir() else target).read_bytes()

    def _start(self, status: int, length: int, content_type: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def _status(self, fault: Fault, path: str, head: bool) -> None:
        body = fault.payload
        self._start(fault.status, len(body), "text/plain")
        if not head:
            self.wfile.write(body)

    def _body(self, fault: Fault, path: str, head: bool) -> None:
        self._start(200, len(fault.body), fault.content_type)
        if not head:
            self.wfile.write(fault.body)

    def _redirect_loop(self, fault: Fault, path: str, head: bool) -> None:
        self.send_response(302)
        self.send_header("Location", path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stall_headers(self, fault: Fault, path: str, head: bool) -> None:
        data = self._file_bytes(path)
        self._start(200, len(data))
        if not head:
            self.wfile.write(data[:1])
            self.wfile.flush()
        self._wait()

    def _stall(self, fault: Fault, path: str, head: bool) -> None:
        self._wait()

    def _close_mid_body(self, fault: Fault, path: str, head: bool) -> None:
        data = self._file_bytes(path)
        self._start(200, len(data))
        if not head:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
        self.close_connection = True

    def _slow(self, fault: Fault, path: str, head: bool) -> None:
        data = self._file_bytes(path)
        self._start(200, len(data))
        try:
            for at in range(0, 0 if head else len(data), 1024):
                self.wfile.write(data[at:at + 1024])
                self.wfile.flush()
                fault.sent += len(data[at:at + 1024])
                time.sleep(fault.delay)
        except OSError:  # the client went away (a cancelled build)
            fault.aborted = True
            self.close_connection = True

    def _wait(self) -> None:
        self.index.released.wait(STALL_LIMIT)
        self.close_connection = True


class FaultServer:
    """Serves a FaultIndex; `with FaultServer(root) as index:` or start()/stop()."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.index = FaultIndex(root=root)
        handler = type("Handler", (_Handler,), {"index": self.index})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.server.daemon_threads = True
        self.index.port = self.server.server_address[1]

    def start(self) -> FaultIndex:
        threading.Thread(target=self.server.serve_forever, name="faultindex", daemon=True).start()
        return self.index

    def stop(self) -> None:
        self.index.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultIndex:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
