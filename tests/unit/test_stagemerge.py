"""stagemerge: a step's layers merged on its stage's FROM image, with that image's config."""

from __future__ import annotations

import base64
import json

from frontend import llb, stagemerge
from frontend._pb import ops_pb2


def test_the_merge_keeps_the_image_first_and_the_layers_in_order():
    base = llb.image("localhost:5000/python:3.13-trixie")
    layers = [(f"pkg{i} 1.0", llb.scratch().mkfile(f"/f{i}", b"x")) for i in range(3)]
    definition = llb.marshal(stagemerge.merged_base(base, layers))
    ops = [ops_pb2.Op.FromString(raw) for raw in getattr(definition, "def")]
    merge, = [op for op in ops if op.WhichOneof("op") == "merge"]
    assert [i.input for i in merge.merge.inputs] == [0, 1, 2, 3]
    by_digest = {llb.digest_of(raw): ops_pb2.Op.FromString(raw) for raw in getattr(definition, "def")}
    first = by_digest[merge.inputs[0].digest]
    assert first.source.identifier == "docker-image://localhost:5000/python:3.13-trixie"
    assert [by_digest[i.digest].file.actions[0].mkfile.path for i in merge.inputs[1:]] == ["/f0", "/f1", "/f2"]


def test_the_metadata_is_the_image_config_with_one_history_entry_per_layer():
    config = {"config": {"Env": ["PATH=/usr/bin"], "WorkingDir": "/"},
              "history": [{"created_by": "debian"}, {"created_by": "ENV", "empty_layer": True}]}
    meta = json.loads(stagemerge.image_metadata(config, ["numpy 2.4.6", "pandas 3.1.1"]))
    image = json.loads(base64.b64decode(meta["containerimage.config"]))
    assert image["config"] == config["config"]
    assert image["history"] == [*config["history"], {"created_by": "pylayers: numpy 2.4.6", "comment": "pylayers"},
                                {"created_by": "pylayers: pandas 3.1.1", "comment": "pylayers"}]


def test_an_image_with_onbuild_triggers_or_no_config_keeps_copy_lines():
    assert stagemerge.usable({"config": {"Env": []}})
    assert not stagemerge.usable({"config": {"OnBuild": ["RUN make"]}})
    assert not stagemerge.usable({})


def test_a_whole_stage_is_the_image_the_layers_then_the_diff_of_the_rest():
    base = llb.image("localhost:5000/python:3.13-trixie")
    rest = base.mkdir("/app").mkfile("/app/app.py", b"print()")
    definition = llb.marshal(stagemerge.merged_stage(base, [("six 1.17.0", llb.scratch().mkfile("/six", b"x"))], rest))
    ops = {llb.digest_of(raw): ops_pb2.Op.FromString(raw) for raw in getattr(definition, "def")}
    merge, = [op for op in ops.values() if op.WhichOneof("op") == "merge"]
    first, layer, diff = (ops[i.digest] for i in merge.inputs)
    assert first.source.identifier.startswith("docker-image://") and layer.file.actions[0].mkfile.path == "/six"
    assert diff.WhichOneof("op") == "diff"
    lower, upper = (ops[i.digest] for i in diff.inputs)
    assert lower == first and upper.file.actions[0].mkfile.path == "/app/app.py"


def test_the_layers_history_goes_after_the_from_image_entries():
    config = {"history": [{"created_by": "debian"}, {"created_by": "WORKDIR /app"}]}
    meta = json.loads(stagemerge.image_metadata(config, ["six 1.17.0"], at=1))
    image = json.loads(base64.b64decode(meta["containerimage.config"]))
    assert [h["created_by"] for h in image["history"]] == ["debian", "pylayers: six 1.17.0", "WORKDIR /app"]
