"""The gRPC transport of an image frontend: raw HTTP/2 on stdin (from BuildKit) and stdout (to it).

grpcio cannot use a pair of file descriptors as a channel, so a relay accepts exactly one
connection on a private unix socket and pumps bytes between it and the two pipes. The socket
lives in the abstract namespace (no file: the frontend writes nothing, and runs on a read-only
root filesystem; the frontend's network namespace of its own keeps it private). Before that,
fds 0 and 1 are moved out of the way (fd 1 then points at stderr), so a stray print can never
corrupt the gRPC stream. The pipe to BuildKit is never closed by the relay, only by the exit.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading

log = logging.getLogger("pylayers.gateway")
CHUNK = 1 << 16


class StdioRelay:
    """Relays one unix-socket connection to the frontend's stdin/stdout pipes."""

    def __init__(self, in_fd: int = 0, out_fd: int = 1) -> None:
        self._in = os.dup(in_fd)
        self._out = os.dup(out_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, in_fd)
        os.close(devnull)
        os.dup2(2, out_fd)
        self.name = f"pylayers-{os.getpid()}-{secrets.token_hex(8)}"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind("\0" + self.name)
        self._server.listen(1)
        threading.Thread(target=self._serve, name="stdio-relay", daemon=True).start()

    @property
    def target(self) -> str:
        return "unix-abstract:" + self.name

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        self._server.close()
        threading.Thread(target=self._pump_in, args=(conn,), name="stdin-pump", daemon=True).start()
        self._pump_out(conn)

    def _pump_in(self, conn: socket.socket) -> None:
        try:
            while data := os.read(self._in, CHUNK):
                conn.sendall(data)
        except OSError as exc:
            log.debug("stdin relay stopped: %s", exc)
        finally:
            _quiet(conn.shutdown, socket.SHUT_WR)

    def _pump_out(self, conn: socket.socket) -> None:
        try:
            while data := conn.recv(CHUNK):
                view = memoryview(data)
                while view:
                    view = view[os.write(self._out, view):]
        except OSError as exc:
            log.debug("stdout relay stopped: %s", exc)
        # The pipe to BuildKit stays open until the process exits. Closing it first (grpcio closes
        # its socket right after Return) tells BuildKit the frontend died: it kills the process,
        # and a kill racing the exit turns a successful Return into "frontend grpc server closed
        # unexpectedly" (BuildKit 0.13 frontend/gateway/gateway.go lets the exec's error win).


def _quiet(fn, *args) -> None:
    try:
        fn(*args)
    except OSError:
        pass
