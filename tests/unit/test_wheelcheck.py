"""The installer's checks of a wheel's zip directory (frontend/installer/wheelcheck.py), called
directly; tests/unit/test_installer.py runs them through installer.pyz on hostile wheels."""

import functools
import zipfile
from pathlib import Path

import pytest

from frontend.installer.wheelcheck import UnsafeWheel, check_entries
from tests.wheelzip import zip_entry


def small_zip(path: Path, *entries: tuple) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for entry, data in entries:
            archive.writestr(entry, data)
    return path


def test_data_directory_entries_are_allowed(tmp_path):
    dirs = ("demo-1.0.data/", "demo-1.0.data/scripts/", "demo-1.0.data/data/share/")
    check_entries(str(small_zip(tmp_path / "dirs.whl", *((zip_entry(d, 0o40755), b"") for d in dirs))))


def test_the_compression_ratio_limit_applies_to_large_entries_only(tmp_path):
    deflated = functools.partial(zip_entry, compress_type=zipfile.ZIP_DEFLATED)
    check_entries(str(small_zip(tmp_path / "small.whl", (deflated("small.bin"), bytes(10 << 20)))))
    check_entries(str(small_zip(tmp_path / "stored.whl", (zip_entry("stored.bin"), bytes(30 << 20)))))
    with pytest.raises(UnsafeWheel, match="big.whl: compression ratio above 200: 'big.bin'"):
        check_entries(str(small_zip(tmp_path / "big.whl", (deflated("big.bin"), bytes((10 << 20) + 1)))))
