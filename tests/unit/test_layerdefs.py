"""frontend.layerdefs: the LLB of a new environment and of the project layer (decoded to JSON)."""

from __future__ import annotations

import json
from types import MappingProxyType

from frontend import layerdefs, llb
from frontend.plan import Layer
from frontend.resolve.wheels import PackageChoice

BASE = llb.image("localhost:5000/python:3.13-trixie")
STAGE = BASE.mkfile("/app/uv.lock", b"lock")  # a stage: the base plus the build's own files
SCHEME = {k: "/opt/app/lib/python3.13/site-packages" for k in ("purelib", "platlib")} | {
    "scripts": "/opt/app/bin", "data": "/opt/app", "headers": "/opt/app/include/site/python3.13"}


class Target:
    scheme = MappingProxyType(SCHEME)
    base_interpreter = "/usr/bin/python3.13"
    interpreter = "/opt/app/bin/python3"


def ops(state) -> list[dict]:
    return [entry["op"] for entry in json.loads(llb.to_json(llb.marshal(state)))]


def execs(state) -> list[dict]:
    return [op["exec"] for op in ops(state) if "exec" in op]


def test_a_new_environment_is_made_on_the_base_without_network_at_its_path():
    env = layerdefs.at_path(layerdefs.venv_state(BASE, "/opt/app", ("PATH=/usr/bin:/bin", "UV_X=1")), "/opt/app")
    (run,) = execs(env)
    assert run["meta"]["args"][-1] == "/opt/app" and "python3 -m venv --without-pip" in run["meta"]["args"][2]
    assert run["meta"]["env"] == ["PATH=/usr/bin:/bin"]  # the stage's other variables do not key it
    assert run["network"] == "NONE"
    assert [m["dest"] for m in run["mounts"]] == ["/", "/opt/app"]
    copy = [op["file"]["actions"][0]["copy"] for op in ops(env) if "file" in op]
    assert copy and copy[0]["dest"] == "/opt/app"


def test_the_project_is_built_with_network_and_installed_without():
    wheel = layerdefs.project_wheel_state(STAGE, ("PATH=/usr/bin",), "/app", "lockapp")
    (build,) = execs(wheel)
    assert build["meta"]["cwd"] == "/app" and build["meta"]["args"][-1] == "/app"
    assert build.get("network", "UNSET") != "NONE"
    layer = layerdefs.project_layer_state(BASE, wheel, Target(), "3/3 lockapp")
    install = execs(layer)[-1]
    assert install["network"] == "NONE"
    assert install["meta"]["args"][:3] == ["/bin/sh", "-c", 'exec "$@" /wheels/project/*.whl']
    assert install["meta"]["args"][4:6] == ["/usr/bin/python3.13", "/pylayers"]
    args = install["meta"]["args"]
    assert args[args.index("--interpreter") + 1] == "/opt/app/bin/python3"
    names = json.loads(llb.to_json(llb.marshal(layer)))
    assert any(e["metadata"].get("description", {}).get("llb.customname") == "pylayers 3/3 lockapp (project)"
               for e in names)


SDIST = PackageChoice("cext", "1.0", "cext-1.0.tar.gz", "https://files.example/cext-1.0.tar.gz", "ab" * 32,
                      "source", sdist=True)


class Builds:
    def wheel_dir(self, pkg):
        if pkg.local:
            return layerdefs.local_build(BASE, ("PATH=/usr/bin",), STAGE, pkg.local)[0]
        return layerdefs.sdist_build(STAGE, ("PATH=/opt/venv/bin:/usr/bin",), pkg)[0]


def test_an_sdist_is_built_with_network_from_its_checksummed_download_and_installed_from_the_wheel_dir():
    wheel_dir, metadata = layerdefs.sdist_build(STAGE, ("PATH=/opt/venv/bin:/usr/bin",), SDIST)
    (build,) = execs(metadata)
    assert build.get("network", "UNSET") != "NONE" and build["meta"]["cwd"] == "/"
    assert "pip wheel --no-deps" in build["meta"]["args"][2] and "--no-build-isolation" not in build["meta"]["args"][2]
    assert build["meta"]["args"][-2:] == ["/pylayers-sdist/cext-1.0.tar.gz", "cext 1.0"]
    assert sorted(m["dest"] for m in build["mounts"]) == ["/", "/pylayers-metadata", "/pylayers-sdist", "/pylayers-wheel"]
    sources = [op["source"] for op in ops(metadata) if "source" in op]
    assert any(s["identifier"] == SDIST.url and s["attrs"]["http.checksum"] == f"sha256:{'ab' * 32}"
               for s in sources)
    assert execs(wheel_dir) == execs(metadata)  # one exec, two outputs
    layer = layerdefs.layer_state(BASE, Layer("pylayers-1-cext", (SDIST,)), Target(), "1/1", sdists=Builds())
    install = execs(layer)[-1]
    assert install["network"] == "NONE" and install["meta"]["args"][-1] == "/wheels/0"
    assert "/wheels/0" in [m["dest"] for m in install["mounts"]]


