"""Target description from the probe: tags computed from probe data match packaging's own logic."""

import io
import json
import os
import subprocess
import sys
from functools import lru_cache

import pytest
from packaging import tags
from packaging.markers import default_environment

from frontend.errors import FrontendError
from frontend.target import PROBE_SCRIPT, TargetEnv


@lru_cache(maxsize=None)
def _probe_text(python: str = sys.executable) -> bytes:
    return subprocess.run([python, "-c", PROBE_SCRIPT], capture_output=True, check=True).stdout


def _host_probe() -> dict:
    return json.loads(_probe_text())


def _synthetic(**changes) -> bytes:
    """A CPython 3.13.5 glibc 2.36 x86_64 probe, with `changes` applied."""
    probe = _host_probe()
    probe.update(version_info=[3, 13], py_version_nodot="313", python_version="3.13",
                 python_full_version="3.13.5", implementation_version="3.13.5", platform="linux-x86_64",
                 libc={"name": "glibc", "version": "2.36"}, prefix="/opt/venv",
                 elf={"class": 2, "data": 1, "machine": 62, "flags": 0, "interpreter": "/lib64/ld-linux-x86-64.so.2"},
                 py_debug=False, py_gil_disabled=False, maxsize_64=True)
    probe.update(changes)
    return json.dumps(probe).encode()


def test_tags_from_a_probe_of_this_host_equal_packaging_sys_tags():
    target = TargetEnv.from_probe(_probe_text())
    expected = [str(t) for t in tags.sys_tags()]
    assert list(target.tags[:30]) == expected[:30]
    assert list(target.tags) == expected


def test_markers_equal_packaging_default_environment():
    target = TargetEnv.from_probe(_probe_text())
    assert dict(target.markers) == default_environment()
    assert target.python_version == default_environment()["python_version"]
    assert target.python_full_version == default_environment()["python_full_version"]


def test_plain_interpreter_scheme_and_interpreters():
    target = TargetEnv.from_probe(_probe_text())
    assert target.interpreter == sys.executable
    assert target.base_interpreter == os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    assert set(target.scheme) == {"purelib", "platlib", "headers", "scripts", "data"}
    assert all(os.path.isabs(p) for p in target.scheme.values())


