"""A wheel's METADATA read through ranged reads: the zip directory and one member, not the wheel.

For indexes that serve no PEP 658 metadata files: the wheel is fetched by the daemon anyway (its
layer needs it, and with its sha256 it is cached), but only a few tens of KB of it cross the gateway.
"""

from __future__ import annotations

import io
import zipfile
from typing import Callable

from ..errors import ResolutionError

ReadRange = Callable[[int, int], bytes]  # (offset, length) -> bytes (shorter at the end of the file)
BUFFER = 64 << 10


class _Ranged(io.RawIOBase):
    """A read-only, seekable file whose bytes come from `read_range`."""

    def __init__(self, read_range: ReadRange, size: int) -> None:
        self._read, self._size, self._pos = read_range, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        length = min(len(buffer), self._size - self._pos)
        if length <= 0:
            return 0
        data = self._read(self._pos, length)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


def metadata_from_ranges(read_range: ReadRange, size: int, filename: str) -> bytes:
    """The wheel's `<name>.dist-info/METADATA`, read lazily."""
    try:
        with zipfile.ZipFile(io.BufferedReader(_Ranged(read_range, size), BUFFER)) as archive:
            names = [n for n in archive.namelist()
                     if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
            if len(names) == 1:
                return archive.read(names[0])
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ResolutionError(f"{filename}: not a readable wheel ({exc})") from None
    raise ResolutionError(f"{filename}: no single .dist-info/METADATA in the wheel")
