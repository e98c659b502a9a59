"""Distributions the stage already has that an install step replaces (pip in a venv, say).

pip uninstalls the installed version of a project before it installs the pinned one, so the
image holds one version. Package layers are built on scratch and stacked, so the old files would
stay under (or beside) the new ones: the rewrite puts one RUN before the step's COPY lines that
does what pip's uninstall does: it removes every file the old .dist-info/RECORD lists (and its
bytecode), the .dist-info itself and the directories that become empty. Its text depends only
on the replaced .dist-info paths, so it stays cached while the stage before it does.

Limit: only .dist-info distributions in the target's purelib/platlib are seen (pip would also
remove .egg-info ones with installed-files.txt).
"""

from __future__ import annotations

import json
from typing import Sequence

from .resolve.wheels import PackageChoice
from .target import InstalledDist

UNINSTALL_SCRIPT = r"""
import csv, os, shutil, sys
for info in sys.argv[1:]:
    site = os.path.dirname(info)
    dirs = set()
    try:
        with open(os.path.join(info, "RECORD"), newline="") as f:
            rows = [row[0] for row in csv.reader(f) if row]
    except OSError:
        rows = []
    for rel in rows:
        path = os.path.normpath(os.path.join(site, rel))
        stem, ext = os.path.splitext(path)
        cache = os.path.join(os.path.dirname(path), "__pycache__")
        victims = [path]
        if ext == ".py" and os.path.isdir(cache):
            prefix = os.path.basename(stem) + "." + sys.implementation.cache_tag + "."
            victims += [os.path.join(cache, n) for n in os.listdir(cache)
                        if n.startswith(prefix) and n.endswith(".pyc")]
        for victim in victims:
            if os.path.isfile(victim) or os.path.islink(victim):
                os.remove(victim)
                dirs.add(os.path.dirname(victim))
    shutil.rmtree(info, ignore_errors=True)
    for d in sorted(dirs, key=len, reverse=True):
        while d.startswith(site + os.sep) and os.path.isdir(d) and not os.listdir(d):
            os.rmdir(d)
            d = os.path.dirname(d)
    print("pylayers: removed " + os.path.basename(info) + " (" + str(len(rows)) + " files)")
"""


def replaced(installed: Sequence[InstalledDist], packages: Sequence[PackageChoice]) -> tuple[InstalledDist, ...]:
    """The installed distributions that a package of the step replaces (any version)."""
    names = {p.name for p in packages}
    return tuple(d for d in installed if d.name in names)


def removal_run(interpreter: str, dists: Sequence[InstalledDist]) -> str | None:
    """The RUN instruction (exec form: no shell needed) that uninstalls `dists`; None if none."""
    if not dists:
        return None
    argv = [interpreter, "-c", UNINSTALL_SCRIPT, *sorted(d.path for d in dists)]
    return "RUN " + json.dumps(argv)
