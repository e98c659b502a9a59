"""Target description from the probe: tags computed from probe data match packaging's own logic."""

import json
import subprocess
import sys

import pytest
from packaging import tags

from frontend.errors import FrontendError
from frontend.target import PROBE_SCRIPT, TargetEnv


def _host_probe() -> dict:
    return json.loads(subprocess.run([sys.executable, "-c", PROBE_SCRIPT], capture_output=True, check=True).stdout)


def test_tags_from_a_probe_of_this_host_equal_packaging_sys_tags():
    target = TargetEnv.from_probe(json.dumps(_host_probe()).encode())
    assert list(target.tags) == [str(t) for t in tags.sys_tags()]


def test_markers_equal_packaging_default_environment():
    from packaging.markers import default_environment
    assert _host_probe()["markers"] == default_environment()


def _synthetic(**changes) -> bytes:
    probe = _host_probe()
    probe["version"] = [3, 13]
    probe["markers"].update(python_version="3.13", python_full_version="3.13.5")
    probe.update(changes)
    return json.dumps(probe).encode()


def test_musl_targets_get_musllinux_tags_and_no_manylinux():
    target = TargetEnv.from_probe(_synthetic(libc={"name": "musl", "version": "1.2.5"}))
    assert target.tags[0] == "cp313-cp313-musllinux_1_2_x86_64"
    assert "cp313-abi3-musllinux_1_0_x86_64" in target.tags
    assert not any("manylinux" in t for t in target.tags)
    assert target.tags[-1] == "py30-none-any"


def test_glibc_version_bounds_manylinux_tags_and_keeps_legacy_aliases():
    target = TargetEnv.from_probe(_synthetic(libc={"name": "glibc", "version": "2.36"}))
    assert target.tags[0] == "cp313-cp313-manylinux_2_36_x86_64"
    assert "cp313-cp313-manylinux2014_x86_64" in target.tags
    assert "cp313-cp313-manylinux_2_37_x86_64" not in target.tags
    assert target.describe().startswith("CPython 3.13.5, cp313-cp313-manylinux_2_36_x86_64 (glibc 2.36)")


def test_free_threaded_builds_use_the_t_abi():
    target = TargetEnv.from_probe(_synthetic(py_gil_disabled=True))
    assert target.tags[0].startswith("cp313-cp313t-")
    assert not any(t.startswith("cp313-cp313-") for t in target.tags)


def test_bad_probe_output_is_a_clear_error():
    with pytest.raises(FrontendError, match="target probe printed invalid output"):
        TargetEnv.from_probe(b"Traceback ...")