def test_a_local_package_is_built_from_a_copy_of_its_directory_only():
    wheel_dir, metadata = layerdefs.local_build(BASE, ("PATH=/usr/bin",), STAGE, "/app/libs/foo")
    (build,) = execs(metadata)
    assert build["meta"]["args"][-2:] == ["/pylayers-src", "/app/libs/foo"]
    assert build.get("network", "UNSET") != "NONE"
    copies = [op["file"]["actions"][0]["copy"] for op in ops(metadata) if "file" in op and
              "copy" in op["file"]["actions"][0]]
    assert [(c["src"], c["dest"]) for c in copies] == [("/app/libs/foo", "/")]
    assert execs(wheel_dir) == execs(metadata)
    local = PackageChoice("foo", "2.0", "/app/libs/foo", "file:///app/libs/foo", "", "local", local="/app/libs/foo")
    layer = layerdefs.layer_state(BASE, Layer("pylayers-1-foo", (local,)), Target(), "1/1", sdists=Builds())
    assert execs(layer)[-1]["meta"]["args"][-1] == "/wheels/0"


def wheel(name: str) -> PackageChoice:
    return PackageChoice(name, "1.0", f"{name}-1.0-py3-none-any.whl", f"https://files.example/{name}-1.0.whl",
                         "cd" * 32, "py3-none-any", size=1000)


def test_one_exec_installs_a_group_of_layers_each_into_its_own_output():
    layers = [Layer("p-a", (wheel("a"),)), Layer("p--tiny-01", (wheel("b"), wheel("c"))), Layer("p-d", (wheel("d"),))]
    states = layerdefs.group_states(BASE, layers, Target(), ["2/9", "5/9", "7/9"])
    assert len({s.source for s in states}) == 1 and [s.index for s in states] == [0, 1, 2]
    run = execs(llb.merge(states))[-1]
    args = run["meta"]["args"]
    assert args[args.index("--layer"):args.index("--layer") + 3] == ["--layer", "/out/0", "/wheels/0/a-1.0-py3-none-any.whl"]
    at = [i for i, a in enumerate(args) if a == "--layer"]
    assert [args[i + 1] for i in at] == ["/out/0", "/out/1", "/out/2"]
    assert args[at[1] + 2:at[2]] == ["/wheels/1/b-1.0-py3-none-any.whl", "/wheels/2/c-1.0-py3-none-any.whl"]
    assert "--dest" not in args and run["network"] == "NONE"
    outputs = {m["dest"]: int(m.get("output", 0)) for m in run["mounts"]}
    assert [outputs[f"/out/{k}"] for k in range(3)] == [0, 1, 2] and outputs["/"] == -1
    assert all(outputs[f"/wheels/{k}"] == -1 for k in range(4))


def test_a_group_of_one_layer_is_that_layers_own_exec():
    layer = Layer("p-a", (wheel("a"),))
    (state,) = layerdefs.group_states(BASE, [layer], Target(), ["1/3"])
    assert llb.marshal(state) == llb.marshal(layerdefs.layer_state(BASE, layer, Target(), "1/3"))


def test_every_install_exec_shares_the_bytecode_cache_mount_which_is_no_output():
    layers = [Layer("p-a", (wheel("a"),)), Layer("p-b", (wheel("b"),))]
    for state in (layerdefs.layer_state(BASE, layers[0], Target(), "1/2"),
                  llb.merge(layerdefs.group_states(BASE, layers, Target(), ["1/2", "2/2"]))):
        run = execs(state)[-1]
        args = run["meta"]["args"]
        assert args[args.index("--bytecode-cache") + 1] == layerdefs.BYTECODE_DIR
        (cache,) = [m for m in run["mounts"] if m["dest"] == layerdefs.BYTECODE_DIR]
        assert cache["mountType"] == "CACHE" and cache["cacheOpt"]["ID"] == layerdefs.BYTECODE_CACHE
        assert int(cache.get("output", 0)) == -1


def test_without_the_bytecode_cache_the_exec_has_no_cache_mount():
    layers = [Layer("p-a", (wheel("a"),)), Layer("p-b", (wheel("b"),))]
    for state in (layerdefs.layer_state(BASE, layers[0], Target(), "1/2", bytecode_cache=False),
                  llb.merge(layerdefs.group_states(BASE, layers, Target(), ["1/2", "2/2"], bytecode_cache=False))):
        run = execs(state)[-1]
        assert "--bytecode-cache" not in run["meta"]["args"]
        assert not [m for m in run["mounts"] if m.get("mountType") == "CACHE"]
