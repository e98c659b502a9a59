"""The target interpreter: what the build stage's Python is, probed inside the stage itself.

PROBE_SCRIPT runs once (a cached, network-less exec) with the interpreter the install step would
use; it prints the PEP 508 marker environment, the libc, the ABI and the install scheme. Wheel
tags are computed here from that data with `packaging.tags`, never from the host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from packaging import tags as ptags

from .errors import FrontendError

PROBE_SCRIPT = r"""
import json, os, platform, sys, sysconfig
def fmt(info):
    v = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        v += info.releaselevel[0] + str(info.serial)
    return v
def libc():
    try:
        v = os.confstr("CS_GNU_LIBC_VERSION")
        if v and v.startswith("glibc "):
            return {"name": "glibc", "version": v.split()[1]}
    except (AttributeError, OSError, ValueError):
        pass
    import glob, subprocess
    for loader in glob.glob("/lib/ld-musl-*.so.1"):
        out = subprocess.run([loader], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL).stderr
        for line in out.decode("utf-8", "replace").splitlines():
            if line.startswith("Version "):
                return {"name": "musl", "version": line.split()[1]}
    return {"name": None, "version": None}
impl = sys.implementation.name
paths = sysconfig.get_paths()
in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
vx = "{0}.{1}".format(*sys.version_info)
headers = os.path.join(sys.prefix, "include", "site", "python" + vx) if in_venv else os.path.join(paths["include"], "")
print(json.dumps({
    "markers": {
        "implementation_name": impl,
        "implementation_version": fmt(sys.implementation.version),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
    "executable": sys.executable,
    "base_executable": os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable),
    "prefix": sys.prefix,
    "in_venv": in_venv,
    "version": list(sys.version_info[:2]),
    "soabi": sysconfig.get_config_var("SOABI") or "",
    "py_gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "py_debug": bool(sysconfig.get_config_var("Py_DEBUG")),
    "maxsize_64": sys.maxsize > 2 ** 32,
    "libc": libc(),
    "scheme": {"purelib": paths["purelib"], "platlib": paths["platlib"], "scripts": paths["scripts"],
               "data": paths["data"], "headers": headers.rstrip("/")},
}, sort_keys=True))
"""

SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")
_LINUX_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclass(frozen=True)
class TargetEnv:
    markers: Mapping[str, str]
    tags: tuple[str, ...]
    python_version: str
    python_full_version: str
    interpreter: str
    base_interpreter: str
    scheme: Mapping[str, str]
    libc: str
    prefix: str

    @classmethod
    def from_probe(cls, data: bytes) -> "TargetEnv":
        try:
            probe = json.loads(data)
            markers = {k: str(v) for k, v in probe["markers"].items()}
            scheme = {k: probe["scheme"][k] for k in SCHEME_KEYS}
            return cls(
                markers=MappingProxyType(markers), tags=wheel_tags(probe),
                python_version=markers["python_version"],
                python_full_version=markers["python_full_version"],
                interpreter=probe["executable"], base_interpreter=probe["base_executable"],
                scheme=MappingProxyType(scheme), libc=_libc_text(probe["libc"]), prefix=probe["prefix"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise FrontendError(f"the target probe printed invalid output ({exc!r}): {data[:200]!r}") from None

    def describe(self) -> str:
        impl = self.markers.get("platform_python_implementation", "Python")
        return f"{impl} {self.python_full_version}, {self.tags[0]} ({self.libc}), {self.prefix}"


def _libc_text(libc: Mapping) -> str:
    return f"{libc['name']} {libc['version']}" if libc.get("name") else "unknown libc"


def wheel_tags(probe: Mapping) -> tuple[str, ...]:
    """Supported wheel tags of the probed interpreter, most preferred first (as pip orders them)."""
    markers = probe["markers"]
    if markers["implementation_name"] != "cpython":
        raise FrontendError(f"pylayers supports CPython targets for now, not {markers['implementation_name']}")
    version = tuple(int(p) for p in probe["version"])
    platforms = _platforms(probe)
    abi = f"cp{version[0]}{version[1]}" + ("t" if probe.get("py_gil_disabled") else "")
    abi += "d" if probe.get("py_debug") and version < (3, 8) else ""
    found = list(ptags.cpython_tags(version, abis=[abi], platforms=platforms))
    found += list(ptags.compatible_tags(version, f"cp{version[0]}{version[1]}", platforms))
    return tuple(dict.fromkeys(str(t) for t in found))


def _platforms(probe: Mapping) -> list[str]:
    markers = probe["markers"]
    if markers["sys_platform"] != "linux":
        raise FrontendError(f"pylayers supports Linux targets, not {markers['sys_platform']}")
    arch = markers["platform_machine"]
    arch = _LINUX_ARCH.get(arch, arch)
    if arch == "x86_64" and not probe.get("maxsize_64", True):
        arch = "i686"
    libc = probe.get("libc") or {}
    if libc.get("name") == "glibc":
        return [*_manylinux(arch, libc["version"]), f"linux_{arch}"]
    if libc.get("name") == "musl":
        major, minor = (int(p) for p in libc["version"].split(".")[:2])
        return [*(f"musllinux_{major}_{m}_{arch}" for m in range(minor, -1, -1)), f"linux_{arch}"]
    return [f"linux_{arch}"]


_LEGACY = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


def _manylinux(arch: str, version: str) -> list[str]:
    major, minor = (int(p) for p in version.split(".")[:2])
    floor = 17 if arch not in ("x86_64", "i686") else 5
    out = []
    for m in range(minor, floor - 1, -1):
        out.append(f"manylinux_{major}_{m}_{arch}")
        legacy = _LEGACY.get((major, m))
        if legacy and (legacy == "manylinux2014" or arch in ("x86_64", "i686")):
            out.append(f"{legacy}_{arch}")
    return out