def test_venv_scheme_and_interpreters(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    probe = json.loads(_probe_text(str(venv / "bin" / "python")))
    target = TargetEnv.from_probe(json.dumps(probe).encode())
    xy = "python{}.{}".format(*sys.version_info[:2])
    assert probe["in_venv"] and target.prefix == str(venv)
    assert target.interpreter == str(venv / "bin" / "python")
    assert target.base_interpreter == os.path.realpath(sys.executable)
    assert target.scheme["purelib"] == str(venv / "lib" / xy / "site-packages")
    assert target.scheme["scripts"] == str(venv / "bin")
    assert target.scheme["data"] == str(venv)
    assert target.scheme["headers"] == str(venv / "include" / "site" / xy)
    assert target.tags == TargetEnv.from_probe(_probe_text()).tags


def test_glibc_version_bounds_manylinux_tags_and_keeps_legacy_aliases():
    target = TargetEnv.from_probe(_synthetic())
    assert target.tags[:3] == ("cp313-cp313-manylinux_2_36_x86_64", "cp313-cp313-manylinux_2_35_x86_64",
                               "cp313-cp313-manylinux_2_34_x86_64")
    platforms = [t.split("-", 2)[2] for t in target.tags if t.startswith("cp313-cp313-")]
    assert platforms[-4:] == ["manylinux_2_6_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    assert "manylinux2014_x86_64" in platforms and "manylinux2010_x86_64" in platforms
    assert "cp313-cp313-manylinux_2_37_x86_64" not in target.tags
    assert "cp32-abi3-linux_x86_64" in target.tags and target.tags[-1] == "py30-none-any"
    assert target.describe() == "CPython 3.13.5, manylinux_2_36_x86_64 (glibc 2.36), /opt/venv"


def test_aarch64_manylinux_starts_at_glibc_2_17():
    target = TargetEnv.from_probe(_synthetic(platform="linux-aarch64", libc={"name": "glibc", "version": "2.28"}))
    platforms = [t.split("-", 2)[2] for t in target.tags if t.startswith("cp313-cp313-")]
    assert platforms[0] == "manylinux_2_28_aarch64"
    assert platforms[-3:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"]


def test_musl_targets_get_musllinux_tags_and_no_manylinux():
    elf = {"class": 2, "data": 1, "machine": 62, "flags": 0, "interpreter": "/lib/ld-musl-x86_64.so.1"}
    target = TargetEnv.from_probe(_synthetic(libc={"name": "musl", "version": "1.2.5"}, elf=elf))
    assert target.tags[:4] == ("cp313-cp313-musllinux_1_2_x86_64", "cp313-cp313-musllinux_1_1_x86_64",
                               "cp313-cp313-musllinux_1_0_x86_64", "cp313-cp313-linux_x86_64")
    assert "cp313-abi3-musllinux_1_1_x86_64" in target.tags
    assert not any("manylinux" in t for t in target.tags)
    assert target.libc == "musl 1.2.5" and "musllinux_1_2_x86_64 (musl 1.2.5)" in target.describe()


def test_unknown_libc_gets_plain_linux_tags():
    target = TargetEnv.from_probe(_synthetic(libc={"name": None, "version": None}))
    assert target.tags[0] == "cp313-cp313-linux_x86_64" and target.libc == "unknown libc"


def test_32_bit_interpreters_on_64_bit_kernels():
    i686 = {"class": 1, "data": 1, "machine": 3, "flags": 0, "interpreter": "/lib/ld-linux.so.2"}
    target = TargetEnv.from_probe(_synthetic(maxsize_64=False, elf=i686))
    assert target.tags[0] == "cp313-cp313-manylinux_2_36_i686"
    soft = {"class": 1, "data": 1, "machine": 40, "flags": 0x05000200, "interpreter": "/lib/ld-linux.so.3"}
    arm = TargetEnv.from_probe(_synthetic(platform="linux-aarch64", maxsize_64=False, elf=soft))
    assert arm.tags[:2] == ("cp313-cp313-linux_armv8l", "cp313-cp313-linux_armv7l")
    hard = dict(soft, flags=0x05000400)
    arm = TargetEnv.from_probe(_synthetic(platform="linux-armv7l", maxsize_64=False, elf=hard))
    assert arm.tags[0] == "cp313-cp313-manylinux_2_36_armv7l"


def test_free_threaded_builds_use_the_t_abi_and_no_abi3():
    target = TargetEnv.from_probe(_synthetic(py_gil_disabled=True))
    assert target.tags[0] == "cp313-cp313t-manylinux_2_36_x86_64"
    assert not any(t.startswith("cp313-cp313-") or "-abi3-" in t for t in target.tags)


def test_debug_builds_also_accept_the_release_abi():
    target = TargetEnv.from_probe(_synthetic(py_debug=True))
    abis = list(dict.fromkeys(t.split("-")[1] for t in target.tags))
    assert abis[:3] == ["cp313d", "cp313", "abi3"]


def test_pypy_gets_pp_tags():
    probe = json.loads(_synthetic(implementation_name="pypy", platform_python_implementation="PyPy",
                                  version_info=[3, 10], py_version_nodot="310", python_version="3.10",
                                  python_full_version="3.10.14", ext_suffix=".pypy310-pp73-x86_64-linux-gnu.so"))
    target = TargetEnv.from_probe(json.dumps(probe).encode())
    assert target.tags[0] == "pp310-pypy310_pp73-manylinux_2_36_x86_64"
    assert "pp310-none-linux_x86_64" in target.tags and "pp3-none-any" in target.tags
    assert not any(t.startswith("cp") for t in target.tags)
    assert target.describe().startswith("PyPy 3.10.14, ")


def test_old_pythons_and_other_systems_are_refused():
    with pytest.raises(FrontendError, match="Python 3.8.20; pylayers installs into Python 3.9 or newer"):
        TargetEnv.from_probe(_synthetic(version_info=[3, 8], python_full_version="3.8.20"))
    with pytest.raises(FrontendError, match="Linux targets only"):
        TargetEnv.from_probe(_synthetic(platform="macosx-14.0-arm64"))


@pytest.mark.parametrize("data", [b"Traceback ...", b"{}", b"[1]", json.dumps({"python_version": "3.13"}).encode()])
def test_bad_probe_output_is_a_clear_error(data):
    with pytest.raises(FrontendError, match="the target probe printed invalid output"):
        TargetEnv.from_probe(data)


def test_key_is_stable_and_depends_on_the_target():
    assert TargetEnv.from_probe(_synthetic()).key() == TargetEnv.from_probe(_synthetic()).key()
    assert TargetEnv.from_probe(_synthetic()).key() != TargetEnv.from_probe(_synthetic(executable="/x")).key()


def _probe_functions() -> dict:
    import contextlib
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(PROBE_SCRIPT, namespace)  # noqa: S102 - our own probe, for its helper functions
    return namespace


def test_probe_reads_the_musl_version_from_the_elf_interpreter(tmp_path):
    loader = tmp_path / "ld-musl-x86_64.so.1"
    loader.write_text("#!/bin/sh\n"
                      "printf 'musl libc (x86_64)\\nVersion 1.2.5\\nDynamic Program Loader\\n' >&2\nexit 1\n")
    loader.chmod(0o755)
    probe = _probe_functions()
    assert probe["musl"]({"interpreter": str(loader)}) == "1.2.5"
    assert probe["musl"]({"interpreter": "/lib64/ld-linux-x86-64.so.2"}) is None
    assert probe["musl"](None) is None
    elf = probe["elf"](sys.executable)
    assert elf["class"] == (2 if sys.maxsize > 2**32 else 1) and "/ld-" in elf["interpreter"]
    assert probe["elf"](__file__) is None


def test_probe_lists_the_distributions_of_the_site_directories(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    xy = "python{}.{}".format(*sys.version_info[:2])
    info = venv / "lib" / xy / "site-packages" / "Old_Tool-1.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Old_Tool\nVersion: 1.2\n")
    (tmp_path / "elsewhere-1.0.dist-info").mkdir()  # the cwd is not a site directory
    (tmp_path / "elsewhere-1.0.dist-info" / "METADATA").write_text("Name: elsewhere\nVersion: 1.0\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", PROBE_SCRIPT], capture_output=True,
                         check=True, cwd=tmp_path).stdout
    target = TargetEnv.from_probe(out)
    assert [(d.name, d.version, d.path) for d in target.installed] == [("old-tool", "1.2", str(info))]
