"""frontend.inputs.poetrylock + resolve.locked: real poetry.lock files (Poetry 2.5) → packages → wheels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frontend.dockerfile.model import LockOptions
from frontend.errors import InputError
from frontend.inputs.poetrylock import parse_poetry_lock
from frontend.resolve.locked import choose_locked

from .test_uvlock import LINUX_313, MAIN, TAGS, WINDOWS

CASE = Path(__file__).resolve().parents[1] / "cases" / "locks" / "poetry"
LOCK = (CASE / "poetry.lock").read_bytes()
PYPROJECT = (CASE / "pyproject.toml").read_bytes()
PATH = "/src/poetry.lock"


def parse(data: bytes = LOCK, pyproject: bytes | None = PYPROJECT, markers=LINUX_313, install_project=True, **options):
    return parse_poetry_lock(PATH, data, "/src/pyproject.toml", pyproject, LockOptions("poetry", "poetry.lock", **options),
                             markers, install_project)


def names(data: bytes = LOCK, pyproject: bytes | None = PYPROJECT, markers=LINUX_313, **options):
    return sorted((p.name, p.version) for p in parse(data, pyproject, markers, **options).packages)


def error(data: bytes = LOCK, pyproject: bytes | None = PYPROJECT, **options) -> str:
    with pytest.raises(InputError) as info:
        parse(data, pyproject, **options)
    return str(info.value)


LEGACY = CASE.parent / "poetry-1.8"  # lock-version 2.0, written by Poetry 1.8.5
BOTH = {"2.1": (LOCK, PYPROJECT), "2.0": ((LEGACY / "poetry.lock").read_bytes(), (LEGACY / "pyproject.toml").read_bytes())}


@pytest.mark.parametrize("version", sorted(BOTH))
def test_default_install_is_main_and_the_non_optional_groups(version):
    lock, pyproject = BOTH[version]
    assert names(lock, pyproject) == sorted([*MAIN, ("iniconfig", "2.1.0")])
    assert ("colorama", "0.4.6") in names(lock, pyproject, markers=WINDOWS)


@pytest.mark.parametrize("version", sorted(BOTH))
def test_groups_and_extras_follow_poetry_flags(version):
    lock, pyproject = BOTH[version]
    assert names(lock, pyproject, only_groups=("main",)) == MAIN
    assert names(lock, pyproject, without_groups=("dev",)) == MAIN
    assert names(lock, pyproject, groups=("lint",), without_groups=("dev",)) == sorted([*MAIN, ("pyflakes", "3.4.0")])
    assert names(lock, pyproject, only_groups=("dev",)) == [("iniconfig", "2.1.0")]
    assert names(lock, pyproject, only_groups=("main",), extras=("toml",)) == sorted([*MAIN, ("tomli-w", "1.2.0")])
    assert names(lock, pyproject, all_groups=True, all_extras=True) == sorted(
        [*MAIN, ("iniconfig", "2.1.0"), ("pyflakes", "3.4.0"), ("tomli-w", "1.2.0")])


def test_legacy_locks_follow_python_constraints_and_package_extras():
    lock, pyproject = BOTH["2.0"]
    pyproject = pyproject.replace(b'six = "1.17.0"', b'six = {version = "1.17.0", python = "<3.9"}')
    pyproject = pyproject.replace(b'click = "8.1.8"', b'click = {version = "8.1.8", extras = ["color"]}')
    lock = lock.replace(b'[package.dependencies]\ncolorama = {version = "*", markers = "platform_system == \\"Windows\\""}',
                        b'[package.dependencies]\ncolorama = {version = "*", markers = "platform_system == \\"Windows\\""}\n\n'
                        b'[package.extras]\ncolor = ["colorama (>=0.4) ; python_version >= \\"3.8\\""]')
    found = names(lock, pyproject, only_groups=("main",))
    assert ("six", "1.17.0") not in found and ("colorama", "0.4.6") in found


def test_poetry_constraints():
    from frontend.inputs.poetrylegacy import poetry_constraint
    cases = [("^3.8", "3.13.1", True), ("^3.8", "4.0", False), ("~3.8", "3.9", False), (">=3.7,<4", "3.13", True),
             ("^0.2.3", "0.3.0", False), ("3.7.*", "3.7.2", True), (">=2.7, !=3.0.*", "3.13", True),
             ("^2.7 || ^3.6", "3.13.0", True), ("*", "1", True), ("1.2.3", "1.2.4", False)]
    assert [poetry_constraint(c).contains(v) for c, v, _ in cases] == [expected for _, _, expected in cases]


def test_the_project_is_installed_only_in_package_mode():
    assert parse().project is None  # package-mode = false
    packaged = PYPROJECT.replace(b"package-mode = false\n", b"")
    assert parse(pyproject=packaged).project == "lockdemo"
    assert parse(pyproject=packaged, install_project=False).project is None
    assert parse(pyproject=packaged, only_groups=("dev",)).project is None


def test_errors_name_file_and_line():
    assert error(LOCK.replace(b'lock-version = "2.1"', b'lock-version = "1.1"')) == (
        "/src/poetry.lock: poetry.lock lock-version 1.1 is not supported: pylayers reads lock-versions 2.0 "
        "and 2.1 (Poetry 1.5 and later); run `poetry lock` with a newer Poetry")
    assert error(LOCK.replace(b'groups = ["dev"]\n', b'')) == (
        "/src/poetry.lock:58: a [[package]] without a name or a `groups` list")
    git = LOCK.replace(b'\n[[package]]\nname = "tomli-w"', b'[package.source]\ntype = "git"\n'
                       b'url = "https://github.com/benjaminp/six"\n\n[[package]]\nname = "tomli-w"', 1)
    assert error(git) == ("/src/poetry.lock:94: six comes from a git source: not supported yet (pylayers "
                          "installs wheels from an index)")
    assert error(LOCK.replace(b"[extras]", b"[extras", 1)) == "/src/poetry.lock:119: invalid TOML: Expected ']' at the end of a table declaration"
    assert error(groups=("docs",)) == ("/src/poetry.lock: the install command asks for dependency group(s) "
                                       "docs, which the lock does not define (its groups: dev, lint)")
    assert error(pyproject=b"[tool.poetry\n") == ("/src/pyproject.toml:1: invalid TOML: Expected ']' at the "
                                                  "end of a table declaration")


SIMPLE = "https://pypi.org/simple/"


class Index:
    def __init__(self, pages):
        self.pages = pages
        self.asked = []

    def __call__(self, urls):
        self.asked += list(urls)
        return [self.pages.get(u) for u in urls]


def _page(name: str, files: dict[str, str]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": [
        {"filename": f, "url": f"https://files.example/{f}", "hashes": {"sha256": h}} for f, h in files.items()]}).encode()


def _lock_files(package) -> dict[str, str]:
    return {w.filename: w.sha256 for w in package.wheels}


def test_urls_come_from_the_index_pinned_to_the_lock_hashes():
    packages = parse(only_groups=("main",)).packages
    index = Index({f"{SIMPLE}{p.name}/": _page(p.name, {**_lock_files(p), f"{p.name}-0.0.1-py3-none-any.whl": "0" * 64})
                   for p in packages})
    chosen = {c.name: c for c in choose_locked(packages, TAGS, "3.13.1", index)}
    assert sorted(chosen) == [n for n, _ in MAIN]
    assert chosen["six"].url == "https://files.example/six-1.17.0-py2.py3-none-any.whl"
    assert chosen["six"].sha256 == "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
    assert chosen["idna"].url == "https://files.example/idna-3.10-py3-none-any.whl"
    assert sorted(index.asked) == sorted(f"{SIMPLE}{n}/" for n, _ in MAIN)


def test_a_hash_the_index_contradicts_is_an_error():
    (six,) = [p for p in parse().packages if p.name == "six"]
    files = {name: "f" * 64 for name in _lock_files(six)}
    with pytest.raises(InputError) as info:
        choose_locked([six], TAGS, "3.13.1", Index({f"{SIMPLE}six/": _page("six", files)}))
    assert str(info.value) == ("/src/poetry.lock:94: six-1.17.0-py2.py3-none-any.whl: the lock says sha256 "
                               "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274, the index says "
                               + "f" * 64)
    with pytest.raises(InputError) as info:
        choose_locked([six], TAGS, "3.13.1", Index({}))
    assert str(info.value) == "/src/poetry.lock:94: six: no such project on https://pypi.org/simple/six/"


def test_a_legacy_source_is_the_index_asked():
    legacy = LOCK.replace(b'name = "six"\n', b'name = "six"\n', 1).replace(
        b'[extras]', b'[[package]]\nname = "mylib"\nversion = "1.0"\ndescription = ""\noptional = false\n'
        b'python-versions = "*"\ngroups = ["main"]\nfiles = [\n    {file = "mylib-1.0-py3-none-any.whl", '
        b'hash = "sha256:' + b"a" * 64 + b'"},\n]\n\n[package.source]\ntype = "legacy"\n'
        b'url = "https://mirror.example/simple"\nreference = "mirror"\n\n[extras]')
    (mylib,) = [p for p in parse(legacy).packages if p.name == "mylib"]
    index = Index({"https://mirror.example/simple/mylib/": _page("mylib", {"mylib-1.0-py3-none-any.whl": "a" * 64})})
    (choice,) = choose_locked([mylib], TAGS, "3.13.1", index)
    assert choice.url == "https://files.example/mylib-1.0-py3-none-any.whl"
    assert index.asked == ["https://mirror.example/simple/mylib/"]


def test_every_package_the_index_does_not_have_is_reported():
    from frontend.errors import InputErrors
    packages = [p for p in parse().packages if p.name in ("six", "idna")]
    with pytest.raises(InputErrors) as info:
        choose_locked(packages, TAGS, "3.13.1", Index({}))
    assert str(info.value) == ("/src/poetry.lock:43: idna: no such project on https://pypi.org/simple/idna/\n"
                               "/src/poetry.lock:94: six: no such project on https://pypi.org/simple/six/")
