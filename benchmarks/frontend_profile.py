#!/usr/bin/env python3
"""The frontend's own time, start → Solve sent, with index look-ups answered instantly (issue 6).

    python3 benchmarks/frontend_profile.py [--packages 40,200] [--runs 5] [--profile]

Runs the real frontend (frontend.build.build, the real gRPC client) in-process against an
in-memory LLBBridge: it answers every Solve at once and every ReadFile from canned data (the
Dockerfile, a stage's image config, the probe of this host's interpreter, requirements with N pins,
PyPI release documents). What is left is what the frontend itself costs: parsing, choosing wheels,
planning, marshalling LLB and the gRPC round trips. BuildKit's own time (solving stages, fetching
pages, running execs) is excluded by construction; the real builds' phase timings are in the
daemon's log. Prints a Markdown table (median, min–max) and, with --profile, the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from frontend import build as build_mod  # noqa: E402
from frontend._pb import gateway_pb2, gateway_pb2_grpc, ops_pb2  # noqa: E402
from frontend.gateway import Client, FrontendEnv  # noqa: E402
from frontend.gateway.client import CHANNEL_OPTIONS  # noqa: E402
from frontend.target import PROBE_SCRIPT  # noqa: E402

DOCKERFILE = """FROM localhost:5000/python:3.13-trixie
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py .
"""
BUILDKIT_LIMITS = (("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20))
STAGE_CONFIG = {"config": {"Env": ["PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"], "WorkingDir": "/app"}}


def page(name: str, version: str) -> bytes:
    """A PEP 503 project page with the pinned version's wheel and its PEP 658 metadata file."""
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    sha = hashlib.sha256(filename.encode()).hexdigest()
    meta = hashlib.sha256(metadata(name, version)).hexdigest()
    return (f'<html><body><a href="https://files.pythonhosted.org/packages/xx/{filename}#sha256={sha}" '
            f'data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256={meta}" '
            f'data-core-metadata="sha256={meta}">{filename}</a></body></html>').encode()


