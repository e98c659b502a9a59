"""LLB states marshal deterministically into valid Definitions (digests, terminal op, metadata)."""

import os
from pathlib import Path

from frontend import llb
from frontend._pb import ops_pb2

CASES = Path(__file__).resolve().parents[1] / "cases" / "llb"


def _defs(definition):
    return list(getattr(definition, "def"))


def install_like():
    base = llb.image("localhost:5000/python:3.13-trixie")
    whl = llb.http("https://files.example/a-1.0-py3-none-any.whl", checksum="sha256:" + "ab" * 32,
                   filename="a-1.0-py3-none-any.whl")
    tool = llb.scratch().mkfile("/installer.pyz", b"zip", mode=0o644)
    run = base.run(["/usr/bin/python3", "/t/installer.pyz", "/w/a.whl"], network="none",
                   readonly_root=True, name="pylayers 1/1 a 1.0",
                   mounts=[llb.Mount("/w", whl, readonly=True), llb.Mount("/out"),
                           llb.Mount("/t", tool, readonly=True)])
    return run.mount_output("/out")


def test_marshal_matches_golden_json():
    text = llb.to_json(llb.marshal(install_like()))
    golden = CASES / "install.json"
    if os.environ.get("PYLAYERS_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_marshal_is_deterministic_and_digests_are_sha256_of_bytes():
    first, second = llb.marshal(install_like()), llb.marshal(install_like())
    assert first.SerializeToString(deterministic=True) == second.SerializeToString(deterministic=True)
    for data in _defs(first):
        assert llb.digest_of(data) in first.metadata


def test_terminal_op_is_last_and_selects_the_output_mount():
    definition = llb.marshal(install_like())
    ops = [ops_pb2.Op.FromString(d) for d in _defs(definition)]
    terminal = ops[-1]
    assert terminal.WhichOneof("op") is None and len(terminal.inputs) == 1
    exec_op = ops[[llb.digest_of(d) for d in _defs(definition)].index(terminal.inputs[0].digest)]
    mounts = {m.dest: m for m in exec_op.exec.mounts}
    assert terminal.inputs[0].index == mounts["/out"].output == 0
    assert [m.dest for m in exec_op.exec.mounts] == ["/", "/out", "/t", "/w"]
    assert mounts["/"].output == -1 and mounts["/out"].input == -1
    assert exec_op.exec.network == ops_pb2.NONE
    caps = definition.metadata[llb.digest_of(_defs(definition)[-1])].caps
    assert dict(caps) == {"constraints": True, "platform": True}


def test_dependencies_come_before_their_users_and_are_deduplicated():
    shared = llb.http("https://x/a", filename="a")
    merged = llb.merge([shared, llb.scratch().copy(shared, "/a", "/b")])
    digests = [llb.digest_of(d) for d in _defs(llb.marshal(merged))]
    assert len(digests) == len(set(digests)) == 4
    seen = set()
    for data in _defs(llb.marshal(merged)):
        op = ops_pb2.Op.FromString(data)
        assert all(i.digest in seen for i in op.inputs)
        seen.add(llb.digest_of(data))


def test_names_live_in_metadata_and_do_not_change_digests():
    a = llb.marshal(llb.http("https://x/a", name="one"))
    b = llb.marshal(llb.http("https://x/a", name="two"))
    assert _defs(a) == _defs(b)
    assert a.metadata[llb.digest_of(_defs(a)[0])].description["llb.customname"] == "one"


def test_from_definition_round_trips_and_embeds_the_ops():
    inner = llb.marshal(install_like())
    state = llb.from_definition(inner)
    again = llb.marshal(state)
    assert _defs(again) == _defs(inner)
    on_top = llb.marshal(state.mkfile("/x", b"1"))
    assert set(_defs(inner)[:-1]) <= set(_defs(on_top))


def test_scratch_marshals_to_an_empty_definition_and_merge_drops_scratch():
    assert _defs(llb.marshal(llb.scratch())) == []
    one = llb.http("https://x/a")
    assert llb.merge([llb.scratch(), one]) == one
    assert llb.merge([]).is_scratch


def test_a_diff_names_its_inputs_and_a_scratch_side_is_minus_one():
    base = llb.image("localhost:5000/python:3.13-trixie")
    upper = base.mkdir("/app")
    for lower, up, expected in ((base, upper, (0, 1)), (base, llb.scratch(), (0, -1)), (llb.scratch(), upper, (-1, 0))):
        definition = llb.marshal(llb.diff(lower, up))
        ops = [ops_pb2.Op.FromString(raw) for raw in getattr(definition, "def")]
        op, = [o for o in ops if o.WhichOneof("op") == "diff"]
        assert (op.diff.lower.input, op.diff.upper.input) == expected
        assert len(op.inputs) == 2 - expected.count(-1)
