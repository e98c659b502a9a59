"""Deterministic marshal of a State into an LLB Definition.

Ops are emitted dependencies first, each serialized with deterministic protobuf encoding and
named by the sha256 of those exact bytes; the last op is the terminal op that selects the result.
Every definition carries metadata (at least the terminal op's), because BuildKit treats a
Definition without metadata as nil when it travels as a frontend input.
"""

from __future__ import annotations

import hashlib
import json


from .._pb import ops_pb2
from .state import Imported, State, Vertex

TERMINAL_CAPS = ("constraints", "platform")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _Writer:
    def __init__(self) -> None:
        self.defs: list[bytes] = []
        self.metadata: dict[str, ops_pb2.OpMetadata] = {}
        self.done: dict[int, str] = {}

    def add(self, data: bytes, meta: ops_pb2.OpMetadata | None) -> str:
        digest = digest_of(data)
        if digest not in self.metadata:
            self.defs.append(data)
            self.metadata[digest] = meta or ops_pb2.OpMetadata()
        elif meta is not None:
            self.metadata[digest].MergeFrom(meta)
        return digest

    def input_of(self, state: State) -> ops_pb2.Input:
        source = state.source
        if isinstance(source, Imported):
            self.imported(source)
            return ops_pb2.Input(digest=source.digest, index=state.index)
        return ops_pb2.Input(digest=self.vertex(source), index=state.index)

    def imported(self, imported: Imported) -> None:
        if id(imported) in self.done:
            return
        for data in getattr(imported.definition, "def")[:-1]:
            digest = digest_of(data)
            meta = imported.definition.metadata.get(digest)
            self.add(data, ops_pb2.OpMetadata.FromString(meta.SerializeToString()) if meta else None)
        self.done[id(imported)] = imported.digest

    def vertex(self, vertex: Vertex) -> str:
        if id(vertex) in self.done:
            return self.done[id(vertex)]
        op = ops_pb2.Op()
        op.CopyFrom(vertex.op)
        op.inputs.extend(self.input_of(s) for s in vertex.inputs)
        meta = ops_pb2.OpMetadata()
        if vertex.name:
            meta.description["llb.customname"] = vertex.name
        for cap in vertex.caps:
            meta.caps[cap] = True
        meta.ignore_cache = vertex.ignore_cache
        digest = self.add(op.SerializeToString(deterministic=True), meta)
        self.done[id(vertex)] = digest
        return digest


def marshal(state: State) -> ops_pb2.Definition:
    """A Definition whose result is `state`; scratch gives an empty Definition."""
    if state.is_scratch:
        return ops_pb2.Definition()
    writer = _Writer()
    head = writer.input_of(state)
    terminal = ops_pb2.Op(inputs=[head]).SerializeToString(deterministic=True)
    meta = ops_pb2.OpMetadata(caps={cap: True for cap in TERMINAL_CAPS})
    writer.add(terminal, meta)
    return _definition(writer)


def _definition(writer: _Writer) -> ops_pb2.Definition:
    definition = ops_pb2.Definition()
    getattr(definition, "def").extend(writer.defs)
    for digest, meta in writer.metadata.items():
        definition.metadata[digest].CopyFrom(meta)
    return definition


def to_json(definition: ops_pb2.Definition) -> str:
    """A readable, stable rendering of a Definition for golden tests and debugging."""
    from google.protobuf import json_format  # not at start-up: 15 ms of every build

    ops = []
    for data in getattr(definition, "def"):
        digest = digest_of(data)
        op = json_format.MessageToDict(ops_pb2.Op.FromString(data), preserving_proto_field_name=True)
        meta = definition.metadata.get(digest)
        entry = {"digest": digest, "op": op}
        if meta is not None:
            entry["metadata"] = json_format.MessageToDict(meta, preserving_proto_field_name=True)
        ops.append(entry)
    return json.dumps(ops, indent=2, sort_keys=True) + "\n"
