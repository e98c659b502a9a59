"""The target interpreter: what the build stage's Python is, probed inside the stage itself.

PROBE_SCRIPT runs once (a cached, network-less exec) with the interpreter the install step would
use; it prints the PEP 508 marker environment, the libc, the ABI and the install scheme. Wheel
tags are computed here from that data with `packaging.tags` the way `packaging.tags.sys_tags()`
would compute them inside the target, never from the host.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from packaging import tags as ptags
from packaging.utils import canonicalize_name

from .errors import FrontendError

# Stdlib only, CPython 3.8+ and PyPy. Mirrors packaging.markers.default_environment() and the
# host-dependent inputs of packaging.tags.sys_tags() (libc from confstr / the ELF interpreter).
PROBE_SCRIPT = r"""
import json, os, platform, struct, sys, sysconfig
def fmt(info):
    v = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        v += info.releaselevel[0] + str(info.serial)
    return v
def elf(path):
    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                return None
            e = "<" if ident[5] == 1 else ">"
            head = struct.unpack(e + ("HHIIIIIHHHHHH" if ident[4] == 1 else "HHIQQQIHHHHHH"),
                                 f.read(36 if ident[4] == 1 else 48))
            interp = None
            for i in range(head[9]):
                f.seek(head[4] + i * head[8])
                if ident[4] == 1:
                    p_type, p_offset, _, _, p_filesz = struct.unpack(e + "IIIII", f.read(20))
                else:
                    p_type, _, p_offset, _, _, p_filesz = struct.unpack(e + "IIQQQQ", f.read(40))
                if p_type == 3:
                    f.seek(p_offset)
                    interp = f.read(p_filesz).rstrip(b"\0").decode("utf-8", "replace")
            return {"class": ident[4], "data": ident[5], "machine": head[1], "flags": head[6],
                    "interpreter": interp}
    except (OSError, ValueError, struct.error):
        return None
def glibc():
    try:
        v = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        v = None
    if not v:
        try:
            import ctypes
            f = ctypes.CDLL(None).gnu_get_libc_version
            f.restype = ctypes.c_char_p
            v = "glibc " + f().decode("ascii")
        except Exception:
            v = None
    return v.split()[1] if v and v.startswith("glibc ") and len(v.split()) == 2 else None
def musl(info):
    ld = info and info["interpreter"]
    if not ld or "musl" not in ld:
        return None
    import subprocess
    try:
        err = subprocess.run([ld], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).stderr
    except OSError:
        return None
    lines = [x.strip() for x in err.decode("utf-8", "replace").splitlines() if x.strip()]
    if len(lines) < 2 or lines[0][:4] != "musl" or not lines[1].startswith("Version "):
        return None
    return lines[1].split()[1]
def installed(roots):
    # the dist-info distributions of the scheme's site directories: what an install step replaces
    found = []
    try:
        from importlib import metadata
    except ImportError:
        return found
    for dist in metadata.distributions(path=roots):
        where = str(getattr(dist, "_path", ""))
        name = dist.metadata["Name"] if dist.metadata else None
        if name and where.endswith(".dist-info"):
            found.append({"name": name, "version": dist.version, "path": os.path.realpath(where)})
    return sorted(found, key=lambda d: d["path"])
