"""Install wheels into an empty directory, for one image layer (runs as installer.pyz's __main__).

Runs inside the build with the target's base interpreter and no network:

    python installer.pyz --dest /out --scheme-json '{"purelib": ...}' --interpreter /opt/venv/bin/python W.whl...
    python installer.pyz --layer /out/0 A.whl --layer /out/1 B.whl C.whl --scheme-json ... --interpreter ...

The second form installs several layers in one process (one exec for a group of small layers:
a container start costs about what installing a small wheel does): each layer's wheels into its
own dest, which then holds the same tree that layer's wheels installed alone would give.

Files land at dest + the target's absolute scheme paths (headers: + the project name, as pip
does); scripts get the --interpreter shebang; bytecode is checked-hash based (an edited source
is recompiled) and compiled with a fixed hash seed; every mtime is fixed: the same wheels always
give a byte-identical tree.
Unsafe archive entries are refused (exit 2) before anything is written; other failures exit 1.

Kept to the syntax and stdlib of Python 3.8, so that older targets get a clear error.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile

FIXED_MTIME = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry
PROG = "pylayers installer"
MIN_PYTHON = (3, 9)  # the vendored pypa/installer needs 3.9 (with lazy annotations, see __init__.py)

try:  # wheelcheck.py is next to __main__.py in installer.pyz
    from .wheelcheck import SCHEME_KEYS, UnsafeWheel, check_entries, max_wheel_bytes
except ImportError:
    from wheelcheck import SCHEME_KEYS, UnsafeWheel, check_entries, max_wheel_bytes


def make_destination(scheme: dict, interpreter: str, dest: str):
    """A SchemeDictionaryDestination with plain string paths (pathlib cost a fifth of the install
    time of a big wheel) that compiles reproducible (checked-hash) bytecode from each module's
    bytes as it writes them."""
    from pathlib import Path

    from installer.destinations import SchemeDictionaryDestination
    from installer.records import Hash, RecordEntry
    from installer.utils import copyfileobj_with_hashing, make_file_executable

    class Destination(SchemeDictionaryDestination):
        def _path_with_destdir(self, scheme, path):
            return Path(self.target(scheme, path))

        def target(self, scheme, path: str) -> str:
            """dest + the scheme's path + path; ValueError if path leaves the scheme's directory."""
            root = os.path.abspath(self.scheme_dict[scheme])
            final = os.path.abspath(os.path.join(root, path))
            if final != root and not final.startswith(root.rstrip("/") + "/"):
                raise ValueError("Attempting to write {} outside of the target directory".format(path))
            return os.path.join(dest, final.lstrip("/"))

        def write_to_fs(self, scheme, path, stream, is_executable):
            target = self.target(scheme, path)
            module = scheme in ("purelib", "platlib") and path.endswith(".py")
            if module or os.path.exists(target):
                stream = io.BytesIO(stream.read())
                if os.path.exists(target):
                    replace_same(target, stream.getvalue())
            make_dirs(os.path.dirname(target))
            with open(target, "wb") as out:
                digest, size = copyfileobj_with_hashing(stream, out, self.hash_algorithm)
            if is_executable:
                make_file_executable(Path(target))
            if module:
                compile_module(stream.getvalue(), target, os.path.join(self.scheme_dict[scheme], path))
            return RecordEntry(path, Hash(self.hash_algorithm, digest), size)

    return Destination(scheme, interpreter=interpreter, script_kind="posix",
                       bytecode_optimization_levels=(), destdir=dest)


_MADE: set = set()  # directories this process made or found


def make_dirs(path: str) -> None:
    """os.makedirs(path, exist_ok=True), once per directory (most files share theirs)."""
    if path not in _MADE:
        os.makedirs(path, exist_ok=True)
        _MADE.add(path)


def replace_same(target: str, data: bytes) -> None:
    """Two wheels of one layer may ship the same file, if it is the same file."""
    with open(target, "rb") as existing:
        if existing.read() != data:
            raise FileExistsError("{} is also installed, with other content, by another wheel of this "
                                  "layer".format(target))
    os.unlink(target)


_BYTECODE: list = []  # the pyccache.BytecodeCache of --bytecode-cache, if given


def compile_module(source: bytes, target: str, final: str) -> None:
    """target's __pycache__/*.pyc from its source, as py_compile makes it with CHECKED_HASH
    invalidation (PEP 552), naming `final` (no dest prefix) in tracebacks, or the same bytes from
    the bytecode cache. A module that does not compile gets no .pyc (compileall's quiet behaviour:
    templates and Python 2 files ship in wheels)."""
    import importlib.util

    cache = _BYTECODE[0] if _BYTECODE else None
    key = cache.key(final, source) if cache else None
    data = cache.get(key) if cache else None
    if data is None:
        data = compiled(source, final)
        if cache:
            cache.put(key, data)
    if not data:
        return
    pyc = importlib.util.cache_from_source(target)
    make_dirs(os.path.dirname(pyc))
    with open(pyc, "wb") as out:
        out.write(data)


def compiled(source: bytes, final: str) -> bytes:
    """The .pyc bytes of a module's source; b"" when it does not compile."""
    import importlib.util
    import marshal
    import warnings

    try:
        with warnings.catch_warnings():  # SyntaxWarning, DeprecationWarning: not the user's to fix
            warnings.simplefilter("ignore")
            code = compile(source, final, "exec", dont_inherit=True, optimize=-1)
    except (SyntaxError, ValueError):
        return b""
    header = importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little") + importlib.util.source_hash(source)
    return header + marshal.dumps(code)


