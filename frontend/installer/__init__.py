"""The wheel installer that runs inside the build, shipped to it as a deterministic zipapp.

`installer_zipapp()` packs install.py as __main__ (with wheelcheck.py and pyccache.py beside
it) together with the pure-Python `installer` package (pypa/installer) of this environment. Its
bytes are part of every package layer's cache key, so they depend on nothing but those sources
and the zlib of the frontend image: sorted entries, fixed times and modes, deflated at level 9.
Deflating matters: the bytes travel inside every layer's LLB definition, and BuildKit takes at
most 4 MiB of definitions in one Solve (stored, the installer alone made a 65-package step
exceed it).

pypa/installer 1.x declares Python >= 3.10 only because its annotations use `X | None`, which
3.9 evaluates at definition time; each vendored module therefore gets
`from __future__ import annotations`, which makes it run on Python 3.9 targets too.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
import zipfile
from pathlib import Path

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # ZipInfo.create_system


def _files() -> dict[str, bytes]:
    """__main__.py and installer/**/*.py without docstrings and comments (its Windows launchers
    and its command line, installer/__main__.py, are not needed)."""
    import installer

    here = Path(__file__).parent
    files = {"__main__.py": _slim((here / "install.py").read_bytes()),
             **{name: _slim((here / name).read_bytes()) for name in ("pyccache.py", "wheelcheck.py")}}
    root = Path(installer.__file__).parent
    for path in root.rglob("*.py"):
        name = path.relative_to(root).as_posix()
        if name != "__main__.py":
            files[f"installer/{name}"] = _slim(_lazy_annotations(path.read_bytes()))
    return files


def _slim(source: bytes) -> bytes:
    """The module with its docstrings and comments blanked, lines kept (tracebacks stay right).

    Every layer's definition carries the zipapp; BuildKit takes 4 MiB of definitions in a Solve."""
    lines = source.decode("utf-8").splitlines(keepends=True)
    blank = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) or len(body) < 2:
            continue
        doc = body[0]
        if (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)
                and not lines[doc.lineno - 1][:doc.col_offset].strip()
                and not lines[doc.end_lineno - 1][doc.end_col_offset:].strip()):
            blank.update(range(doc.lineno - 1, doc.end_lineno))
    for token in tokenize.tokenize(io.BytesIO(source).readline):
        if token.type == tokenize.COMMENT and not token.line[:token.start[1]].strip():
            blank.add(token.start[0] - 1)
    return "".join("\n" if i in blank else line for i, line in enumerate(lines)).encode("utf-8")


def _lazy_annotations(source: bytes) -> bytes:
    """The module with `from __future__ import annotations` after its docstring (if not there)."""
    tree = ast.parse(source)
    if any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
           and any(alias.name == "annotations" for alias in node.names) for node in tree.body):
        return source
    first = tree.body[0] if tree.body else None
    docstring = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                 and isinstance(first.value.value, str))
    lines = source.splitlines(keepends=True)
    at = first.end_lineno if docstring else 0
    return b"".join([*lines[:at], b"from __future__ import annotations\n", *lines[at:]])


@functools.lru_cache(maxsize=1)
def installer_zipapp() -> bytes:
    """The bytes of installer.pyz, identical for identical sources."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in sorted(_files().items()):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = _UNIX
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()
