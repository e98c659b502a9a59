"""installer/pyccache.py: bytecode kept across install execs, the layers byte-identical either way."""

from __future__ import annotations

import hashlib
import json
import marshal
import subprocess
import sys
from pathlib import Path

from frontend.installer import pyccache
from tests.unit.test_installer import DEMO, SCHEME, SITE, build_wheel, tree, zipapp  # noqa: F401 (fixture)


def install(zipapp: Path, dest: Path, wheel: Path, cache: Path | None, scheme: dict = SCHEME):
    args = ["--bytecode-cache", str(cache)] if cache else []
    return subprocess.run([sys.executable, str(zipapp), "--dest", str(dest), "--scheme-json", json.dumps(scheme),
                           "--interpreter", "/opt/venv/bin/python", *args, str(wheel)],
                          capture_output=True, text=True)


def cache_file(cache: Path) -> Path:
    (found,) = [p for p in cache.iterdir() if p.name.endswith("-demo")]
    return found


def rewrite(path: Path, entries: dict) -> None:
    payload = marshal.dumps(entries)
    path.write_bytes(pyccache.HEADER + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def test_a_second_install_takes_its_bytecode_from_the_cache_and_gives_the_same_tree(zipapp, tmp_path):
    wheel, cache = build_wheel(tmp_path), tmp_path / "cache"
    assert install(zipapp, tmp_path / "plain", wheel, None).returncode == 0
    proc = install(zipapp, tmp_path / "first", wheel, cache)
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path / "first") == tree(tmp_path / "plain")
    entries = pyccache.read_entries(str(cache_file(cache)))
    assert len(entries) == 2  # demo/__init__.py and demo/sub/mod.py
    assert install(zipapp, tmp_path / "again", wheel, cache).returncode == 0
    assert tree(tmp_path / "again") == tree(tmp_path / "plain")
    rewrite(cache_file(cache), {k: b"served:" + v for k, v in entries.items()})  # proves where it comes from
    assert install(zipapp, tmp_path / "served", wheel, cache).returncode == 0
    pyc = next((tmp_path / "served" / SITE / "demo" / "sub" / "__pycache__").iterdir())
    assert pyc.read_bytes().startswith(b"served:")


def test_a_damaged_cache_file_is_ignored(zipapp, tmp_path):
    wheel, cache = build_wheel(tmp_path), tmp_path / "cache"
    assert install(zipapp, tmp_path / "plain", wheel, None).returncode == 0
    assert install(zipapp, tmp_path / "first", wheel, cache).returncode == 0
    path = cache_file(cache)
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # its checksum no longer holds
    assert pyccache.read_entries(str(path)) == {}
    assert install(zipapp, tmp_path / "after", wheel, cache).returncode == 0
    assert tree(tmp_path / "after") == tree(tmp_path / "plain")
    path.write_bytes(data[:40])  # cut short
    assert pyccache.read_entries(str(path)) == {}


def test_the_install_path_is_part_of_the_key(zipapp, tmp_path):
    wheel, cache = build_wheel(tmp_path), tmp_path / "cache"
    other = {k: v.replace("/opt/venv", "/srv/env") for k, v in SCHEME.items()}
    assert install(zipapp, tmp_path / "first", wheel, cache).returncode == 0
    assert install(zipapp, tmp_path / "other", wheel, cache, other).returncode == 0
    assert install(zipapp, tmp_path / "plain", wheel, None, other).returncode == 0
    assert tree(tmp_path / "other") == tree(tmp_path / "plain")  # its code objects name /srv/env
    site = tmp_path / "other" / other["purelib"].lstrip("/")
    code = marshal.loads(next((site / "demo" / "sub" / "__pycache__").iterdir()).read_bytes()[16:])
    assert code.co_filename == other["purelib"] + "/demo/sub/mod.py"


def test_a_cache_that_cannot_be_written_leaves_the_install_as_it_is(zipapp, tmp_path):
    wheel, blocked = build_wheel(tmp_path), tmp_path / "not-a-directory"
    blocked.write_text("")
    assert install(zipapp, tmp_path / "plain", wheel, None).returncode == 0
    proc = install(zipapp, tmp_path / "out", wheel, blocked)
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path / "out") == tree(tmp_path / "plain")


def test_a_module_that_does_not_compile_is_remembered_so_and_gets_no_pyc(zipapp, tmp_path):
    wheel = build_wheel(tmp_path, files={**DEMO, "demo/template.py": b"def broken(:\n"})
    cache = tmp_path / "cache"
    for dest in ("first", "again"):
        assert install(zipapp, tmp_path / dest, wheel, cache).returncode == 0
        assert not list((tmp_path / dest / SITE / "demo" / "__pycache__").glob("template.*"))
    assert b"" in pyccache.read_entries(str(cache_file(cache))).values()


def test_entries_are_kept_per_project_and_rewritten_only_when_they_change(tmp_path):
    cache = pyccache.BytecodeCache(str(tmp_path))
    cache.begin("Demo_Project")
    key = cache.key("/site/demo/a.py", b"A = 1\n")
    assert cache.get(key) is None
    cache.put(key, b"pyc")
    cache.end()
    (path,) = tmp_path.iterdir()
    assert path.name.endswith("-demo-project")
    written = path.stat().st_mtime_ns
    cache.begin("demo-project")
    assert cache.get(key) == b"pyc" and cache.get(cache.key("/site/demo/b.py", b"A = 1\n")) is None
    cache.end()
    assert path.stat().st_mtime_ns == written and list(tmp_path.iterdir()) == [path]
    cache.begin("demo-project")
    other = cache.key("/site/demo/b.py", b"B = 2\n")
    cache.put(other, b"pyc2")
    cache.end()
    assert pyccache.read_entries(str(path)) == {other: b"pyc2"}
