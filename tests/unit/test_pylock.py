"""frontend.inputs.pylock: PEP 751 files (tests/cases/locks/pylock, made by `uv export`) → packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontend.errors import InputError
from frontend.inputs.pylock import is_pylock, parse_pylock
from frontend.resolve.locked import choose_locked

from .test_uvlock import LINUX_311, LINUX_313, MAIN, TAGS, WINDOWS

LOCK = (Path(__file__).resolve().parents[1] / "cases" / "locks" / "pylock" / "pylock.toml").read_bytes()
PATH = "/app/pylock.toml"


def names(data: bytes = LOCK, markers=LINUX_313, **kwargs):
    found = parse_pylock(PATH, data, markers, markers["python_full_version"], **kwargs)
    assert found.project is None
    return sorted((p.name, p.version) for p in found.packages)


def error(data: bytes, markers=LINUX_313, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        parse_pylock(PATH, data, markers, markers["python_full_version"], **kwargs)
    return str(info.value)


def test_file_names():
    assert is_pylock("pylock.toml") and is_pylock("/app/pylock.dev.toml")
    assert not is_pylock("pylock.toml.bak") and not is_pylock("requirements.txt")
    assert not is_pylock("pylock.a.b.toml") and not is_pylock("mypylock.toml")


def test_packages_whose_marker_holds():
    assert names() == sorted([*MAIN, ("iniconfig", "2.1.0")])
    assert ("colorama", "0.4.6") in names(markers=WINDOWS)


def test_wheels_carry_url_and_sha256():
    chosen = {c.name: c for c in choose_locked(parse_pylock(PATH, LOCK, LINUX_313, "3.13.1").packages,
                                               TAGS, "3.13.1", fetch_all=None)}
    assert chosen["attrs"].filename == "attrs-25.4.0-py3-none-any.whl"
    assert chosen["attrs"].sha256 == "adcf7e2a1fb3b36ac48d97835bb6d8ade15b8dcce26aba8bf1d14847b57a3373"
    assert chosen["attrs"].size == 67615  # for the layer plan's size classes


def test_extras_and_dependency_groups_markers():
    all_lock = (Path(__file__).resolve().parents[1] / "cases" / "locks" / "pylock" / "pylock.all.toml").read_bytes()
    grouped = all_lock.replace(b'name = "iniconfig"\n', b'name = "iniconfig"\nmarker = "\'dev\' in dependency_groups"\n')
    grouped = grouped.replace(b'name = "tomli-w"\n', b'name = "tomli-w"\nmarker = "\'toml\' in extras"\n')
    grouped = grouped.replace(b'created-by = "uv"\n', b'created-by = "uv"\ndefault-groups = ["dev"]\n')
    base = [n for n in names(all_lock) if n[0] not in ("iniconfig", "tomli-w")]
    assert names(grouped) == sorted([*base, ("iniconfig", "2.1.0")])
    assert names(grouped, groups=()) == base
    assert names(grouped, extras=("toml",), groups=()) == sorted([*base, ("tomli-w", "1.2.0")])


def test_python_requirements_are_checked():
    assert error(LOCK, LINUX_311 | {"python_full_version": "3.10.4", "python_version": "3.10"}) == (
        "/app/pylock.toml: the lock requires Python >=3.11 and the target has Python 3.10.4")
    pinned = LOCK.replace(b'name = "idna"\n', b'name = "idna"\nrequires-python = ">=3.14"\n')
    assert error(pinned) == "/app/pylock.toml:29: idna requires Python >=3.14 and the target has Python 3.13.1"
    envs = LOCK.replace(b'created-by = "uv"\n', b'created-by = "uv"\nenvironments = ["sys_platform == \'darwin\'"]\n')
    assert error(envs) == ("/app/pylock.toml: the lock is for other environments than the target's "
                           "(sys_platform == \"darwin\")")


def test_malformed_locks_name_the_line():
    assert error(LOCK.replace(b'lock-version = "1.0"', b'lock-version = "2.0"')) == (
        "/app/pylock.toml: not a valid pylock file: pylock version 2.0 is not supported")
    no_hash = LOCK.replace(b'size = 98188, hashes = { sha256 = "63c132bbbed01578a06712a2d1f497bb62d9c1c0d329b7903a866228027263b2" }',
                           b'size = 98188')
    assert error(no_hash) == ("/app/pylock.toml:14: not a valid pylock file: Missing required value in "
                              "'packages[1].wheels[0].hashes'")
    assert error(LOCK.replace(b'name = "six"', b'name = "six', 1)) == (
        "/app/pylock.toml:51: invalid TOML: Illegal character '\\n'")
    twice = LOCK + b'\n[[packages]]\nname = "six"\nversion = "1.16.0"\n' \
        b'archive = { url = "https://example.org/six-1.16.0-py2.py3-none-any.whl", hashes = { sha256 = "00" } }\n'
    assert error(twice) == "/app/pylock.toml:57: six is selected twice for the target (also at line 50)"


def test_sources_that_are_not_wheels():
    vcs = LOCK + b'\n[[packages]]\nname = "mylib"\nvcs = { type = "git", url = "https://example.org/mylib.git", ' \
        b'commit-id = "0123456789abcdef" }\n'
    assert error(vcs) == ("/app/pylock.toml:57: mylib comes from a VCS: not supported yet (pylayers installs "
                          "wheels with a URL)")
    wheel = LOCK + b'\n[[packages]]\nname = "mylib"\n' \
        b'archive = { url = "https://example.org/mylib-1.0-py3-none-any.whl", hashes = { sha256 = "' + b"a" * 64 + b'" } }\n'
    found = parse_pylock(PATH, wheel, LINUX_313, "3.13.1")
    (choice,) = [c for c in choose_locked(found.packages, TAGS, "3.13.1") if c.name == "mylib"]
    assert (choice.version, choice.url, choice.sha256) == ("1.0", "https://example.org/mylib-1.0-py3-none-any.whl", "a" * 64)


def test_no_wheel_for_the_target_builds_the_sdist_or_names_the_package_line():
    binary = LOCK.replace(b"six-1.17.0-py2.py3-none-any.whl", b"six-1.17.0-cp39-cp39-win_amd64.whl")
    found = parse_pylock(PATH, binary, LINUX_313, "3.13.1")
    (six,) = [c for c in choose_locked(found.packages, TAGS, "3.13.1") if c.name == "six"]
    assert (six.filename, six.sdist, six.sha256) == (
        "six-1.17.0.tar.gz", True, "ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81")
    no_sdist = b"\n".join(line for line in binary.split(b"\n") if b"six-1.17.0.tar.gz" not in line)
    found = parse_pylock(PATH, no_sdist, LINUX_313, "3.13.1")
    with pytest.raises(InputError) as info:
        choose_locked(found.packages, TAGS, "3.13.1")
    assert str(info.value) == ("/app/pylock.toml:50: six==1.17.0 has no wheel for the target (cp313-cp313-"
                               "manylinux_2_36_x86_64, Python 3.13) on /app/pylock.toml; its wheels are for "
                               "cp39-cp39-win_amd64")
