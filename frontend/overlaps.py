"""Files that two wheels of one install step would both write, found before any layer is built.

pip installs packages one after the other into one directory: when two wheels ship the same path,
the one installed last wins, and pip picks that order from the dependency graph. pylayers builds
each layer on its own and stacks them, so the upper layer would win instead. Both agree when the
two files are the same; when they differ, the result would depend on an order nobody chose, and
the build fails with the packages and paths.

SCRIPT runs in the target (stdlib only, Python 3.9+) with every wheel of the step mounted. It
reads each wheel's zip directory (not its data), and writes how many bytes each wheel installs
(prebuild.py builds the biggest layers first) and the path each entry installs to (the scheme's
purelib/platlib, `.data/<key>/` entries under that key's path) with its CRC-32 and size as the
content's identity, plus the console/gui scripts of entry_points.txt (identity: the entry point).
It also writes the headers of each wheel's .dist-info/METADATA (not the description after them:
640 KB → 106 KB for the benchmark's 58 wheels), from which the step's dependencies are checked
(resolve/pinmeta.py): a rebuild reads them all from this cached exec's output in one file.
Limits: files a package creates when it runs are not seen, and a `.data/headers` path uses the
canonical project name where the installer uses the METADATA name (only their case may differ).
"""

from __future__ import annotations

import json
from typing import Sequence

from .errors import FrontendError
from .resolve.wheels import PackageChoice

SCRIPT = r"""
import configparser, json, os, posixpath, sys, zipfile
scheme = json.loads(sys.argv[1])
owners, sizes, metadata = {}, {}, {}
for arg in sys.argv[3:]:
    name, path = arg.split("=", 1)
    if os.path.isdir(path):  # a wheel built from an sdist: the one wheel of the directory
        path = os.path.join(path, [n for n in sorted(os.listdir(path)) if n.endswith(".whl")][0])
    files = {}
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        wheel = [i.filename for i in infos if i.filename.count("/") == 1
                 and i.filename.endswith(".dist-info/WHEEL")]
        info_dir = wheel[0].split("/")[0] if wheel else None
        text = zf.read(wheel[0]).decode("utf-8", "replace").lower() if wheel else ""
        if info_dir and info_dir + "/METADATA" in zf.namelist():
            meta = zf.read(info_dir + "/METADATA").decode("utf-8", "surrogateescape")
            head, blank, _ = meta.partition("\n\n")  # the headers: the body is the description
            metadata[name] = head + blank
        root = scheme["purelib"] if "root-is-purelib: true" in text else scheme["platlib"]
        for i in infos:
            parts = i.filename.split("/")
            if i.filename.endswith("/"):
                continue
            if parts[0].endswith(".data") and len(parts) > 2:
                if parts[1] not in scheme:
                    continue
                base = posixpath.join(scheme[parts[1]], name) if parts[1] == "headers" else scheme[parts[1]]
                target = posixpath.join(base, *parts[2:])
            else:
                target = posixpath.join(root, i.filename)
            files[posixpath.normpath(target)] = "%08x:%d" % (i.CRC, i.file_size)
        entry_points = info_dir and info_dir + "/entry_points.txt"
        if entry_points in zf.namelist():
            parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
            parser.optionxform = str
            try:
                parser.read_string(zf.read(entry_points).decode("utf-8", "replace"))
            except configparser.Error:
                pass
            for section in ("console_scripts", "gui_scripts"):
                if parser.has_section(section):
                    for key, value in parser.items(section):
                        files[posixpath.join(scheme["scripts"], key.strip())] = "entry:" + value.strip()
        sizes[name] = sum(i.file_size for i in infos)
    for target, identity in files.items():
        owners.setdefault(target, []).append([name, identity])
with open(sys.argv[2], "w") as out:
    json.dump({p: o for p, o in sorted(owners.items()) if len(o) > 1}, out, sort_keys=True)
with open(os.path.join(os.path.dirname(sys.argv[2]), "sizes.json"), "w") as out:
    json.dump(sizes, out, sort_keys=True)
with open(os.path.join(os.path.dirname(sys.argv[2]), "metadata.json"), "w", errors="surrogateescape") as out:
    json.dump(metadata, out, sort_keys=True, ensure_ascii=False)
"""
RESULT_FILE = "overlaps.json"
SIZES_FILE = "sizes.json"  # {package name: bytes its wheel holds uncompressed}
METADATA_FILE = "metadata.json"  # {package name: its wheel's METADATA headers}
SHOWN_PATHS = 3


def conflicts(data: bytes, packages: Sequence[PackageChoice]) -> tuple[str, ...]:
    """One message per set of packages that ship one path with different content."""
    versions = {p.name: p.version for p in packages}
    try:
        found = json.loads(data)
        groups: dict[tuple[str, ...], list[str]] = {}
        for path, owners in found.items():
            if len({identity for _, identity in owners}) > 1:
                groups.setdefault(tuple(sorted({name for name, _ in owners})), []).append(path)
    except (ValueError, TypeError, AttributeError) as exc:
        raise FrontendError(f"the overlap check printed invalid output ({exc}): {data[:200]!r}") from None
    return tuple(_message(names, sorted(paths), versions) for names, paths in sorted(groups.items()))


def _message(names: tuple[str, ...], paths: list[str], versions: dict[str, str]) -> str:
    who = " and ".join(f"{n}=={versions.get(n, '?')}" for n in names)
    shown = ", ".join(paths[:SHOWN_PATHS]) + (f" (and {len(paths) - SHOWN_PATHS} more)"
                                               if len(paths) > SHOWN_PATHS else "")
    return (f"{who} install the same files with different content: {shown}. pip would keep the "
            "copy of whichever it installs last, so the image would depend on install order: pin "
            "only one of them, or build with --build-arg PYLAYERS_DISABLE=1")


def sizes(data: bytes) -> dict[str, int]:
    """SIZES_FILE read: how much each wheel installs (what its layer's build costs, roughly)."""
    try:
        found = json.loads(data)
        return {str(k): int(v) for k, v in found.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise FrontendError(f"the overlap check printed invalid sizes ({exc}): {data[:200]!r}") from None


def metadata(data: bytes) -> dict[str, bytes]:
    """METADATA_FILE read: each wheel's METADATA, as the bytes in the wheel."""
    try:
        found = json.loads(data.decode("utf-8", "surrogateescape"))
        return {str(k): v.encode("utf-8", "surrogateescape") for k, v in found.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise FrontendError(f"the overlap check printed invalid metadata ({exc}): {data[:200]!r}") from None


def check(data: bytes, packages: Sequence[PackageChoice]) -> None:
    found = conflicts(data, packages)
    if found:
        raise FrontendError("\n".join(found))
