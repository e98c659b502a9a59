"""The installer's checks of a wheel's zip directory, before anything is written (installer.pyz).

Every entry must stay inside the layer's dest, be a file or a directory, appear once, and not
inflate past PYLAYERS_MAX_WHEEL_BYTES (all entries together) or a compression ratio that only a
zip bomb has. Kept to the syntax and stdlib of Python 3.8, like install.py.
"""

from __future__ import annotations

import os
import posixpath
import stat
import unicodedata
import zipfile

SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")
MAX_WHEEL_BYTES = 2 << 30  # uncompressed, all entries together; PYLAYERS_MAX_WHEEL_BYTES overrides it
MAX_RATIO = 200  # uncompressed / compressed size, refused above this for entries over RATIO_MIN_BYTES
RATIO_MIN_BYTES = 10 << 20
UTF8_FLAG = 0x800  # zip flag bit 11: the name is UTF-8 (zipfile decodes other names as cp437)


class UnsafeWheel(Exception):
    pass


def check_entries(path: str, max_bytes: int = MAX_WHEEL_BYTES) -> None:
    """Refuse any entry that could escape dest, be more than a file or directory, clash or explode.

    Decided from the zip directory alone: zipfile inflates no more than an entry's declared size
    (then checks its CRC), so the size limits hold before anything is decompressed.
    """
    name = os.path.basename(path)
    try:
        archive = zipfile.ZipFile(path)
    except UnicodeDecodeError as exc:  # a name flagged UTF-8 that is not
        raise UnsafeWheel("{}: unsafe file name: {!r}".format(name, exc.object)) from None
    with archive:
        seen = set()
        total = 0
        for info in archive.infolist():
            total += info.file_size
            reason = entry_problem(info, seen) or size_problem(info, total, max_bytes)
            if reason:  # orig_filename: zipfile cuts filename at a NUL
                raise UnsafeWheel("{}: {}: {!r}".format(name, reason, info.orig_filename))


def entry_problem(info: zipfile.ZipInfo, seen: set) -> str | None:
    entry = info.filename
    parts = entry.split("/")
    if unsafe_name(info):
        return "unsafe file name"
    if not entry or entry.startswith("/") or "\\" in entry or ".." in parts or ":" in parts[0]:
        return "unsafe path in archive"
    if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no Unix mode
        return "link or special file in archive"
    key = posixpath.normpath(entry)
    if key in seen:
        return "duplicate entry name"
    seen.add(key)
    if parts[0].endswith(".data") and not data_entry_ok(entry, parts):
        return "not in a .data/<{}>/ directory".format("|".join(SCHEME_KEYS))
    return None


def unsafe_name(info: zipfile.ZipInfo) -> bool:
    """Control characters (NUL, escapes, newlines), U+FFFD, or non-ASCII in a name not flagged UTF-8."""
    name = info.orig_filename
    if not info.flag_bits & UTF8_FLAG and not name.isascii():  # zipfile decoded it as cp437
        return True
    return any(unicodedata.category(c) == "Cc" or c == "\ufffd" for c in name)


def data_entry_ok(entry: str, parts: list) -> bool:
    """A file of `<name>.data/` lies under one of the scheme keys, as pypa/installer expects."""
    is_dir = entry.endswith("/")
    body = parts[:-1] if is_dir else parts
    if len(body) == 1:
        return is_dir
    return body[1] in SCHEME_KEYS and (is_dir or len(body) > 2)


def size_problem(info: zipfile.ZipInfo, total: int, max_bytes: int) -> str | None:
    if total > max_bytes:
        return "more than {} bytes uncompressed".format(max_bytes)
    if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * info.compress_size:
        return "compression ratio above {}".format(MAX_RATIO)
    return None


def max_wheel_bytes() -> int:
    value = os.environ.get("PYLAYERS_MAX_WHEEL_BYTES", "")
    if value and not value.isdigit():
        raise ValueError("PYLAYERS_MAX_WHEEL_BYTES is not a number of bytes: {!r}".format(value))
    return int(value) if value else MAX_WHEEL_BYTES
