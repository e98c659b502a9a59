"""An in-process LLBBridge server for unit tests: records requests, answers from a script."""

from __future__ import annotations

import os
import tempfile
from concurrent import futures

import grpc

from frontend._pb import gateway_pb2, gateway_pb2_grpc


class FakeBridge(gateway_pb2_grpc.LLBBridgeServicer):
    def __init__(self, files=None, caps=("solve.base", "readfile", "return", "frontend.inputs"),
                 llb_caps=(("mergeop", True),), inputs=None):
        self.files = dict(files or {})  # (ref, path) -> bytes
        self.caps = caps
        self.llb_caps = llb_caps
        self.inputs = dict(inputs or {})
        self.solves: list[gateway_pb2.SolveRequest] = []
        self.returns: list[gateway_pb2.ReturnRequest] = []

    def Ping(self, request, context):
        return gateway_pb2.PongResponse(
            FrontendAPICaps=[gateway_pb2.APICap(ID=c, Enabled=True) for c in self.caps],
            LLBCaps=[gateway_pb2.APICap(ID=c, Enabled=e, DisabledReasonMsg="" if e else "off")
                     for c, e in self.llb_caps])

    def Inputs(self, request, context):
        return gateway_pb2.InputsResponse(Definitions=self.inputs)

    def Solve(self, request, context):
        self.solves.append(request)
        ref = gateway_pb2.Ref(id=f"ref-{len(self.solves)}")
        if request.HasField("Definition"):
            getattr(ref, "def").CopyFrom(request.Definition)
        return gateway_pb2.SolveResponse(result=gateway_pb2.Result(ref=ref, metadata={"k": b"v"}))

    def ReadFile(self, request, context):
        key = (request.Ref, request.FilePath)
        if key not in self.files:
            context.abort(grpc.StatusCode.NOT_FOUND, f"open {request.FilePath}: no such file or directory")
        data = self.files[key]
        if request.HasField("Range"):
            data = data[request.Range.Offset:request.Range.Offset + request.Range.Length]
        return gateway_pb2.ReadFileResponse(Data=data)

    def Return(self, request, context):
        self.returns.append(request)
        return gateway_pb2.ReturnResponse()


class Served:
    def __init__(self, bridge: FakeBridge) -> None:
        self.dir = tempfile.mkdtemp(prefix="fakegw-")
        self.target = "unix:" + os.path.join(self.dir, "gw.sock")
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        gateway_pb2_grpc.add_LLBBridgeServicer_to_server(bridge, self.server)
        self.server.add_insecure_port(self.target)
        self.server.start()

    def stop(self) -> None:
        self.server.stop(None)