info = elf(sys.executable)
gv = glibc()
mv = None if gv else musl(info)
cv = sysconfig.get_config_var
paths = sysconfig.get_paths()
in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")
xy = "{0}.{1}".format(*sys.version_info)
debug = cv("Py_DEBUG")
print(json.dumps({
    "implementation_name": sys.implementation.name,
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
    "version_info": list(sys.version_info[:2]),
    "py_version_nodot": str(cv("py_version_nodot") or ""),
    "executable": sys.executable,
    "base_executable": os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable),
    "prefix": sys.prefix,
    "base_prefix": getattr(sys, "base_prefix", sys.prefix),
    "in_venv": in_venv,
    "installed": installed(sorted({paths["purelib"], paths["platlib"]})),
    "platform": sysconfig.get_platform(),
    "soabi": cv("SOABI"),
    "ext_suffix": cv("EXT_SUFFIX"),
    "py_debug": bool(debug or (debug is None and hasattr(sys, "gettotalrefcount"))),
    "py_gil_disabled": bool(cv("Py_GIL_DISABLED")),
    "libc": {"name": "glibc", "version": gv} if gv else {"name": "musl" if mv else None, "version": mv},
    "elf": info,
    "machine": platform.machine(),
    "byteorder": sys.byteorder,
    "maxsize_64": sys.maxsize > 2 ** 32,
    "scheme": {"purelib": paths["purelib"], "platlib": paths["platlib"], "scripts": paths["scripts"],
               "data": paths["data"],
               "headers": os.path.join(sys.prefix, "include", "site", "python" + xy) if in_venv
               else paths["include"]},
}, sort_keys=True))
"""

SCHEME_KEYS = ("purelib", "platlib", "headers", "scripts", "data")
MARKER_KEYS = ("implementation_name", "implementation_version", "os_name", "platform_machine",
               "platform_release", "platform_system", "platform_version", "python_full_version",
               "platform_python_implementation", "python_version", "sys_platform")
MIN_PYTHON = (3, 9)  # the oldest target the in-build installer (pypa/installer) runs on
_MANYLINUX_ARCHS = {"x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"}
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


@dataclass(frozen=True)
class InstalledDist:
    """A distribution already in the target's site directories (from its .dist-info)."""

    name: str  # canonical
    version: str
    path: str  # the .dist-info directory, absolute


@dataclass(frozen=True)
class TargetEnv:
    """The probed target: marker environment, supported wheel tags (best first), install scheme.

    `scheme["headers"]` is the include directory *without* the distribution name: the installer
    appends each wheel's project name, as pip does.
    """

    markers: Mapping[str, str]
    tags: tuple[str, ...]
    python_version: str
    python_full_version: str
    interpreter: str  # sys.executable of the target: the shebang of console scripts
    base_interpreter: str  # the real base executable: runs the installer
    scheme: Mapping[str, str]
    libc: str
    prefix: str
    installed: tuple[InstalledDist, ...] = ()

    @classmethod
    def from_probe(cls, data: bytes) -> "TargetEnv":
        try:
            probe = json.loads(data)
            markers = {k: str(probe[k]) for k in MARKER_KEYS}
            scheme = {k: str(probe["scheme"][k]) for k in SCHEME_KEYS}
            return cls(
                markers=MappingProxyType(markers), tags=wheel_tags(probe),
                python_version=markers["python_version"], python_full_version=markers["python_full_version"],
                interpreter=str(probe["executable"]), base_interpreter=str(probe["base_executable"]),
                scheme=MappingProxyType(scheme), libc=_libc_text(probe["libc"]), prefix=str(probe["prefix"]),
                installed=tuple(InstalledDist(canonicalize_name(str(d["name"])), str(d["version"]), str(d["path"]))
                                for d in probe.get("installed") or ()),
            )
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            raise FrontendError(f"the target probe printed invalid output ({type(exc).__name__}: {exc}): "
                                f"{data[:300]!r}") from None

    def describe(self) -> str:
        """E.g. "CPython 3.13.5, manylinux_2_41_x86_64 (glibc 2.41), /opt/venv"."""
        impl = self.markers.get("platform_python_implementation", "Python")
        platform = self.tags[0].split("-", 2)[2] if self.tags else "no wheel tags"
        return f"{impl} {self.python_full_version}, {platform} ({self.libc}), {self.prefix}"

    def key(self) -> str:
        """A digest of everything that decides what gets installed and how."""
        data = {"markers": dict(self.markers), "tags": self.tags, "scheme": dict(self.scheme),
                "interpreter": self.interpreter, "base_interpreter": self.base_interpreter}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _libc_text(libc: Mapping[str, Any]) -> str:
    return f"{libc['name']} {libc['version']}" if libc.get("name") else "unknown libc"