def metadata(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()


class Bridge(gateway_pb2_grpc.LLBBridgeServicer):
    """Answers like BuildKit would, instantly; remembers when the delegated Solve arrived."""

    def __init__(self, pins: int, probe: bytes) -> None:
        self.names = [f"package-{i:03d}" for i in range(pins)]
        self.versions = {n: f"1.{i}" for i, n in enumerate(self.names)}
        self.requirements = "".join(f"{n}=={v}\n" for n, v in self.versions.items()).encode()
        self.probe = probe
        self.delegated_at: float | None = None
        self.refs: dict[str, dict[str, str]] = {}  # ref id -> {file name: URL} of its http sources
        self.lock = threading.Lock()

    def Ping(self, request, context):
        caps = ("solve.base", "solve.inlinereturn", "resolveimage", "readfile", "return", "frontend.inputs")
        return gateway_pb2.PongResponse(
            FrontendAPICaps=[gateway_pb2.APICap(ID=c, Enabled=True) for c in caps],
            LLBCaps=[gateway_pb2.APICap(ID=c, Enabled=True) for c in ("mergeop", "diffop")])

    def Inputs(self, request, context):
        return gateway_pb2.InputsResponse()

    def Solve(self, request, context):
        if request.Frontend == "dockerfile.v0":
            if any(k.startswith("context:pylayers-") for k in request.FrontendOpt):
                self.delegated_at = time.perf_counter()
            ref = gateway_pb2.Ref(id="stage")
            meta = {"containerimage.config": json.dumps(STAGE_CONFIG).encode()}
            return gateway_pb2.SolveResponse(result=gateway_pb2.Result(ref=ref, metadata=meta))
        files = {}
        for raw in getattr(request.Definition, "def"):
            op = ops_pb2.Op.FromString(raw)
            if op.WhichOneof("op") == "source" and op.source.identifier.startswith("https://"):
                files[op.source.attrs.get("http.filename", "")] = op.source.identifier
        with self.lock:
            ref = f"ref-{len(self.refs)}"
            self.refs[ref] = files
        return gateway_pb2.SolveResponse(result=gateway_pb2.Result(ref=gateway_pb2.Ref(id=ref)))

    def ReadFile(self, request, context):
        ref, path = request.Ref, request.FilePath
        if ref == "stage" and path.endswith("requirements.txt"):
            return gateway_pb2.ReadFileResponse(Data=self.requirements)
        if path.endswith("/probe.json"):
            return gateway_pb2.ReadFileResponse(Data=self.probe)
        if path.endswith("/overlaps.json"):
            return gateway_pb2.ReadFileResponse(Data=b"{}")
        if path.endswith("/sizes.json"):
            return gateway_pb2.ReadFileResponse(Data=json.dumps(dict.fromkeys(self.names, 100_000)).encode())
        if path.endswith("/metadata.json"):  # the overlap check's copy of each wheel's METADATA
            found = {n: metadata(n, self.versions[n]).decode() for n in self.names}
            return gateway_pb2.ReadFileResponse(Data=json.dumps(found).encode())
        if path.endswith("Dockerfile"):
            return gateway_pb2.ReadFileResponse(Data=DOCKERFILE.encode())
        url = self.refs.get(ref, {}).get(path.lstrip("/"))
        if url and "/simple/" in url:
            name = url.rstrip("/").rsplit("/", 1)[1]
            return gateway_pb2.ReadFileResponse(Data=page(name, self.versions[name]))
        if url and url.endswith(".metadata"):
            name, version = url.rsplit("/", 1)[1].split("-")[:2]
            name = name.replace("_", "-")
            return gateway_pb2.ReadFileResponse(Data=metadata(name, version))
        context.abort(grpc.StatusCode.NOT_FOUND, f"open {path}: no such file or directory")

    def StatFile(self, request, context):
        return gateway_pb2.StatFileResponse(stat=gateway_pb2.FileStat(path=request.Path, size=1))

    def Return(self, request, context):
        return gateway_pb2.ReturnResponse()


def one_run(pins: int, probe: bytes, profiler: cProfile.Profile | None) -> float:
    bridge = Bridge(pins, probe)
    sock = os.path.join(tempfile.mkdtemp(prefix="pylayers-profile-"), "gw.sock")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=BUILDKIT_LIMITS)
    gateway_pb2_grpc.add_LLBBridgeServicer_to_server(bridge, server)
    server.add_insecure_port(f"unix:{sock}")
    server.start()
    channel = grpc.insecure_channel(f"unix:{sock}", options=CHANNEL_OPTIONS)
    try:
        client = Client(channel)
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        client.ping()
        build_mod.build(client, FrontendEnv(opts={}))
        if profiler:
            profiler.disable()
        if bridge.delegated_at is None:
            raise SystemExit("the frontend never sent the delegated Solve")
        return bridge.delegated_at - start
    finally:
        channel.close()
        server.stop(None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", default="40,200")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the top functions of the largest set")
    args = parser.parse_args()
    probe = subprocess.run([sys.executable, "-c", PROBE_SCRIPT], capture_output=True, check=True).stdout
    counts = [int(n) for n in args.packages.split(",")]
    rows = ["| pins | frontend start → Solve sent, median (min–max) | per pin |", "|---|---|---|"]
    for count in counts:
        one_run(count, probe, None)  # warm-up: imports, first gRPC connection
        times = [one_run(count, probe, None) for _ in range(args.runs)]
        med = statistics.median(times)
        rows.append(f"| {count} | {med * 1000:.0f} ms ({min(times) * 1000:.0f}–{max(times) * 1000:.0f}) "
                    f"| {med / count * 1000:.1f} ms |")
    print(f"Frontend's own time, index look-ups excluded, {args.runs} runs, Python {sys.version.split()[0]}:\n")
    print("\n".join(rows))
    if args.profile:
        profiler = cProfile.Profile()
        one_run(max(counts), probe, profiler)
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
