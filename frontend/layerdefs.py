"""LLB for the two kinds of exec pylayers adds: the target probe and one install per layer.

A package layer is built on scratch: the wheel (an http source pinned by its sha256) and our
installer (a zipapp written by a FileOp) are mounted read-only into the stage's base image, which
runs with no network and writes only into an empty /out mount. Its cache key is therefore made of
the base image, the wheel digest, the installer bytes and the target scheme: never of the
requirements file or anything else in the build context.
"""

from __future__ import annotations

import json
from typing import Sequence

from . import llb, overlaps
from .downloads import INSTALL_ENV, Fetch, HttpDownloads
from .installer import installer_zipapp
from .plan import Layer
from .resolve.index import redact_url
from .resolve.wheels import LOCAL_TAG, SOURCE_TAG, PackageChoice
from .target import PROBE_SCRIPT, TargetEnv

PROBE_DIR = "/pylayers-probe"
PROBE_FILE = "probe.json"
OVERLAP_DIR = "/pylayers-overlaps"

# Finds the interpreter the install step would use: `python… -m pip` names it; a `pip` script
# names it in its shebang (`#!/usr/bin/env python3` included). Then runs the probe with it.
_PROBE_SH = r"""
exe=$(command -v "$1") || { echo "pylayers: $1 is not on the PATH of the build stage" >&2; exit 127; }
py=$exe
if [ "$2" = pip ]; then
  set -- $(sed -n '1s/^#![[:space:]]*//p' "$exe")
  py=${1:-python3}
  case "$py" in */env) py=$(command -v "${2:-python3}") ;; esac
  [ -x "$py" ] || py=$(command -v python3)
fi
exec "$py" -c "$PYLAYERS_PROBE" > "$PYLAYERS_OUT"
"""


def probe_state(stage: "llb.State", env: tuple[str, ...], workdir: str, executable: str, kind: str,
                extra_mounts: tuple = ()):
    """The probe's output directory: PROBE_FILE holds the target's JSON description."""
    run = stage.run(
        args=("/bin/sh", "-c", _PROBE_SH, "pylayers-probe", executable, kind),
        env=(*env, f"PYLAYERS_PROBE={PROBE_SCRIPT}", f"PYLAYERS_OUT={PROBE_DIR}/{PROBE_FILE}"),
        cwd=workdir or "/",
        network="none",
        mounts=(llb.Mount(PROBE_DIR, llb.scratch()), *extra_mounts),
        name=f"pylayers: probe the target interpreter ({executable})",
    )
    return run.mount_output(PROBE_DIR)


# A new environment for `uv sync` / `poetry install`, made by the stage's python3 without network;
# mtimes fixed as in package layers, so that the layer depends only on the interpreter and path.
_VENV_SH = r"""
python3 -m venv --without-pip "$1" && find "$1" -exec touch -h -d @315532800 {} +
"""


def venv_state(base: "llb.State", path: str, env: tuple[str, ...]):
    """A layer holding only a new virtual environment at `path` (the content, at `path`)."""
    paths = tuple(e for e in env if e.startswith("PATH="))
    run = base.run(args=("/bin/sh", "-c", _VENV_SH, "pylayers-venv", path), env=paths or INSTALL_ENV[:1],
                   cwd="/", network="none", mounts=(llb.Mount(path, llb.scratch()),),
                   name=f"pylayers: create the environment {path}")
    return run.mount_output(path)


def at_path(state: "llb.State", path: str):
    """`state`'s content placed at `path` of an empty filesystem."""
    return llb.scratch().copy(state, "/", path, name=f"pylayers: place the environment at {path}")


# The project itself (uv sync / poetry install): a wheel built from the stage's copy of the project
# by pip (or uv) with build isolation, so with network for the build backend.
_PROJECT_SH = r"""
for py in python3 python; do
  if "$py" -m pip --version >/dev/null 2>&1; then
    exec "$py" -m pip wheel --no-deps --disable-pip-version-check --no-cache-dir -w /pylayers-wheel "$1"
  fi
done
if command -v uv >/dev/null 2>&1; then exec uv build --wheel --out-dir /pylayers-wheel "$1"; fi
echo "pylayers: neither pip nor uv in the build stage to build the project in $1" >&2
exit 1
"""