def wheel_tags(probe: Mapping[str, Any]) -> tuple[str, ...]:
    """Supported wheel tags of the probed interpreter, best first: packaging's sys_tags() order."""
    version = tuple(int(p) for p in probe["version_info"][:2])
    if version < MIN_PYTHON:
        raise FrontendError(f"the target runs Python {probe['python_full_version']}; pylayers installs into "
                            f"Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer")
    name = probe["implementation_name"]
    short = ptags.INTERPRETER_SHORT_NAMES.get(name) or name
    nodot = probe.get("py_version_nodot") or f"{version[0]}{version[1]}"
    platforms = platform_tags(probe)
    if short == "cp":
        found = list(ptags.cpython_tags(version, abis=_cpython_abis(probe, version), platforms=platforms))
    else:
        found = list(ptags.generic_tags(f"{short}{nodot}", _generic_abis(probe), platforms))
    compat = {"cp": f"cp{nodot}", "pp": "pp3"}.get(short)
    found += ptags.compatible_tags(version, compat, platforms)
    return tuple(dict.fromkeys(str(t) for t in found))


def _cpython_abis(probe: Mapping[str, Any], version: tuple[int, ...]) -> list[str]:
    """packaging.tags._cpython_abis for CPython 3.8+ (no pymalloc/ucs4 flags any more)."""
    base = f"cp{version[0]}{version[1]}" + ("t" if version >= (3, 13) and probe.get("py_gil_disabled") else "")
    return [base + "d", base] if probe.get("py_debug") else [base]


def _generic_abis(probe: Mapping[str, Any]) -> list[str]:
    """packaging.tags._generic_abi: the ABI named by EXT_SUFFIX (PyPy: '.pypy310-pp73-…' → pypy310_pp73)."""
    parts = str(probe.get("ext_suffix") or "").split(".")
    soabi = parts[1] if len(parts) >= 3 else ""
    if soabi.startswith("cpython"):
        abi = "cp" + soabi.split("-")[1]
    elif soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    else:
        abi = soabi
    return [_normalize(abi)] if abi else []


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def platform_tags(probe: Mapping[str, Any]) -> list[str]:
    """packaging.tags._linux_platforms, fed with the target's platform, libc and ELF header."""
    linux = _normalize(str(probe["platform"]))
    if not linux.startswith("linux_"):
        raise FrontendError(f"pylayers supports Linux targets only, not {probe['platform']!r}")
    if not probe.get("maxsize_64", True):
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = ["armv8l", "armv7l"] if arch == "armv8l" else [arch]
    libc = probe.get("libc") or {}
    found = []
    if libc.get("name") == "glibc" and _have_compatible_abi(probe.get("elf"), archs):
        found += _manylinux(archs, _major_minor(libc.get("version")))
    if libc.get("name") == "musl":
        musl = _major_minor(libc.get("version"))
        found += [f"musllinux_{musl[0]}_{m}_{a}" for a in archs for m in range(musl[1], -1, -1)] if musl else []
    return found + [f"linux_{a}" for a in archs]


def _major_minor(version: Any) -> tuple[int, int] | None:
    match = re.match(r"([0-9]+)\.([0-9]+)", str(version or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def _have_compatible_abi(elf: Mapping[str, Any] | None, archs: list[str]) -> bool:
    """packaging's _manylinux._have_compatible_abi, on the probed ELF header of sys.executable."""
    elf = elf or {}
    little32 = elf.get("class") == 1 and elf.get("data") == 1
    if "armv7l" in archs:  # EM_ARM, EABI version 5, hard-float ABI
        flags = int(elf.get("flags") or 0)
        return little32 and elf.get("machine") == 40 and flags & 0xFF000000 == 0x05000000 and bool(flags & 0x400)
    if "i686" in archs:  # EM_386
        return little32 and elf.get("machine") == 3
    return any(a in _MANYLINUX_ARCHS for a in archs)


def _manylinux(archs: list[str], glibc: tuple[int, int] | None) -> list[str]:
    """packaging's _manylinux.platform_tags for a glibc version: manylinux_X_Y down to 2_17 (2_5 on x86)."""
    if glibc is None or glibc[0] < 2:
        return []
    floor = (2, 5) if set(archs) & {"x86_64", "i686"} else (2, 17)
    maxima = [glibc] + [(major, 50) for major in range(glibc[0] - 1, 1, -1)]
    found = []
    for arch in archs:
        for major, top in maxima:
            low = floor[1] if major == floor[0] else 0
            for minor in range(top, low - 1, -1):
                found.append(f"manylinux_{major}_{minor}_{arch}")
                if (major, minor) in _LEGACY_MANYLINUX:
                    found.append(f"{_LEGACY_MANYLINUX[major, minor]}_{arch}")
    return found
