from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from frontend.preinstalled import removal_run, replaced
from frontend.resolve.wheels import PackageChoice
from frontend.target import InstalledDist


def choice(name: str) -> PackageChoice:
    return PackageChoice(name=name, version="2.0", filename=f"{name}-2.0-py3-none-any.whl", url="u",
                         sha256="0" * 64, tag="py3-none-any")


def test_replaced_are_the_installed_distributions_of_the_step_packages():
    pip, wheel = InstalledDist("pip", "25.1", "/v/pip-25.1.dist-info"), InstalledDist("wheel", "0.4", "/v/w")
    assert replaced((pip, wheel), (choice("pip"), choice("six"))) == (pip,)
    assert removal_run("/v/bin/python", ()) is None


def test_the_removal_run_uninstalls_like_pip(tmp_path: Path):
    site = tmp_path / "lib" / "site-packages"
    (site / "oldpkg" / "sub" / "__pycache__").mkdir(parents=True)
    (site / "ns").mkdir()
    (tmp_path / "bin").mkdir()
    files = {"oldpkg/__init__.py": "", "oldpkg/sub/mod.py": "", "../../bin/oldtool": "#!python\n",
             "ns/shared_by_other.txt": "keep? no: listed"}
    for rel, text in files.items():
        (site / rel).resolve().parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    tag = sys.implementation.cache_tag
    (site / "oldpkg" / "sub" / "__pycache__" / f"mod.{tag}.pyc").write_bytes(b"")
    (site / "ns" / "other.txt").write_text("not ours\n")
    info = site / "oldpkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Name: oldpkg\nVersion: 1.0\n")
    (info / "RECORD").write_text("".join(f"{rel},,\n" for rel in files) + "oldpkg-1.0.dist-info/RECORD,,\n")
    line = removal_run(sys.executable, [InstalledDist("oldpkg", "1.0", str(info))])
    assert line.startswith("RUN [") and "\n" not in line
    proc = subprocess.run(json.loads(line[len("RUN "):]), capture_output=True, text=True, check=True)
    assert "removed oldpkg-1.0.dist-info (5 files)" in proc.stdout
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert left == ["bin", "lib", "lib/site-packages", "lib/site-packages/ns", "lib/site-packages/ns/other.txt"]