def project_wheel_state(stage: "llb.State", env: tuple[str, ...], project_dir: str, name: str):
    """A directory holding the one wheel built from the project at `project_dir` of the stage."""
    run = stage.run(args=("/bin/sh", "-c", _PROJECT_SH, "pylayers-project", project_dir), env=env,
                    cwd=project_dir, mounts=(llb.Mount("/pylayers-wheel", llb.scratch()),),
                    name=f"pylayers: build the project {name} ({project_dir})")
    return run.mount_output("/pylayers-wheel")


def project_layer_state(base: "llb.State", wheel_dir: "llb.State", target: TargetEnv, label: str,
                        bytecode_cache: bool = True):
    """The project's layer: its wheel (whatever its file name) installed like a package's."""
    args = ("/bin/sh", "-c", 'exec "$@" /wheels/project/*.whl', "pylayers-install",
            *_installer_args(target, bytecode_cache=bytecode_cache))
    (layer,) = _install_exec(base, target, ("/out",), (llb.Mount("/wheels/project", wheel_dir, readonly=True),),
                             args, f"pylayers {label} (project)")
    return layer


def _install_exec(base: "llb.State", target: TargetEnv, outs: Sequence[str], wheels: Sequence["llb.Mount"],
                  args: Sequence[str], name: str) -> tuple["llb.State", ...]:
    """An exec of the installer on `base`, without network, read-only but for an empty mount at
    each of `outs` (and the bytecode cache when `args` ask the installer for it): their states,
    in that order."""
    cache = (llb.Mount(BYTECODE_DIR, cache_id=BYTECODE_CACHE),) if "--bytecode-cache" in args else ()
    mounts = (*(llb.Mount(out, llb.scratch()) for out in outs),
              llb.Mount("/pylayers", installer_state(base, target.base_interpreter), readonly=True),
              *cache, *wheels)
    run = base.run(args=args, env=INSTALL_ENV, cwd="/", network="none", readonly_root=True, mounts=mounts,
                   name=name)
    return tuple(run.mount_output(out) for out in outs)


# Compiled modules kept across builds (installer/pyccache.py): a group's exec that runs again for
# one changed layer takes the other layers' bytecode from there (the same bytes as compiling).
# A BuildKit cache mount: never part of a cache key or an output; a fresh builder has it empty.
# Like any cache mount (pip's, uv's) it is shared by every build of the builder under its id:
# PYLAYERS_BYTECODE_CACHE=0 turns it off where builds that are not trusted share a builder.
BYTECODE_DIR = "/pylayers-bytecode"
BYTECODE_CACHE = "pylayers-bytecode"


def _installer_args(target: TargetEnv, dest: str | None = "/out", bytecode_cache: bool = True) -> tuple[str, ...]:
    return (target.base_interpreter, "/pylayers", *(("--dest", dest) if dest else ()),
            "--scheme-json", json.dumps(dict(target.scheme), sort_keys=True),
            "--interpreter", target.interpreter, *(("--bytecode-cache", BYTECODE_DIR) if bytecode_cache else ()))


# The zipapp unpacked and its modules compiled by the FROM image's Python (hash-based .pyc naming
# the files where layers mount them, fixed times: the same bytes on every run), once per image and
# installer: zipimport keeps no bytecode, and compiling the installer cost each layer's exec
# 30-40 ms of its ~110 (a small wheel).
COMPILE_INSTALLER = r"""
import compileall, os, py_compile, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
zipfile.ZipFile(src).extractall(out)
if not compileall.compile_dir(out, ddir="/pylayers", quiet=1,
                              invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH):
    sys.exit(1)
for root, dirs, files in os.walk(out):
    for name in dirs + files:
        os.utime(os.path.join(root, name), (315532800, 315532800))
os.utime(out, (315532800, 315532800))
"""


def installer_state(base: "llb.State", python: str):
    """A directory to run with `python`: the installer, compiled by that Python of `base`."""
    zipapp = llb.scratch().mkfile("/installer.pyz", installer_zipapp(), mode=0o644)
    run = base.run(args=(python, "-c", COMPILE_INSTALLER, "/pylayers-src/installer.pyz", "/out"), env=INSTALL_ENV,
                   cwd="/", network="none", readonly_root=True,
                   mounts=(llb.Mount("/out", llb.scratch()), llb.Mount("/pylayers-src", zipapp, readonly=True)),
                   name="pylayers: the installer, compiled by the image's Python")
    return run.mount_output("/out")


