"""Property-based fuzzing of the lock parsers: real locks with random values put anywhere in them.

Whatever a uv.lock, pylock.toml or poetry.lock holds, parsing it for a target (and choosing its
wheels) either returns or raises a FrontendError the user reads; nothing else may escape.
"""

from __future__ import annotations

import json
import os
import tomllib
from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontend.dockerfile.model import LockOptions
from frontend.errors import FrontendError
from frontend.inputs.poetrylock import parse_poetry_lock
from frontend.inputs.pylock import parse_pylock
from frontend.inputs.uvlock import parse_uv_lock
from frontend.resolve.locked import choose_locked

from .test_uvlock import LINUX_313, TAGS

FUZZ = settings(max_examples=int(os.environ.get("PYLAYERS_FUZZ_EXAMPLES", "1500")) // 3, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LOCKS = Path(__file__).resolve().parents[1] / "cases" / "locks"
SOURCES = {
    "uv": tomllib.loads((LOCKS / "uv-fork" / "uv.lock").read_text()),
    "pylock": tomllib.loads((LOCKS / "pylock" / "pylock.toml").read_text()),
    "poetry": tomllib.loads((LOCKS / "poetry" / "poetry.lock").read_text()),
    "poetry-1.8": tomllib.loads((LOCKS / "poetry-1.8" / "poetry.lock").read_text()),
}
PYPROJECTS = {"poetry": (LOCKS / "poetry" / "pyproject.toml").read_bytes(),
              "poetry-1.8": (LOCKS / "poetry-1.8" / "pyproject.toml").read_bytes()}

SCALARS = st.one_of(st.text(max_size=12), st.integers(-3, 3), st.booleans(),
                    st.sampled_from(["==1.0", "sha256:00", "sys_platform == 'linux'", ".", "*", "main", "dev",
                                     "https://x/a-1.0-py3-none-any.whl", "2.0", "2.1", "1.0", "extra == 'toml'"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(
                                                           ["name", "version", "url", "hash", "marker", "extra",
                                                            "source", "registry", "editable", "virtual", "groups",
                                                            "markers", "files", "file", "hashes", "sha256"]),
                                                           inner, max_size=3)), max_leaves=6)


def toml(value, top: bool = False) -> str:
    """A tiny TOML writer (inline tables and arrays): enough for fuzzed documents."""
    if top:
        return "".join(f"{json.dumps(k)} = {toml(v)}\n" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + "}"


def mutate(doc, data, depth: int = 0):
    """`doc` with one value somewhere in it replaced, added or removed."""
    if isinstance(doc, dict) and doc and depth < 5 and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc)))
        return {**doc, key: mutate(doc[key], data, depth + 1)}
    if isinstance(doc, list) and doc and depth < 5 and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(doc) - 1))
        return [*doc[:index], mutate(doc[index], data, depth + 1), *doc[index + 1:]]
    if isinstance(doc, dict) and doc and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc)))
        return {k: v for k, v in doc.items() if k != key}
    return data.draw(VALUES)


def parse(kind: str, text: bytes, options: LockOptions):
    if kind == "uv":
        return parse_uv_lock("/app/uv.lock", text, options, LINUX_313)
    if kind == "pylock":
        return parse_pylock("/app/pylock.toml", text, LINUX_313, "3.13.1")
    return parse_poetry_lock("/app/poetry.lock", text, "/app/pyproject.toml", PYPROJECTS[kind], options, LINUX_313)


@FUZZ
@given(st.sampled_from(sorted(SOURCES)), st.data(), st.booleans())
def test_mutated_locks_parse_or_raise_frontend_errors(kind, data, all_groups):
    doc = SOURCES[kind]
    for _ in range(data.draw(st.integers(1, 3))):
        doc = mutate(doc, data)
    text = toml(doc, top=True).encode() if isinstance(doc, dict) else toml({"x": doc}, top=True).encode()
    options = LockOptions(kind.split("-")[0], "lock", all_groups=all_groups)
    try:
        found = parse(kind, text, options)
        choose_locked(found.packages, TAGS, "3.13.1", fetch_all=lambda urls: [None] * len(urls))
    except FrontendError:
        pass
