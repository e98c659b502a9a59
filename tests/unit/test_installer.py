"""The in-build wheel installer: scheme paths, scripts, RECORD, bytecode, reproducibility, safety."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from frontend.installer import installer_zipapp
from tests.e2e.localindex import make_wheel

SCHEME = {"purelib": "/opt/venv/lib/python3/site-packages", "platlib": "/opt/venv/lib/python3/site-packages",
          "headers": "/opt/venv/include/site/python3/demo", "scripts": "/opt/venv/bin", "data": "/opt/venv"}


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("app") / "installer.pyz"
    path.write_bytes(installer_zipapp())
    return path


def _wheel(tmp_path: Path, **kwargs) -> Path:
    files = kwargs.pop("files", None) or {
        "demo/__init__.py": b"def main():\n    print('hi')\n",
        "demo-1.0.dist-info/entry_points.txt": b"[console_scripts]\ndemo = demo:main\n",
        "demo-1.0.data/scripts/demo-tool": b"#!python\nprint('tool')\n",
        "demo-1.0.data/data/share/demo/readme.txt": b"data\n",
    }
    name, data = make_wheel("demo", "1.0", files=files, **kwargs)
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _install(zipapp: Path, dest: Path, *wheels: Path):
    return subprocess.run([sys.executable, str(zipapp), "--dest", str(dest), "--scheme-json", json.dumps(SCHEME),
                           "--interpreter", "/opt/venv/bin/python", *map(str, wheels)],
                          capture_output=True, text=True)


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None, p.stat().st_mode, p.stat().st_mtime)
            for p in sorted(root.rglob("*"))}


def test_installs_into_scheme_paths_under_dest(zipapp, tmp_path):
    dest = tmp_path / "out"
    proc = _install(zipapp, dest, _wheel(tmp_path))
    assert proc.returncode == 0, proc.stderr
    site = dest / SCHEME["purelib"].lstrip("/")
    assert (site / "demo" / "__init__.py").exists()
    assert list((site / "demo" / "__pycache__").glob("__init__.*.pyc"))
    info = site / "demo-1.0.dist-info"
    assert (info / "INSTALLER").read_text() == "pylayers\n"
    assert "demo/__init__.py" in (info / "RECORD").read_text()
    script = dest / "opt/venv/bin/demo"
    assert script.read_text().startswith("#!/opt/venv/bin/python\n") and os.access(script, os.X_OK)
    assert (dest / "opt/venv/bin/demo-tool").read_text().startswith("#!/opt/venv/bin/python")
    assert (dest / "opt/venv/share/demo/readme.txt").read_text() == "data\n"


def test_same_wheel_gives_identical_trees(zipapp, tmp_path):
    wheel = _wheel(tmp_path)
    assert _install(zipapp, tmp_path / "a", wheel).returncode == 0
    assert _install(zipapp, tmp_path / "b", wheel).returncode == 0
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert {m for _, _, m in _tree(tmp_path / "a").values()} == {315532800}


@pytest.mark.parametrize("entry", ["../evil.py", "/etc/evil.py", "demo/../../evil.py"])
def test_unsafe_entries_are_refused_and_nothing_is_written(zipapp, tmp_path, entry):
    wheel = _wheel(tmp_path, extra_entries={entry: b"x = 1\n"})
    dest = tmp_path / "out"
    proc = _install(zipapp, dest, wheel)
    assert proc.returncode == 2
    assert "unsafe path" in proc.stderr and repr(entry) in proc.stderr and "demo-1.0" in proc.stderr
    assert not dest.exists() and not (tmp_path / "evil.py").exists()


def test_a_tampered_record_fails(zipapp, tmp_path):
    name, data = make_wheel("demo", "1.0")
    import io
    import zipfile
    src = zipfile.ZipFile(io.BytesIO(data))
    out = tmp_path / name
    with zipfile.ZipFile(out, "w") as zf:
        for item in src.infolist():
            body = src.read(item)
            zf.writestr(item, b"VERSION = 'evil'\n" if item.filename.endswith("__init__.py") else body)
    proc = _install(zipapp, tmp_path / "o", out)
    assert proc.returncode == 1 and "demo-1.0" in proc.stderr


def test_zipapp_is_deterministic_across_processes():
    code = "import sys, hashlib; from frontend.installer import installer_zipapp; print(hashlib.sha256(installer_zipapp()).hexdigest())"
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(runs) == 1
