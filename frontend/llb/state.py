"""Immutable LLB states: a value that names one output of one vertex of a build graph.

A State is built by chaining methods (`run`, `mkfile`, `copy`, …); nothing is serialized until
`marshal`. Vertices hold an `Op` message without its `inputs`: the input digests are filled in at
marshal time, when the digests of the inputs are known. Names go to the op metadata, so they never
change a digest or a cache key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from .._pb import ops_pb2

SCRATCH_INDEX = -1
SKIP_OUTPUT = -1
NO_TIMESTAMP = -1

_NETWORK = {None: ops_pb2.UNSET, "default": ops_pb2.UNSET, "host": ops_pb2.HOST, "none": ops_pb2.NONE}


@dataclass(frozen=True, eq=False)
class Vertex:
    """One LLB op. `op` has no inputs yet; `inputs` are the States it reads, in index order."""

    op: ops_pb2.Op
    inputs: tuple["State", ...] = ()
    name: str | None = None
    caps: tuple[str, ...] = ()
    ignore_cache: bool = False  # run on every build (never answered from the cache)


@dataclass(frozen=True, eq=False)
class Imported:
    """The result of a Definition produced elsewhere (an input, a solved stage's Ref.def)."""

    definition: ops_pb2.Definition
    digest: str


@dataclass(frozen=True)
class State:
    """One output of a vertex; `source is None` is scratch (the empty filesystem)."""

    source: Vertex | Imported | None = None
    index: int = 0

    @property
    def is_scratch(self) -> bool:
        return self.source is None

    def run(self, args: Sequence[str], *, env: Sequence[str] = (), cwd: str = "/", user: str = "",
            network: str | None = None, readonly_root: bool = False,
            mounts: Sequence["Mount"] = (), name: str | None = None,
            ignore_cache: bool = False) -> "ExecState":
        exec_state = _exec(self, tuple(args), tuple(env), cwd, user, network, readonly_root,
                           tuple(mounts), name)
        if ignore_cache:
            vertex = exec_state.vertex
            exec_state = ExecState(Vertex(vertex.op, vertex.inputs, vertex.name, vertex.caps, True),
                                   exec_state.outputs)
        return exec_state

    def mkfile(self, path: str, data: bytes, mode: int = 0o644, name: str | None = None) -> "State":
        action = ops_pb2.FileAction(mkfile=ops_pb2.FileActionMkFile(
            path=path, mode=mode, data=data, timestamp=NO_TIMESTAMP))
        return _file(action, (self,), name)

    def mkdir(self, path: str, mode: int = 0o755, parents: bool = True, name: str | None = None) -> "State":
        action = ops_pb2.FileAction(mkdir=ops_pb2.FileActionMkDir(
            path=path, mode=mode, makeParents=parents, timestamp=NO_TIMESTAMP))
        return _file(action, (self,), name)

    def rm(self, path: str, allow_not_found: bool = True, name: str | None = None) -> "State":
        action = ops_pb2.FileAction(rm=ops_pb2.FileActionRm(path=path, allowNotFound=allow_not_found))
        return _file(action, (self,), name)

    def copy(self, source: "State", src: str, dest: str, *, contents_only: bool = True,
             create_dest: bool = True, name: str | None = None) -> "State":
        action = ops_pb2.FileAction(copy=ops_pb2.FileActionCopy(
            src=src, dest=dest, mode=-1, followSymlink=False, dirCopyContents=contents_only,
            createDestPath=create_dest, allowWildcard=False, timestamp=NO_TIMESTAMP))
        return _file(action, (self, source), name)


@dataclass(frozen=True)
class Mount:
    """A mount of an exec: `source` at `dest`; writable bind mounts become outputs."""

    dest: str
    source: State = field(default_factory=State)
    readonly: bool = False
    selector: str = ""
    cache_id: str | None = None  # a cache mount (never an output)
    tmpfs: bool = False
    secret: str | None = None  # a secret mount: the secret's id (a file, mode 0400, never an output)
    optional: bool = False  # a secret the client may not have (then no file at `dest`)


@dataclass(frozen=True)
class ExecState:
    """An exec vertex; each writable mount (rootfs included) is one output."""

    vertex: Vertex
    outputs: Mapping[str, int]

    def root(self) -> State:
        return self.mount_output("/")

    def mount_output(self, dest: str) -> State:
        if dest not in self.outputs:
            raise KeyError(f"{dest} is not a writable mount of this exec")
        return State(self.vertex, self.outputs[dest])


def _input_index(inputs: list[State], state: State) -> int:
    if state.is_scratch:
        return SCRATCH_INDEX
    if state not in inputs:
        inputs.append(state)
    return inputs.index(state)


def _file(action: ops_pb2.FileAction, states: tuple[State, ...], name: str | None) -> State:
    inputs: list[State] = []
    action.input = _input_index(inputs, states[0])
    action.secondaryInput = _input_index(inputs, states[1]) if len(states) > 1 else SCRATCH_INDEX
    action.output = 0
    op = ops_pb2.Op(file=ops_pb2.FileOp(actions=[action]))
    return State(Vertex(op, tuple(inputs), name), 0)


def _exec(root: State, args, env, cwd, user, network, readonly_root, mounts, name) -> ExecState:
    if network not in _NETWORK:
        raise ValueError(f"unknown network mode {network!r}")
    inputs: list[State] = []
    all_mounts = sorted((Mount("/", root, readonly=readonly_root), *mounts), key=lambda m: m.dest)
    outputs: dict[str, int] = {}
    pb_mounts = []
    for mount in all_mounts:
        pb = _mount(mount, inputs)
        if pb.output != SKIP_OUTPUT:
            pb.output = len(outputs)
            outputs[mount.dest] = pb.output
        pb_mounts.append(pb)
    meta = ops_pb2.Meta(args=args, env=env, cwd=cwd, user=user, removeMountStubsRecursive=True)
    op = ops_pb2.Op(exec=ops_pb2.ExecOp(meta=meta, mounts=pb_mounts, network=_NETWORK[network]))
    return ExecState(Vertex(op, tuple(inputs), name), outputs)


def _mount(mount: Mount, inputs: list[State]) -> ops_pb2.Mount:
    pb = ops_pb2.Mount(dest=mount.dest, selector=mount.selector, readonly=mount.readonly)
    if mount.tmpfs:
        pb.mountType, pb.input, pb.output = ops_pb2.TMPFS, SCRATCH_INDEX, SKIP_OUTPUT
        return pb
    if mount.secret is not None:
        pb.mountType, pb.input, pb.output = ops_pb2.SECRET, SCRATCH_INDEX, SKIP_OUTPUT
        pb.secretOpt.ID, pb.secretOpt.mode, pb.secretOpt.optional = mount.secret, 0o400, mount.optional
        return pb
    pb.input = _input_index(inputs, mount.source)
    if mount.cache_id is not None:
        pb.mountType, pb.output = ops_pb2.CACHE, SKIP_OUTPUT
        pb.cacheOpt.ID = mount.cache_id
        return pb
    pb.output = SKIP_OUTPUT if mount.readonly else 0
    return pb


def scratch() -> State:
    return State()


def source(identifier: str, attrs: Mapping[str, str] | None = None, name: str | None = None,
           caps: tuple[str, ...] = ()) -> State:
    op = ops_pb2.Op(source=ops_pb2.SourceOp(identifier=identifier, attrs=dict(attrs or {})))
    return State(Vertex(op, (), name, caps), 0)


def local(name: str, *, session_id: str = "", include_patterns: Sequence[str] = (),
          follow_paths: Sequence[str] = (), shared_key_hint: str = "", differ: str = "") -> State:
    attrs = {"local.session": session_id} if session_id else {"local.unique": "pylayers"}
    if include_patterns:
        attrs["local.includepattern"] = json.dumps(list(include_patterns))
    if follow_paths:
        attrs["local.followpaths"] = json.dumps(list(follow_paths))
    if shared_key_hint:
        attrs["local.sharedkeyhint"] = shared_key_hint
    if differ:
        attrs["local.differ"] = differ
    return source(f"local://{name}", attrs, name=f"[internal] load {name}")


def http(url: str, *, checksum: str | None = None, filename: str | None = None,
         perm: int | None = None, name: str | None = None) -> State:
    attrs = {}
    if checksum:
        attrs["http.checksum"] = checksum
    if filename:
        attrs["http.filename"] = filename
    if perm is not None:
        attrs["http.perm"] = "0" + format(perm, "o")
    return source(url, attrs, name=name)


def image(ref: str, *, name: str | None = None) -> State:
    return source(f"docker-image://{ref}", name=name)


def from_definition(definition: ops_pb2.Definition) -> State:
    """The result of an existing Definition (its terminal op's input) as a State."""
    if len(getattr(definition, "def")) < 2:
        return scratch()
    terminal = ops_pb2.Op.FromString(getattr(definition, "def")[-1])
    if not terminal.inputs:
        raise ValueError("invalid LLB definition: no inputs on its last vertex")
    head = terminal.inputs[0]
    return State(Imported(definition, head.digest), int(head.index))


def diff(lower: State, upper: State, name: str | None = None) -> State:
    """What `upper` adds to `lower` (a DiffOp); when upper is built on lower, its own layers.
    A scratch side is input -1, as in BuildKit's DiffOp."""
    inputs = tuple(state for state in (lower, upper) if not state.is_scratch)
    lower_index = SCRATCH_INDEX if lower.is_scratch else 0
    upper_index = SCRATCH_INDEX if upper.is_scratch else len(inputs) - 1
    op = ops_pb2.Op(diff=ops_pb2.DiffOp(lower=ops_pb2.LowerDiffInput(input=lower_index),
                                        upper=ops_pb2.UpperDiffInput(input=upper_index)))
    return State(Vertex(op, inputs, name, ("diffop",)), 0)


def merge(states: Sequence[State], name: str | None = None) -> State:
    """Later states win; scratch inputs are dropped; a merge of one state is that state."""
    inputs = [s for s in states if not s.is_scratch]
    if not inputs:
        return scratch()
    if len(inputs) == 1:
        return inputs[0]
    op = ops_pb2.Op(merge=ops_pb2.MergeOp(inputs=[ops_pb2.MergeInput(input=i) for i in range(len(inputs))]))
    return State(Vertex(op, tuple(inputs), name, ("mergeop",)), 0)
