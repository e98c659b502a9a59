"""The entrypoint gives up root before it talks to BuildKit."""

from __future__ import annotations

import logging

import pytest

from frontend import __main__ as entry


@pytest.fixture
def calls(monkeypatch):
    seen = []
    for name in ("setgroups", "setgid", "setuid"):
        monkeypatch.setattr(entry.os, name, lambda value, name=name: seen.append((name, value)))
    return seen


def test_root_becomes_the_unprivileged_user(monkeypatch, calls):
    monkeypatch.setattr(entry.os, "getuid", lambda: 0)
    monkeypatch.setattr(entry.os, "geteuid", lambda: 0)
    entry.drop_privileges()
    assert calls == [("setgroups", []), ("setgid", 65532), ("setuid", 65532)]


def test_a_non_root_start_changes_nothing(monkeypatch, calls):
    monkeypatch.setattr(entry.os, "getuid", lambda: 1000)
    monkeypatch.setattr(entry.os, "geteuid", lambda: 1000)
    entry.drop_privileges()
    assert calls == []


def test_a_refused_drop_is_logged_and_the_build_goes_on(monkeypatch, caplog):
    monkeypatch.setattr(entry.os, "getuid", lambda: 0)
    monkeypatch.setattr(entry.os, "setgroups", lambda groups: None)
    monkeypatch.setattr(entry.os, "setgid", lambda gid: (_ for _ in ()).throw(PermissionError(1, "not permitted")))
    with caplog.at_level(logging.WARNING):
        entry.drop_privileges()
    assert "cannot drop root privileges to 65532:65532" in caplog.text
