"""Hostile wheels for the end-to-end tests: a valid wheel of the local index, then made unsafe.

Each maker returns the wheel's bytes and the exact line the in-build installer must print.
"""

from __future__ import annotations

import io
import stat
import zipfile
from typing import Callable

from tests.e2e.localindex import make_wheel
from tests.wheelzip import add_entries, zip_entry

REFUSE = "pylayers installer: refusing {wheel}: {reason}: {entry!r}"


def with_entries(name: str, version: str, *entries: tuple[zipfile.ZipInfo, bytes],
                 patch: tuple[bytes, bytes] = (b"", b"")) -> tuple[str, bytes]:
    """make_wheel's wheel + `entries` (not in RECORD); `patch` then swaps bytes of equal length."""
    filename, data = make_wheel(name, version)
    return filename, add_entries(data, *entries, patch=patch)


def lying_record(name: str, version: str) -> tuple[str, bytes]:
    """A wheel whose module differs from the hash and size its RECORD gives."""
    filename, data = make_wheel(name, version)
    module = f"{name.replace('-', '_')}/__init__.py"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, b"import os; os.system('id')\n" if info.filename == module else src.read(info))
    return filename, out.getvalue()


def _dist(name: str) -> str:
    return name.replace("-", "_")


# case → (wheel maker(name, version), expected message(name, version, wheel filename))
CASES: dict[str, tuple[Callable[[str, str], tuple[str, bytes]], Callable[[str, str, str], str]]] = {
    "absolute_path": (
        lambda n, v: with_entries(n, v, (zip_entry("/etc/cron.d/evil"), b"* * * * * root id\n")),
        lambda n, v, w: REFUSE.format(wheel=w, reason="unsafe path in archive", entry="/etc/cron.d/evil")),
    "dotdot": (
        lambda n, v: with_entries(n, v, (zip_entry(f"{_dist(n)}/../../../etc/evil.py"), b"x = 1\n")),
        lambda n, v, w: REFUSE.format(wheel=w, reason="unsafe path in archive",
                                      entry=f"{_dist(n)}/../../../etc/evil.py")),
    "escaping_symlink": (
        lambda n, v: with_entries(n, v, (zip_entry(f"{_dist(n)}/passwd", stat.S_IFLNK | 0o777), b"../../../../etc/passwd")),
        lambda n, v, w: REFUSE.format(wheel=w, reason="link or special file in archive", entry=f"{_dist(n)}/passwd")),
    "device_file": (
        lambda n, v: with_entries(n, v, (zip_entry(f"{_dist(n)}/mem", stat.S_IFCHR | 0o666), b"")),
        lambda n, v, w: REFUSE.format(wheel=w, reason="link or special file in archive", entry=f"{_dist(n)}/mem")),
    "duplicate_entry": (
        lambda n, v: with_entries(n, v, (zip_entry(f"{_dist(n)}/__init__.py"), b"EVIL = 1\n")),
        lambda n, v, w: REFUSE.format(wheel=w, reason="duplicate entry name", entry=f"{_dist(n)}/__init__.py")),
    "zip_bomb": (
        lambda n, v: with_entries(n, v, (zip_entry(f"{_dist(n)}/zeros.bin", compress_type=zipfile.ZIP_DEFLATED),
                                         bytes(64 << 20))),
        lambda n, v, w: REFUSE.format(wheel=w, reason="compression ratio above 200", entry=f"{_dist(n)}/zeros.bin")),
    "non_utf8_name": (
        lambda n, v: with_entries(n, v, (zip_entry(f"{_dist(n)}/cafX.py"), b"x = 1\n"),
                                  patch=(f"{_dist(n)}/cafX.py".encode(), f"{_dist(n)}/caf\x82.py".encode("latin-1"))),
        # zipfile reads a name without the UTF-8 flag as cp437: b"\x82" is "é"
        lambda n, v, w: REFUSE.format(wheel=w, reason="unsafe file name", entry=f"{_dist(n)}/caf\u00e9.py")),
    "lying_record": (
        lying_record,
        lambda n, v, w: (f"pylayers installer: cannot install {w}: ValueError: "
                         f"In /wheels/0/{w}, hash / size of {_dist(n)}/__init__.py didn't match RECORD")),
}
