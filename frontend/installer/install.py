"""Install wheels into an empty directory, for one image layer (runs as installer.pyz's __main__).

Runs inside the build with the *target* interpreter (Python 3.10+, the floor of pypa/installer)
and no network:

    python installer.pyz --dest /out --scheme-json '{"purelib": ...}' --interpreter /opt/venv/bin/python W.whl...

Files land at dest + the target's absolute scheme paths; console scripts get the target
interpreter's shebang; bytecode is hash-based and every mtime is fixed, so the same wheel always
gives a byte-identical layer. Unsafe archive entries are refused before anything is written.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import zipfile

FIXED_MTIME = 315532800  # 1980-01-01, the earliest time a zip entry can carry
SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")


class UnsafeWheel(Exception):
    pass


def check_entries(path: str) -> None:
    """Refuse absolute paths, `..`, backslashes and symlinks: nothing may escape the output."""
    name = os.path.basename(path)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            entry = info.filename
            parts = entry.split("/")
            if entry.startswith("/") or "\\" in entry or ".." in parts or (parts and ":" in parts[0]):
                raise UnsafeWheel(f"{name}: unsafe path in archive: {entry!r}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeWheel(f"{name}: symbolic link in archive: {entry!r}")


def install_wheel(path: str, scheme: dict, interpreter: str, dest: str) -> None:
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    destination = SchemeDictionaryDestination(
        scheme, interpreter=interpreter, script_kind="posix",
        bytecode_optimization_levels=(0,), destdir=dest)
    with WheelFile.open(path) as source:
        source.validate_record()
        install(source, destination, {"INSTALLER": b"pylayers\n"})


def normalize(dest: str) -> None:
    """Fix every mtime so that the layer depends on the wheel alone, not on the build's clock."""
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
    os.utime(dest, (FIXED_MTIME, FIXED_MTIME))


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="pylayers-installer")
    parser.add_argument("--dest", required=True)
    parser.add_argument("--scheme-json", required=True)
    parser.add_argument("--interpreter", required=True)
    parser.add_argument("wheels", nargs="+")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    scheme = json.loads(args.scheme_json)
    missing = [k for k in SCHEME_KEYS if k not in scheme]
    if missing:
        print(f"pylayers installer: scheme lacks {missing}", file=sys.stderr)
        return 2
    os.umask(0o022)
    os.environ["SOURCE_DATE_EPOCH"] = str(FIXED_MTIME)  # hash-based .pyc (PEP 552)
    try:
        for wheel in args.wheels:
            check_entries(wheel)
        for wheel in args.wheels:
            install_wheel(wheel, scheme, args.interpreter, args.dest)
    except UnsafeWheel as exc:
        print(f"pylayers installer: refusing {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - report any failure of a wheel with its name
        print(f"pylayers installer: cannot install {', '.join(map(os.path.basename, args.wheels))}: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    normalize(args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
