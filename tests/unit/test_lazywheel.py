"""lazywheel: METADATA from a wheel through ranged reads, reading a small part of it."""

from __future__ import annotations

import io
import os
import zipfile

import pytest

from frontend.errors import ResolutionError
from frontend.resolve.lazywheel import metadata_from_ranges

METADATA = b"Metadata-Version: 2.1\nName: big\nVersion: 1.0\nRequires-Dist: idna>=3\n"


def wheel(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.read_bytes, self.calls = data, 0, 0

    def __call__(self, offset: int, length: int) -> bytes:
        self.calls += 1
        chunk = self.data[offset:offset + length]
        self.read_bytes += len(chunk)
        return chunk


def test_reads_the_metadata_and_little_else_of_a_big_wheel():
    payload = os.urandom(4 << 20)  # incompressible: the wheel is > 4 MB
    data = wheel({"big/__init__.py": b"", "big/blob.bin": payload, "big-1.0.dist-info/METADATA": METADATA,
                  "big-1.0.dist-info/RECORD": b""})
    reader = Reader(data)
    assert metadata_from_ranges(reader, len(data), "big-1.0-py3-none-any.whl") == METADATA
    assert reader.read_bytes < 300 << 10 and reader.calls < 10, (reader.read_bytes, reader.calls)


def test_a_wheel_without_one_metadata_file_is_an_error_naming_it():
    data = wheel({"big/__init__.py": b""})
    with pytest.raises(ResolutionError, match=r"^big-1.0-py3-none-any.whl: no single .dist-info/METADATA"):
        metadata_from_ranges(Reader(data), len(data), "big-1.0-py3-none-any.whl")


def test_a_file_that_is_not_a_zip_is_an_error_naming_it():
    data = b"<html>not a wheel</html>"
    with pytest.raises(ResolutionError, match=r"^x-1-py3-none-any.whl: not a readable wheel"):
        metadata_from_ranges(Reader(data), len(data), "x-1-py3-none-any.whl")