def project_name(source) -> str:
    from email.parser import HeaderParser

    return HeaderParser().parsestr(source.read_dist_info("METADATA")).get("Name") or source.distribution


def install_wheel(path: str, scheme: dict, interpreter: str, dest: str) -> None:
    from installer import install
    from installer.sources import WheelFile

    with WheelFile.open(path) as source:
        source.validate_record(validate_contents=False)  # names, entries; contents as they are read
        scheme = dict(scheme, headers=os.path.join(scheme["headers"], project_name(source)))
        contents = source.get_contents
        source.get_contents = lambda: checked_contents(contents(), path)
        install(source, make_destination(scheme, interpreter, dest), {"INSTALLER": b"pylayers\n"})


def checked_contents(contents, wheel: str):
    """The wheel's (RECORD row, stream, executable), each stream checked against its RECORD hash and
    size as the install reads it (once: validating first read every file twice); the rest of a
    stream the install left unread is read and checked before the next file."""
    for record, stream, is_executable in contents:
        checked = RecordChecked(stream, record, wheel) if record[1] else None
        yield record, checked or stream, is_executable
        if checked is not None:
            checked.finish()


class RecordChecked:
    """A binary stream that fails (ValueError) when what it gave does not match the RECORD row."""

    def __init__(self, stream, record, wheel: str) -> None:
        import hashlib

        algorithm, _, self.expected = record[1].partition("=")
        self.stream, self.record, self.wheel = stream, record, wheel
        self.hash, self.size, self.done = hashlib.new(algorithm), 0, False

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.hash.update(data)
        self.size += len(data)
        if not data or n is None or n < 0:
            self.check()
        return data

    def readline(self) -> bytes:
        data = self.stream.readline()
        self.hash.update(data)
        self.size += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """Back to the start only (a script's shebang is read twice): hashed from there again."""
        import hashlib

        if (offset, whence) != (0, 0):
            raise ValueError("a wheel's file is only read again from its start")
        self.hash, self.size, self.done = hashlib.new(self.hash.name), 0, False
        return self.stream.seek(0)

    def finish(self) -> None:
        while not self.done:
            self.read(1 << 20)

    def check(self) -> None:
        import base64

        digest = base64.urlsafe_b64encode(self.hash.digest()).decode("ascii").rstrip("=")
        if digest != self.expected or self.size != int(self.record[2]):
            raise ValueError("In {}, hash / size of {} didn't match RECORD".format(self.wheel, self.record[0]))
        self.done = True


def normalize(dest: str) -> None:
    """Fix every mtime so that the layer depends on the wheels alone, not on the build's clock."""
    for root, dirs, files in os.walk(dest):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (FIXED_MTIME, FIXED_MTIME), follow_symlinks=False)
    os.utime(dest, (FIXED_MTIME, FIXED_MTIME))


