"""A small LLBBridge client: the calls pylayers makes, with errors turned into GatewayError."""

from __future__ import annotations

import functools
import logging
import time
from typing import Mapping, Sequence

import grpc

from .._pb import gateway_pb2, gateway_pb2_grpc, ops_pb2
from ..errors import GatewayError, SourceLines

READ_CHUNK = 8 << 20  # bytes per ReadFile call (wheels read for their metadata can be large)
DEADLINE_SLACK = 0.1  # seconds: a failure this close to a call's deadline is the deadline's
log = logging.getLogger("pylayers.gateway")
MAX_MESSAGE = 16 << 20
MAX_METADATA = 1 << 20
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.enable_retries", 0),
    ("grpc.default_authority", "localhost"),
    # a failed exec's error carries the op (args, env, mounts) in grpc-status-details-bin: past
    # grpcio's 8 KB default the call ends with "received metadata size exceeds soft limit"
    ("grpc.max_metadata_size", MAX_METADATA),
    ("grpc.absolute_max_metadata_size", MAX_METADATA),
)
# The LLBBridge calls every BuildKit with the `return` cap (v0.3.0+) understands.
DEFAULT_CAPS = frozenset({"solve.base", "solve.inlinereturn", "resolveimage", "readfile", "return"})
STATUS_UNKNOWN = 2
ERRDEFS_SOURCE = "errdefs.Source"


def source_detail(source: SourceLines) -> gateway_pb2.AnyValue:
    """The error detail BuildKit's clients turn into a source snippet under the message."""
    detail = gateway_pb2.ErrorSource(info=ops_pb2.SourceInfo(filename=source.filename, data=source.data))
    for first, last in source.ranges:
        detail.ranges.append(ops_pb2.Range(start=ops_pb2.Position(line=first), end=ops_pb2.Position(line=last)))
    return gateway_pb2.AnyValue(type_url=ERRDEFS_SOURCE, value=detail.SerializeToString(deterministic=True))


def _rpc(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except grpc.RpcError as exc:
            code = exc.code().name if hasattr(exc, "code") and exc.code() is not None else ""
            raise GatewayError(_details(exc), code) from None
    return wrapper


def _past_deadline(exc: grpc.RpcError, deadline: float | None, timeout: float | None) -> None:
    """A call that fails once its deadline has passed failed of it, whatever the status: BuildKit
    sees the deadline too, and under load its "context canceled" can reach us before grpc's own
    DEADLINE_EXCEEDED does."""
    if deadline is not None and time.monotonic() >= deadline - DEADLINE_SLACK:
        raise GatewayError(f"deadline of {timeout:g} s exceeded ({_details(exc)})", "DEADLINE_EXCEEDED") from None


def _details(exc: grpc.RpcError) -> str:
    """The status message of a failed call (its text when it has none)."""
    return (exc.details() if hasattr(exc, "details") else "") or str(exc)


class Client:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = gateway_pb2_grpc.LLBBridgeStub(channel)
        self.caps: frozenset[str] = DEFAULT_CAPS
        self.llb_caps: frozenset[str] = frozenset()
        self.disabled_llb_caps: Mapping[str, str] = {}
        self.workers: tuple = ()
        self.returned = False

    @_rpc
    def ping(self, timeout: float = 15.0) -> None:
        pong = self.stub.Ping(gateway_pb2.PingRequest(), timeout=timeout)
        if pong.FrontendAPICaps:
            self.caps = frozenset(c.ID for c in pong.FrontendAPICaps if c.Enabled)
        self.llb_caps = frozenset(c.ID for c in pong.LLBCaps if c.Enabled)
        self.disabled_llb_caps = {c.ID: c.DisabledReasonMsg for c in pong.LLBCaps if not c.Enabled}
        self.workers = tuple(pong.Workers)

    @_rpc
    def inputs(self) -> dict[str, ops_pb2.Definition]:
        return dict(self.stub.Inputs(gateway_pb2.InputsRequest()).Definitions)

    @_rpc
    def solve(self, *, definition: ops_pb2.Definition | None = None, frontend: str = "",
              frontend_opt: Mapping[str, str] | None = None,
              frontend_inputs: Mapping[str, ops_pb2.Definition] | None = None,
              cache_imports: Sequence[gateway_pb2.CacheOptionsEntry] = (),
              evaluate: bool = False) -> gateway_pb2.Result:
        request = gateway_pb2.SolveRequest(
            Frontend=frontend, FrontendOpt=dict(frontend_opt or {}), allowResultReturn=True,
            allowResultArrayRef=True, CacheImports=list(cache_imports), Evaluate=evaluate)
        if definition is not None:
            request.Definition.CopyFrom(definition)
        for name, value in (frontend_inputs or {}).items():
            request.FrontendInputs[name].CopyFrom(value)
        return self.stub.Solve(request).result

    @_rpc
    def read_file(self, ref_id: str, path: str, timeout: float | None = None) -> bytes:
        """The whole file, READ_CHUNK bytes a call: one gRPC message may hold 16 MiB at most.

        The first call is where a lazily solved ref is built (a fetch runs): `timeout` bounds
        all the calls together."""
        deadline = None if timeout is None else time.monotonic() + timeout
        parts, offset = [], 0
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            span = gateway_pb2.FileRange(Offset=offset, Length=READ_CHUNK)
            try:
                data = self.stub.ReadFile(gateway_pb2.ReadFileRequest(Ref=ref_id, FilePath=path, Range=span),
                                          timeout=left).Data
            except grpc.RpcError as exc:
                _past_deadline(exc, deadline, timeout)
                raise
            parts.append(data)
            offset += len(data)
            if len(data) < READ_CHUNK:
                return b"".join(parts)

    @_rpc
    def read_range(self, ref_id: str, path: str, offset: int, length: int) -> bytes:
        """`length` bytes of a file from `offset` (fewer at its end); at most READ_CHUNK."""
        span = gateway_pb2.FileRange(Offset=offset, Length=min(length, READ_CHUNK))
        return self.stub.ReadFile(gateway_pb2.ReadFileRequest(Ref=ref_id, FilePath=path, Range=span)).Data

    @_rpc
    def stat_file(self, ref_id: str, path: str):
        return self.stub.StatFile(gateway_pb2.StatFileRequest(Ref=ref_id, Path=path)).stat

    @_rpc
    def warn(self, message: str, detail: Sequence[str] = ()) -> None:
        if "gateway.warnings" not in self.caps:
            log.warning("%s", message)
            return
        self.stub.Warn(gateway_pb2.WarnRequest(level=1, short=message.encode(),
                                               detail=[d.encode() for d in detail]))

    @_rpc
    def return_result(self, result: gateway_pb2.Result | None) -> None:
        self._mark_returned()
        self.stub.Return(gateway_pb2.ReturnRequest(result=result or gateway_pb2.Result()))

    @_rpc
    def return_error(self, message: str, code: int = STATUS_UNKNOWN, source: SourceLines | None = None) -> None:
        self._mark_returned()
        status = gateway_pb2.RpcStatus(code=code, message=message)
        if source is not None:
            status.details.append(source_detail(source))
        self.stub.Return(gateway_pb2.ReturnRequest(error=status))

    def _mark_returned(self) -> None:
        if self.returned:
            raise GatewayError("internal error: Return called twice")
        self.returned = True
