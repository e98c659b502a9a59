"""Zip entries added to a valid wheel, for the installer's unit tests and the hostile-wheel e2e tests."""

from __future__ import annotations

import io
import stat
import warnings
import zipfile

DATE = (2021, 2, 3, 4, 5, 6)


def zip_entry(name: str, mode: int = stat.S_IFREG | 0o644, compress_type: int = zipfile.ZIP_STORED) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=DATE)
    entry.external_attr = mode << 16
    entry.compress_type = compress_type
    return entry


def add_entries(data: bytes, *entries: tuple[zipfile.ZipInfo, bytes], patch: tuple[bytes, bytes] = (b"", b"")) -> bytes:
    """The wheel `data` + (ZipInfo, body) `entries` (not in RECORD); `patch` then swaps bytes of equal length."""
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        for entry, body in entries:
            archive.writestr(entry, body)
    old, new = patch
    assert len(old) == len(new)
    return buf.getvalue().replace(old, new)