def parse_args(argv: list) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG)
    parser.add_argument("--dest")
    parser.add_argument("--layer", nargs="+", action="append", default=[], metavar=("DEST", "WHEEL"))
    parser.add_argument("--scheme-json", required=True)
    parser.add_argument("--interpreter", required=True)
    parser.add_argument("--bytecode-cache", metavar="DIR", help="keep and reuse compiled modules in DIR")
    parser.add_argument("wheels", nargs="*")
    args = parser.parse_args(argv)
    if args.dest is not None:
        args.layer.insert(0, [args.dest, *args.wheels])
    elif args.wheels:
        parser.error("wheels given without --dest")
    if not args.layer or any(len(layer) < 2 for layer in args.layer):
        parser.error("each layer needs a dest and at least one wheel (--dest D W... or --layer D W...)")
    return args


def load_scheme(text: str) -> dict:
    scheme = json.loads(text)
    bad = [k for k in SCHEME_KEYS if not isinstance(scheme.get(k), str) or not scheme[k].startswith("/")]
    if bad:
        raise ValueError("the scheme needs absolute paths for {}".format(", ".join(bad)))
    return {k: os.path.normpath(scheme[k]) for k in SCHEME_KEYS}


def reexec_with_fixed_hash_seed() -> None:
    """Set constants (frozensets) are marshalled in hash order: compile with a fixed seed."""
    if os.environ.get("PYTHONHASHSEED") != "0" and sys.executable:
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def wheel_path(path: str) -> str:
    """`path`, or for a directory (a wheel built from an sdist) the one wheel it holds."""
    if not os.path.isdir(path):
        return path
    found = sorted(n for n in os.listdir(path) if n.endswith(".whl"))
    if len(found) != 1:
        raise ValueError("{} holds {} wheels, not one".format(path, len(found)))
    return os.path.join(path, found[0])


def run(args: argparse.Namespace) -> int:
    """Every wheel of every layer checked before anything is written; then each layer installed
    into its dest and its times fixed."""
    try:
        scheme = load_scheme(args.scheme_json)
        max_bytes = max_wheel_bytes()
        layers = [(dest, [wheel_path(w) for w in wheels]) for dest, *wheels in args.layer]
        _BYTECODE[:] = [bytecode_cache(args.bytecode_cache)] if args.bytecode_cache else []
        for _, wheels in layers:
            for wheel in wheels:
                check_entries(wheel, max_bytes)
    except UnsafeWheel as exc:
        print("{}: refusing {}".format(PROG, exc), file=sys.stderr)
        return 2
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        print("{}: {}: {}".format(PROG, type(exc).__name__, exc), file=sys.stderr)
        return 2
    return install_each(layers, scheme, args.interpreter)


def bytecode_cache(root: str):
    """A pyccache.BytecodeCache at `root` (pyccache.py is next to __main__.py in installer.pyz)."""
    try:
        from . import pyccache
    except ImportError:
        import pyccache
    return pyccache.BytecodeCache(root)


def install_each(layers: list, scheme: dict, interpreter: str) -> int:
    """Each (dest, wheels) layer installed, then its times fixed; 1 at the first wheel that fails."""
    cache = _BYTECODE[0] if _BYTECODE else None
    for dest, wheels in layers:
        os.makedirs(dest, exist_ok=True)
        for wheel in wheels:
            try:
                if cache:
                    cache.begin(os.path.basename(wheel).split("-")[0])
                install_wheel(wheel, scheme, interpreter, dest)
                if cache:
                    cache.end()
            except Exception as exc:  # noqa: BLE001 - report any failure with the wheel's name
                print("{}: cannot install {}: {}: {}".format(PROG, os.path.basename(wheel), type(exc).__name__,
                                                            exc), file=sys.stderr)
                return 1
        normalize(dest)
    if cache and cache.report():
        print("{}: {}".format(PROG, cache.report()), file=sys.stderr)
    return 0


def main(argv: list = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if sys.version_info < MIN_PYTHON:
        print("{}: needs Python {}.{}+, not {}".format(PROG, *MIN_PYTHON, sys.version.split()[0]), file=sys.stderr)
        return 1
    if argv is None:
        reexec_with_fixed_hash_seed()
    os.umask(0o022)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