# A wheel built from an sdist by the stage's pip, with build isolation (the backend's requirements
# come from the network); then the wheel's METADATA copied out for the resolver.
_SDIST_SH = r"""
for py in python3 python; do
  if "$py" -m pip --version >/dev/null 2>&1; then
    { "$py" -m pip wheel --no-deps --disable-pip-version-check --no-cache-dir --no-input \
        -w /pylayers-wheel "$1"; echo $? > /tmp/pylayers-status; } 2>&1 | tee /tmp/pylayers-build.log
    if [ "$(cat /tmp/pylayers-status)" != 0 ]; then
      echo "pylayers: building $2 from $(basename "$1") failed; the errors in its output:" >&2
      grep -i -E "error|fatal|undefined reference|not found" /tmp/pylayers-build.log | grep -v -E \
        "subprocess-exited-with-error|Failed building wheel|Failed to build|one or more wheels|originates from a subprocess|finished with status" | tail -n 8 >&2
      exit 1
    fi
    exec "$py" -c "$PYLAYERS_METADATA" /pylayers-wheel /pylayers-metadata/METADATA
  fi
done
echo "pylayers: no pip in the build stage to build $2 from $(basename "$1")" >&2
exit 1
"""
_METADATA_PY = r"""
import os, sys, zipfile
wheels = [n for n in os.listdir(sys.argv[1]) if n.endswith(".whl")]
if len(wheels) != 1:
    sys.exit("pylayers: the build made %d wheels, not one: %s" % (len(wheels), wheels))
with zipfile.ZipFile(os.path.join(sys.argv[1], wheels[0])) as zf:
    names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(names) != 1:
        sys.exit("pylayers: %s has no single .dist-info/METADATA" % wheels[0])
    with open(sys.argv[2], "wb") as out:
        out.write(zf.read(names[0]))
print("pylayers: built " + wheels[0])
"""
SDIST_METADATA = "/METADATA"  # in sdist_build's metadata state


def sdist_build(env_state: "llb.State", env: tuple[str, ...], pkg: PackageChoice, downloads=None,
                network: str | None = None) -> tuple["llb.State", "llb.State"]:
    """(the directory holding the wheel built from `pkg`'s sdist, the directory holding its METADATA).

    One exec, so that the resolver's METADATA and the layer's wheel come from one build.
    """
    downloads = downloads or HttpDownloads()
    sdist = downloads.file(Fetch(pkg.url, pkg.filename, f"sha256:{pkg.sha256}",
                                 f"pylayers: sdist of {pkg.name} {pkg.version} from {redact_url(pkg.url)}"))
    return _build(env_state, env, llb.Mount("/pylayers-sdist", sdist, readonly=True),
                  f"/pylayers-sdist/{pkg.filename}", f"{pkg.name} {pkg.version}",
                  f"pylayers: build {pkg.name} {pkg.version} from {pkg.filename}", network)


LOCAL_SOURCE = "/pylayers-src"


def local_build(env_state: "llb.State", env: tuple[str, ...], stage: "llb.State", path: str,
                network: str | None = None) -> tuple["llb.State", "llb.State"]:
    """(wheel directory, METADATA directory) of the project at `path` of `stage` (a local package).

    Only that directory is copied out of the stage: BuildKit keys the copy by its content, so the
    build reruns when the project's files change, not when the rest of the stage does.
    """
    source = llb.scratch().copy(stage, path, "/", name=f"pylayers: the local package at {path}")
    return _build(env_state, env, llb.Mount(LOCAL_SOURCE, source), LOCAL_SOURCE, path,
                  f"pylayers: build the local package at {path}", network)


def _build(env_state: "llb.State", env: tuple[str, ...], source: "llb.Mount", target: str, label: str,
           name: str, network: str | None) -> tuple["llb.State", "llb.State"]:
    """One exec, so that the resolver's METADATA and the layer's wheel come from one build."""
    mounts = (source, llb.Mount("/pylayers-wheel", llb.scratch()), llb.Mount("/pylayers-metadata", llb.scratch()))
    run = env_state.run(args=("/bin/sh", "-c", _SDIST_SH, "pylayers-build", target, label),
                        env=(*env, f"PYLAYERS_METADATA={_METADATA_PY}"), cwd="/", network=network,
                        mounts=mounts, name=name)
    return run.mount_output("/pylayers-wheel"), run.mount_output("/pylayers-metadata")


