from __future__ import annotations

import json

import pytest

from frontend import config
from frontend.errors import FrontendError


def test_defaults():
    c = config.from_opts({})
    assert c.dockerfile_name == "Dockerfile"
    assert c.dockerfile_local == "dockerfile"
    assert c.platforms == () and c.platform == ""
    assert c.cache_imports == () and not c.disabled and c.subrequest == ""


def test_build_args_platform_target_and_disable():
    c = config.from_opts({"build-arg:FOO": "a=b", "build-arg:PYLAYERS_DISABLE": "true",
                          "platform": "linux/amd64", "target": "final", "filename": "docker/Dockerfile.prod",
                          "dockerfilekey": "_dockerfile"})
    assert dict(c.build_args) == {"FOO": "a=b", "PYLAYERS_DISABLE": "true"}
    assert c.disabled and c.platform == "linux/amd64" and c.target == "final"
    assert c.dockerfile_name == "docker/Dockerfile.prod" and c.dockerfile_local == "_dockerfile"


def test_cache_imports_json_and_legacy_cache_from():
    opts = {"cache-imports": json.dumps([{"Type": "registry", "Attrs": {"ref": "r:1", "mode": "max"}}]),
            "cache-from": "r:2, r:3"}
    c = config.from_opts(opts)
    assert c.cache_imports == (
        config.CacheImport("registry", (("mode", "max"), ("ref", "r:1"))),
        config.CacheImport("registry", (("ref", "r:2"),)),
        config.CacheImport("registry", (("ref", "r:3"),)),
    )


def test_bad_cache_imports_is_a_frontend_error():
    with pytest.raises(FrontendError, match="invalid cache-imports option"):
        config.from_opts({"cache-imports": "{not json"})


def test_opts_are_read_only():
    c = config.from_opts({"a": "b"})
    with pytest.raises(TypeError):
        c.opts["a"] = "c"  # type: ignore[index]


def test_fetch_timeout_from_build_arg():
    assert config.from_opts({}).fetch_timeout == config.DEFAULT_FETCH_TIMEOUT
    assert config.from_opts({"build-arg:PYLAYERS_FETCH_TIMEOUT": "7.5"}).fetch_timeout == 7.5
    for bad in ("0", "-3", "soon", "inf", "nan"):
        with pytest.raises(FrontendError, match="PYLAYERS_FETCH_TIMEOUT"):
            config.from_opts({"build-arg:PYLAYERS_FETCH_TIMEOUT": bad})


@pytest.mark.parametrize("value, seconds", [("", 600), ("0", 0), ("3600", 3600)])
def test_index_max_age_is_a_number_of_seconds(value, seconds):
    assert config.from_opts({"build-arg:PYLAYERS_INDEX_MAX_AGE": value}).index_max_age == seconds


@pytest.mark.parametrize("value", ["-1", "10m", "100000"])
def test_a_bad_index_max_age_is_refused_naming_the_argument(value):
    with pytest.raises(FrontendError, match="PYLAYERS_INDEX_MAX_AGE"):
        config.from_opts({"build-arg:PYLAYERS_INDEX_MAX_AGE": value})


@pytest.mark.parametrize("value, groups", [("", None), ("0", 0), ("12", 12), (" 3 ", 3)])
def test_exec_groups_is_a_number_of_execs(value, groups):
    assert config.from_opts({"build-arg:PYLAYERS_EXEC_GROUPS": value}).exec_groups == groups


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "1001"])
def test_a_bad_exec_groups_is_refused_naming_the_argument(value):
    with pytest.raises(FrontendError, match="PYLAYERS_EXEC_GROUPS='.*': expected a number of install execs"):
        config.from_opts({"build-arg:PYLAYERS_EXEC_GROUPS": value})


@pytest.mark.parametrize("value, on", [("", True), ("1", True), ("0", False), ("off", False)])
def test_the_bytecode_cache_is_on_unless_turned_off(value, on):
    assert config.from_opts({"build-arg:PYLAYERS_BYTECODE_CACHE": value}).bytecode_cache is on
