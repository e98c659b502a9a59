from __future__ import annotations

from frontend import build, config


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