def wheel_mounts(packages: Sequence[PackageChoice], downloads=None, sdists=None) -> tuple[list, list[str]]:
    """Each wheel (a download pinned by its sha256) mounted at /wheels/<i>; their paths. An sdist's
    wheel is built by `sdists.wheel_dir(pkg)`, and its path is that directory."""
    downloads = downloads or HttpDownloads()
    mounts, paths = [], []
    for i, pkg in enumerate(packages):
        if pkg.sdist or pkg.local:
            if sdists is None:
                raise ValueError(f"{pkg.filename}: an sdist, and no builder for it")
            mounts.append(llb.Mount(f"/wheels/{i}", sdists.wheel_dir(pkg), readonly=True))
            paths.append(f"/wheels/{i}")
            continue
        # The vertex name is what BuildKit shows above a failed download (a wrong body: "digest
        # mismatch"), so it names the package and the URL.
        whl = downloads.file(wheel_fetch(pkg))
        mounts.append(llb.Mount(f"/wheels/{i}", whl, readonly=True))
        paths.append(f"/wheels/{i}/{pkg.filename}")
    return mounts, paths


def wheel_fetch(pkg: PackageChoice) -> Fetch:
    """The download of `pkg`'s wheel, pinned by its sha256, under the file name the installer reads."""
    return Fetch(pkg.url, pkg.filename, f"sha256:{pkg.sha256}",
                 f"pylayers: wheel of {pkg.name} {pkg.version} from {redact_url(pkg.url)}")


def overlap_state(base: "llb.State", packages: Sequence[PackageChoice], target: TargetEnv, downloads=None,
                  sdists=None):
    """An exec that lists the paths two of the wheels would both install (overlaps.SCRIPT)."""
    mounts, paths = wheel_mounts(packages, downloads, sdists)
    args = (target.base_interpreter, "-c", overlaps.SCRIPT, json.dumps(dict(target.scheme), sort_keys=True),
            f"{OVERLAP_DIR}/{overlaps.RESULT_FILE}", *(f"{p.name}={w}" for p, w in zip(packages, paths)))
    run = base.run(args=args, env=INSTALL_ENV, cwd="/", network="none", readonly_root=True,
                   mounts=(llb.Mount(OVERLAP_DIR, llb.scratch()), *mounts),
                   name=f"pylayers: check {len(packages)} wheels for files they both install")
    return run.mount_output(OVERLAP_DIR)


def layer_state(base: "llb.State", layer: Layer, target: TargetEnv, step: str, downloads=None, sdists=None,
                bytecode_cache: bool = True):
    """The state of one package layer: only the files the wheel(s) install."""
    wheel_list, wheels = wheel_mounts(layer.packages, downloads, sdists)
    (state,) = _install_exec(base, target, ("/out",), wheel_list,
                             (*_installer_args(target, bytecode_cache=bytecode_cache), *wheels),
                             f"pylayers {step} {layer.label} ({_tags(layer)})")
    return state


def group_states(base: "llb.State", layers: Sequence[Layer], target: TargetEnv, steps: Sequence[str],
                 downloads=None, sdists=None, bytecode_cache: bool = True) -> tuple["llb.State", ...]:
    """The states of `layers` installed by one exec, each into its own output (/out/<k>): the
    same files as layer_state gives each. One layer: layer_state itself (the same LLB)."""
    if len(layers) == 1:
        return (layer_state(base, layers[0], target, steps[0], downloads, sdists, bytecode_cache),)
    wheel_list, wheels = wheel_mounts([p for layer in layers for p in layer.packages], downloads, sdists)
    outs = [f"/out/{k}" for k in range(len(layers))]
    args, taken = list(_installer_args(target, dest=None, bytecode_cache=bytecode_cache)), iter(wheels)
    for out, layer in zip(outs, layers):
        args += ["--layer", out, *(next(taken) for _ in layer.packages)]
    name = f"pylayers {'; '.join(f'{s} {layer.label}' for s, layer in zip(steps, layers))} (one exec, a layer each)"
    return _install_exec(base, target, outs, wheel_list, args, name)


def _tags(layer: Layer) -> str:
    """"cp313 manylinux_2_28_x86_64" for a binary wheel, "py3 any" for a pure one."""
    shown = []
    for tag in sorted({p.tag for p in layer.packages}):
        if tag == SOURCE_TAG:
            shown.append("built from its sdist")
            continue
        if tag == LOCAL_TAG:
            shown.append("built from " + ", ".join(p.local for p in layer.packages if p.local))
            continue
        interpreter, _, platform = tag.split("-", 2)
        shown.append(f"{interpreter} {platform}")
    return ", ".join(shown)
