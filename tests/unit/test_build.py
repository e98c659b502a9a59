from __future__ import annotations

from frontend import build, config
from frontend.stepbuild import StepLayers


class Client:
    def __init__(self, llb_caps=("mergeop",), disabled=None):
        self.llb_caps = frozenset(llb_caps)
        self.disabled_llb_caps = dict(disabled or {})
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def test_merge_is_used_when_the_daemon_has_it():
    client = Client()
    assert build.use_merge(client, config.from_opts({})) is True and client.warnings == []


def test_without_mergeop_the_build_goes_on_and_says_so_once():
    client = Client(llb_caps=(), disabled={"mergeop": "requires containerd snapshotter"})
    assert build.use_merge(client, config.from_opts({})) is True  # dockerfile.v0 copies instead
    assert len(client.warnings) == 1 and "requires containerd snapshotter" in client.warnings[0]


def test_pylayers_merge_0_turns_link_off_without_a_warning():
    client = Client(llb_caps=())
    assert build.use_merge(client, config.from_opts({"build-arg:PYLAYERS_MERGE": "0"})) is False
    assert client.warnings == []


def test_definitions_of_125_layers_fit_the_4_mib_message_of_the_delegated_solve():
    from types import MappingProxyType

    from frontend import layerdefs, llb
    from frontend.plan import Layer
    from frontend.resolve.wheels import PackageChoice
    from frontend.target import TargetEnv

    scheme = {k: f"/opt/venv/{k}" for k in ("purelib", "platlib", "headers", "scripts", "data")}
    target = TargetEnv(markers=MappingProxyType({}), tags=(), python_version="3.13", python_full_version="3.13.1",
                       interpreter="/opt/venv/bin/python", base_interpreter="/usr/bin/python3.13",
                       scheme=MappingProxyType(scheme), libc="glibc 2.41", prefix="/opt/venv")
    base = llb.image("localhost:5000/python:3.13-trixie")
    total = 0
    for i in range(125):
        layer = Layer(f"p-{i}", tuple(PackageChoice(f"pkg{i}x{j}", "1.0", f"pkg{i}x{j}-1.0-py3-none-any.whl",
                                                    f"https://files.example/{i}/{j}.whl", "0" * 64, "py3-none-any")
                                      for j in range(2)))
        total += len(llb.marshal(layerdefs.layer_state(base, layer, target, f"{i}/125")).SerializeToString())
    assert total < 3 << 20, total


def test_a_whole_stage_context_counts_its_instructions_and_packages_once(caplog):
    from frontend.dockerfile import find_install_steps, rewrite
    from frontend.plan import LayerPlan

    text = "FROM python:3.13\nWORKDIR /app\nCOPY r.txt .\nRUN pip install -r r.txt\nCOPY . .\n"
    step, = find_install_steps(text, "Dockerfile")
    result = StepLayers(plan=LayerPlan(()), definitions={}, contexts=("pylayers-1-base",), removal=None,
                              base_layers=1, layers=58, base_metadata="{}", whole_stage=True)
    rewritten = rewrite(text, {step.key: result.contexts}, stages={step.key: "pylayers-1-base"})
    client = Client()
    with caplog.at_level("INFO", logger="pylayers"):
        build.check_layers(client, rewritten, [step], {step.key: result}, text)
    assert "62 layers (1 from the base image, 3 from other instructions, 58 package layers)" in caplog.text
    assert client.warnings == []
