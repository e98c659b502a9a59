"""frontend.inputs.uvlock: real uv.lock files (tests/cases/locks, made by uv 0.13) → what uv sync installs."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontend.dockerfile.model import LockOptions
from frontend.errors import InputError
from frontend.inputs.uvlock import default_groups, parse_uv_lock
from frontend.resolve.locked import choose_locked
from frontend.target import wheel_tags

LOCKS = Path(__file__).resolve().parents[1] / "cases" / "locks"
LINUX_313 = {"implementation_name": "cpython", "implementation_version": "3.13.1", "os_name": "posix",
             "platform_machine": "x86_64", "platform_release": "6.1", "platform_system": "Linux",
             "platform_version": "#1", "python_full_version": "3.13.1",
             "platform_python_implementation": "CPython", "python_version": "3.13", "sys_platform": "linux"}
LINUX_311 = {**LINUX_313, "python_full_version": "3.11.9", "python_version": "3.11"}
WINDOWS = {**LINUX_313, "sys_platform": "win32", "platform_system": "Windows", "os_name": "nt"}
TAGS = wheel_tags({"version_info": [3, 13], "implementation_name": "cpython", "py_version_nodot": "313",
                   "platform": "linux-x86_64", "libc": {"name": "glibc", "version": "2.36"}, "maxsize_64": True,
                   "elf": {"class": 2, "data": 1, "machine": 62, "flags": 0}, "python_full_version": "3.13.1"})
MAIN = [("attrs", "25.4.0"), ("click", "8.1.8"), ("idna", "3.10"), ("itsdangerous", "2.2.0"), ("six", "1.17.0")]


def lock(case: str = "uv") -> bytes:
    return (LOCKS / case / "uv.lock").read_bytes()


def names(data: bytes, markers=LINUX_313, defaults=None, **options):
    found = parse_uv_lock("/app/uv.lock", data, LockOptions("uv", "uv.lock", **options), markers, defaults)
    return sorted((p.name, p.version) for p in found.packages)


def error(data: bytes, markers=LINUX_313, **options) -> str:
    with pytest.raises(InputError) as info:
        parse_uv_lock("/app/uv.lock", data, LockOptions("uv", "uv.lock", **options), markers)
    return str(info.value)


def test_default_sync_installs_the_dependencies_and_the_dev_group():
    assert names(lock()) == sorted([*MAIN, ("iniconfig", "2.1.0")])


def test_groups_and_extras_follow_uv_sync_flags():
    assert names(lock(), without_groups=("dev",)) == MAIN
    assert names(lock(), without_groups=("dev",), extras=("toml",)) == sorted([*MAIN, ("tomli-w", "1.2.0")])
    assert names(lock(), only_groups=("lint",)) == [("pyflakes", "3.4.0")]
    assert names(lock(), no_default_groups=True, groups=("lint",)) == sorted([*MAIN, ("pyflakes", "3.4.0")])
    everything = names(lock(), all_groups=True, all_extras=True)
    assert everything == sorted([*MAIN, ("iniconfig", "2.1.0"), ("pyflakes", "3.4.0"), ("tomli-w", "1.2.0")])
    assert names(lock(), defaults=None) == names(lock(), defaults=("dev",))


def test_pyproject_default_groups():
    text = b'[dependency-groups]\ndev = []\nlint = []\n[tool.uv]\ndefault-groups = "all"\n'
    assert default_groups("/app/pyproject.toml", text) == ("dev", "lint")
    assert default_groups("/app/pyproject.toml", b'[tool.uv]\ndefault-groups = ["lint"]\n') == ("lint",)
    assert default_groups("/app/pyproject.toml", b'[project]\nname = "x"\n') is None
    assert names(lock(), defaults=("lint",)) == sorted([*MAIN, ("pyflakes", "3.4.0")])


def test_markers_are_evaluated_for_the_target():
    assert ("colorama", "0.4.6") not in names(lock())
    assert ("colorama", "0.4.6") in names(lock(), WINDOWS)


def test_a_forked_lock_picks_the_version_of_the_target():
    assert names(lock("uv-fork"), LINUX_311) == [("idna", "3.10"), ("iniconfig", "2.1.0"), ("six", "1.17.0")]
    assert names(lock("uv-fork"), LINUX_313) == [("idna", "3.11"), ("iniconfig", "2.1.0"), ("six", "1.17.0")]
    assert ("click", "8.1.8") in names(lock("uv-fork"), extras=("cli",))


def test_the_project_is_reported_unless_virtual_or_not_installed():
    options = LockOptions("uv", "uv.lock")
    assert parse_uv_lock("/app/uv.lock", lock("uv-fork"), options, LINUX_313).project == "forkdemo"
    assert parse_uv_lock("/app/uv.lock", lock("uv-fork"), options, LINUX_313, install_project=False).project is None
    assert parse_uv_lock("/app/uv.lock", lock("uv"), options, LINUX_313).project is None  # virtual


def test_wheels_come_with_url_and_sha256_no_index_needed():
    found = parse_uv_lock("/app/uv.lock", lock(), LockOptions("uv", "uv.lock"), LINUX_313)
    chosen = {c.name: c for c in choose_locked(found.packages, TAGS, "3.13.1", fetch_all=None)}
    assert chosen["idna"].url.endswith("/idna-3.10-py3-none-any.whl")
    assert chosen["idna"].sha256 == "946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3"
    assert chosen["six"].tag == "py3-none-any"


def test_malformed_toml_names_the_line():
    broken = lock().replace(b'version = "2.2.0"', b'version = 2.2.0', 1)
    assert error(broken) == ("/app/uv.lock:55: invalid TOML: Expected newline or end of document "
                             "after a statement")
    assert error(b'version = 1\n[[package]\n') == ("/app/uv.lock:2: invalid TOML: Expected ']]' at the "
                                                   "end of an array declaration")


def test_semantic_errors_name_file_and_line():
    assert error(lock(), {**LINUX_311, "python_full_version": "3.10.12"}) == (
        "/app/uv.lock:3: the lock requires Python >=3.11 and the target has Python 3.10.12")
    assert error(b"version = 2\n") == "/app/uv.lock:1: unsupported uv.lock version 2 (pylayers reads version 1)"
    no_root = lock().replace(b'source = { virtual = "." }', b'source = { registry = "https://pypi.org/simple" }')
    assert error(no_root) == ("/app/uv.lock: uv.lock has no project at '.' (a package with source "
                              "{ editable = \".\" } or { virtual = \".\" }): uv sync runs in the project's directory")
    missing = lock().replace(b'name = "six"\n', b'name = "six-renamed"\n')
    assert error(missing) == "/app/uv.lock:62: lockdemo depends on six, which is not in the lock"
    git = lock().replace(b'name = "attrs"\nversion = "25.4.0"\nsource = { registry = "https://pypi.org/simple" }',
                         b'name = "attrs"\nversion = "25.4.0"\nsource = { git = "https://github.com/python-attrs/attrs" }')
    assert error(git) == ("/app/uv.lock:5: attrs comes from a git source: not supported yet (pylayers "
                          "installs wheels from an index or a URL)")
    bad_marker = lock().replace(b"marker = \"sys_platform == 'win32'\"", b"marker = \"sys_platform ==\"")
    assert error(bad_marker).startswith("/app/uv.lock:14: cannot evaluate the marker 'sys_platform ==' for the target: ")


def test_unknown_groups_and_extras_are_errors():
    assert error(lock(), groups=("docs",)) == (
        "/app/uv.lock:62: the install command asks for dependency group(s) docs, which the lock does not "
        "define (its groups: dev, lint)")
    assert error(lock(), extras=("yaml",)) == (
        "/app/uv.lock:62: the install command asks for extra(s) yaml, which the project does not define "
        "(its extras: toml)")


def test_binary_wheels_are_chosen_for_the_target_tags():
    """pydantic-core and PyYAML list ~50 wheels each: the target's best one is taken."""
    found = parse_uv_lock("/app/uv.lock", lock("uv-binary"), LockOptions("uv", "uv.lock"), LINUX_313)
    chosen = {c.name: (c.version, c.filename, c.tag) for c in choose_locked(found.packages, TAGS, "3.13.1")}
    assert chosen == {
        "annotated-types": ("0.8.0", "annotated_types-0.8.0-py3-none-any.whl", "py3-none-any"),
        "pydantic": ("2.11.7", "pydantic-2.11.7-py3-none-any.whl", "py3-none-any"),
        "pydantic-core": ("2.33.2", "pydantic_core-2.33.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                          "cp313-cp313-manylinux_2_17_x86_64"),
        "pyyaml": ("6.0.2", "PyYAML-6.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                   "cp313-cp313-manylinux_2_17_x86_64"),
        "typing-extensions": chosen["typing-extensions"], "typing-inspection": chosen["typing-inspection"],
    }
    musl = wheel_tags({"version_info": [3, 13], "implementation_name": "cpython", "py_version_nodot": "313",
                       "platform": "linux-x86_64", "libc": {"name": "musl", "version": "1.2"}, "maxsize_64": True,
                       "elf": {"class": 2, "data": 1, "machine": 62, "flags": 0}, "python_full_version": "3.13.1"})
    (core,) = [c for c in choose_locked(found.packages, musl, "3.13.1") if c.name == "pydantic-core"]
    assert core.filename == "pydantic_core-2.33.2-cp313-cp313-musllinux_1_1_x86_64.whl"


def test_a_workspace_member_is_built_from_its_directory_and_a_path_source_is_not_supported_yet():
    registry = b'name = "six"\nversion = "1.17.0"\nsource = { registry = "https://pypi.org/simple" }'
    member = lock().replace(registry, b'name = "six"\nversion = "1.17.0"\nsource = { editable = "packages/six" }')
    found = parse_uv_lock("/app/uv.lock", member, LockOptions("uv", "uv.lock"), LINUX_313)
    (six,) = [c for c in choose_locked(found.packages, TAGS, "3.13.1") if c.name == "six"]
    assert (six.local, six.version, six.tag, six.sdist) == ("/app/packages/six", "1.17.0", "local", False)
    virtual = lock().replace(registry, b'name = "six"\nversion = "1.17.0"\nsource = { virtual = "packages/six" }')
    assert ("six", "1.17.0") in names(lock()) and "six" not in [n for n, _ in names(virtual)]  # installs nothing
    path = lock().replace(registry, b'name = "six"\nversion = "1.17.0"\nsource = { path = "dist/six.whl" }')
    assert error(path) == ("/app/uv.lock:111: six comes from a path source (a local project): not "
                           "supported yet (pylayers installs wheels from an index or a URL)")


def test_without_a_fitting_wheel_the_locks_sdist_is_built():
    binary = lock().replace(b"six-1.17.0-py2.py3-none-any.whl", b"six-1.17.0-cp39-cp39-win_amd64.whl")
    found = parse_uv_lock("/app/uv.lock", binary, LockOptions("uv", "uv.lock"), LINUX_313)
    (six,) = [c for c in choose_locked(found.packages, TAGS, "3.13.1") if c.name == "six"]
    assert (six.filename, six.sdist, six.size) == ("six-1.17.0.tar.gz", True, 34031)
    assert six.url.endswith("/six-1.17.0.tar.gz") and len(six.sha256) == 64


def test_wheels_carry_their_size_to_the_choice():
    found = parse_uv_lock("/app/uv.lock", lock(), LockOptions("uv", "uv.lock"), LINUX_313)
    chosen = {c.name: c for c in choose_locked(found.packages, TAGS, "3.13.1")}
    assert chosen["attrs"].size == 67615
