"""overlaps.SCRIPT run by this interpreter on two small wheels: the clashes and the sizes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from frontend import overlaps
from frontend.errors import FrontendError
from frontend.resolve.wheels import PackageChoice

SCHEME = {k: f"/usr/local/{k}" for k in ("purelib", "platlib", "headers", "scripts", "data")}


def wheel(path, name: str, files: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        for entry, data in files.items():
            zf.writestr(entry, data)
    return path


def test_clashing_files_are_found_and_each_wheel_says_how_much_it_installs(tmp_path):
    a = wheel(tmp_path / "a.whl", "a", {"shared/x.py": b"one", "a/big.bin": b"0" * 1000})
    b = wheel(tmp_path / "b.whl", "b", {"shared/x.py": b"two"})
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([sys.executable, "-c", overlaps.SCRIPT, json.dumps(SCHEME), str(out / overlaps.RESULT_FILE),
                    f"a={a}", f"b={b}"], check=True)
    wheel_info = len("Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    assert overlaps.sizes((out / overlaps.SIZES_FILE).read_bytes()) == {"a": 1003 + wheel_info, "b": 3 + wheel_info}
    packages = [PackageChoice(n, "1.0", f"{n}.whl", f"https://x/{n}.whl", "0" * 64, "py3-none-any") for n in "ab"]
    with pytest.raises(FrontendError, match="a==1.0 and b==1.0 install the same files .*/usr/local/purelib/shared/x.py"):
        overlaps.check((out / overlaps.RESULT_FILE).read_bytes(), packages)


def test_sizes_that_are_not_json_are_an_error():
    with pytest.raises(FrontendError, match="invalid sizes"):
        overlaps.sizes(b"not json")


def test_the_check_copies_each_wheels_metadata_headers_byte_for_byte_not_its_description(tmp_path):
    text = ("Metadata-Version: 2.1\nName: a\nSummary: caf\u00e9 \u2603\nRequires-Dist: b>=1\n"
            "Description: one\n        two\n").encode() + b"X: \xff\n\n"
    a = wheel(tmp_path / "a.whl", "a", {"a-1.0.dist-info/METADATA": text + b"# a\n\nRequires-Dist: not-a-header\n"})
    b = wheel(tmp_path / "b.whl", "b", {"b/x.py": b""})  # no METADATA: left out
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run([sys.executable, "-c", overlaps.SCRIPT, json.dumps(SCHEME), str(out / overlaps.RESULT_FILE),
                    f"a={a}", f"b={b}"], check=True)
    assert overlaps.metadata((out / overlaps.METADATA_FILE).read_bytes()) == {"a": text}


def test_metadata_that_is_not_json_is_an_error():
    with pytest.raises(FrontendError, match="invalid metadata"):
        overlaps.metadata(b"[1")
