"""Bytecode kept across install execs in a BuildKit cache mount (packed next to __main__.py).

Compiling is four fifths of installing a small pure-Python wheel (six wheels of 40-100 files:
240 of 300 ms). An install exec runs again whenever one layer of its group changes, installing
the group's other wheels again with the same sources; a new version of a package mostly ships
the same modules as the last one. So each module's .pyc bytes are kept, keyed by everything
they depend on: the interpreter (its version string, magic number, optimization level, hash
seed), the path the module is installed at (it is inside the code objects) and the source's
bytes. The same key gives the same bytes: a layer is byte-identical with or without the cache,
on this builder or a fresh one.

One file per project and interpreter: the entries of that project's last install, written to a
temporary name and renamed into place (execs share the mount: a reader sees a whole file, this
one or the one before), with a sha256 of its contents checked when it is read. A file that fails
the check, or any error reading or writing the cache, leaves the cache aside: the modules are
compiled as they would be without it. Kept to the syntax and stdlib of Python 3.8.
"""

import hashlib
import importlib.util
import marshal
import os
import re
import sys

HEADER = b"pylayers-bytecode-1\n"
DIGEST = 64  # hex sha256 of the entries, after HEADER and before a newline


def salt() -> bytes:
    """What the bytecode depends on besides the module's path and source."""
    parts = (HEADER, sys.version.encode("utf-8"), importlib.util.MAGIC_NUMBER, str(sys.flags.optimize).encode(),
             os.environ.get("PYTHONHASHSEED", "").encode("utf-8"))
    return hashlib.sha256(b"\0".join(parts)).digest()


class BytecodeCache:
    """Entries of one project at a time: begin(project), get/put per module, end(); report()."""

    def __init__(self, root: str) -> None:
        self.root, self.salt = root, salt()
        self.old, self.new, self.path = {}, {}, None
        self.served = self.compiled = 0  # modules, over every project of this process

    def begin(self, project: str) -> None:
        name = re.sub(r"[^a-z0-9]+", "-", project.lower()).strip("-") or "project"
        self.path = os.path.join(self.root, "{}-{}".format(self.salt.hex()[:16], name))
        self.old, self.new = read_entries(self.path), {}

    def key(self, final: str, source: bytes) -> bytes:
        path = final.encode("utf-8", "surrogateescape")
        return hashlib.sha256(self.salt + len(path).to_bytes(4, "little") + path + source).digest()

    def get(self, key: bytes):
        """The .pyc bytes under `key` (b"": the module does not compile), or None."""
        found = self.old.get(key)
        if found is not None:
            self.new[key] = found
            self.served += 1
        else:
            self.compiled += 1
        return found

    def put(self, key: bytes, data: bytes) -> None:
        self.new[key] = data

    def report(self) -> str:
        """What the build log shows when the cache served any module."""
        if not self.served:
            return ""
        return "bytecode of {} of {} modules from the cache".format(self.served, self.served + self.compiled)

    def end(self) -> None:
        """The project's entries written, unless they are what the file already holds."""
        path, entries, old = self.path, self.new, self.old
        self.path, self.old, self.new = None, {}, {}
        if path is None or not entries or entries == old:
            return
        payload = marshal.dumps(entries)
        temporary = "{}.{}-{}.tmp".format(path, os.getpid(), os.urandom(4).hex())
        try:
            os.makedirs(self.root, exist_ok=True)
            with open(temporary, "wb") as out:
                out.write(HEADER + hashlib.sha256(payload).hexdigest().encode("ascii") + b"\n" + payload)
            os.replace(temporary, path)
        except OSError:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def read_entries(path: str) -> dict:
    """The entries of a cache file; {} when there is none or it is not whole."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return {}
    start = len(HEADER) + DIGEST + 1
    if not data.startswith(HEADER) or data[start - 1:start] != b"\n":
        return {}
    payload = data[start:]
    if hashlib.sha256(payload).hexdigest().encode("ascii") != data[len(HEADER):start - 1]:
        return {}
    try:
        entries = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return {}
    if not isinstance(entries, dict):
        return {}
    return {k: v for k, v in entries.items() if isinstance(k, bytes) and isinstance(v, bytes)}
