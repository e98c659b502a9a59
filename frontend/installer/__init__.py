"""The wheel installer that runs inside the build, shipped to it as a deterministic zipapp.

`installer_zipapp()` packs install.py as __main__ together with the pure-Python `installer`
package of this environment; its bytes are part of every package layer's cache key, so they must
not change from one build to the next.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _files() -> dict[str, bytes]:
    import installer

    files = {"__main__.py": (Path(__file__).parent / "install.py").read_bytes()}
    root = Path(installer.__file__).parent
    for path in sorted(root.rglob("*.py")):
        files[f"installer/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return files


@functools.lru_cache(maxsize=1)
def installer_zipapp() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name, data in sorted(_files().items()):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buf.getvalue()
