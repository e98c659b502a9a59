"""LLB: immutable states and their deterministic marshal into BuildKit Definitions."""

from .marshal import digest_of, marshal, to_json
from .state import (ExecState, Imported, Mount, State, Vertex, diff, from_definition, http, image, local,
                    merge, scratch, source)

__all__ = [
    "ExecState", "Imported", "Mount", "State", "Vertex", "diff", "digest_of", "from_definition", "http",
    "image", "local", "marshal", "merge", "scratch", "source", "to_json",
]
