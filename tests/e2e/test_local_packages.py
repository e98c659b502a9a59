"""Issue 5, local packages on the real engine: `-e .[extra]` (a src-layout project) and `./libs/foo` in a
requirements file, and a uv workspace member, are built from the build context into wheels,
installed as the top layers, and editing the app's code rebuilds only the app's layer.

The wheel comes from a local index; the builds' isolated environments get setuptools from PyPI.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from .conftest import BASE_313, FRONTEND, REPO, buildx, run
from .localindex import serve
from .progress import package_steps, vertices, wheels_built

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir --index-url {index} -r requirements.txt
"""
PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
dependencies = [{deps}]
"""
LOCKS = REPO / "tests" / "cases" / "locks"
CHECK = "import myapp, foo, tinywheel; print(myapp.MESSAGE, foo.NAME, tinywheel.VERSION)"


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    idx, server = serve(tmp_path_factory.mktemp("index"))
    idx.add("tinywheel", "1.0", files={"tinywheel/__init__.py": f"VERSION = '1.0'\n# {uuid.uuid4().hex}\n".encode()})
    yield idx
    server.shutdown()


def _context(workdir: Path, index, message: str) -> Path:
    salt = uuid.uuid4().hex if not (workdir / "salt").exists() else (workdir / "salt").read_text()
    (workdir / "salt").write_text(salt)
    files = {
        "Dockerfile": DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url),
        "requirements.txt": "-e .[fast]\n./libs/foo\n",
        "pyproject.toml": PYPROJECT.format(name="myapp", version="0.1", deps='"foo"')
        + '\n[project.optional-dependencies]\nfast = ["tinywheel>=1"]\n',  # only through the extra
        "src/myapp/__init__.py": f"MESSAGE = {message!r}  # {salt}\n",
        "libs/foo/pyproject.toml": PYPROJECT.format(name="foo", version="2.0", deps=""),
        "libs/foo/foo/__init__.py": f"NAME = 'foo'  # {salt}\n",
    }
    for path, text in files.items():
        (workdir / path).parent.mkdir(parents=True, exist_ok=True)
        (workdir / path).write_text(text)
    return workdir


def test_local_packages_build_on_top_and_an_app_edit_rebuilds_only_its_layer(docker_client, index, workdir,
                                                                             image_name):
    first = buildx(_context(workdir, index, "v1"), "--load", "-t", f"{image_name}:v1", timeout=1800).check()
    assert run(docker_client, f"{image_name}:v1", "python", "-c", CHECK).split() == ["v1", "foo", "1.0"]
    layers = package_steps(first.output)
    order = sorted(layers, key=lambda label: int(layers[label].name.split()[1].split("/")[0]))
    assert order == ["tinywheel 1.0", "myapp 0.1", "foo 2.0"]  # local packages on top, as listed
    assert all(v.ran for v in layers.values()), layers
    assert wheels_built(first.output) == ["foo-2.0-py3-none-any.whl", "myapp-0.1-py3-none-any.whl"]

    second = buildx(_context(workdir, index, "v2"), "--load", "-t", f"{image_name}:v2", timeout=1800).check()
    assert run(docker_client, f"{image_name}:v2", "python", "-c", CHECK).split() == ["v2", "foo", "1.0"]
    layers = package_steps(second.output)
    assert sorted(label for label, v in layers.items() if v.ran) == ["myapp 0.1"]
    builds = {v.name: v for v in vertices(second.output) if v.name.startswith("pylayers: build the local")}
    assert not builds["pylayers: build the local package at /app/libs/foo"].ran
    assert builds["pylayers: build the local package at /app"].ran
    assert wheels_built(second.output) == ["myapp-0.1-py3-none-any.whl"]
    print(f"\nlocal packages: first build {first.seconds:.1f} s; after an app edit {second.seconds:.1f} s")


WORKSPACE_DOCKERFILE = """\
# syntax={frontend}
FROM {base}
ENV UV_PROJECT_ENVIRONMENT=/opt/app
WORKDIR /app
COPY . .
RUN uv sync --frozen --no-dev
CMD ["/opt/app/bin/python", "-c", "import lockapp, greet; print(greet.HELLO, lockapp.GREETING)"]
"""
MEMBER = """\
[[package]]
name = "greet"
version = "0.1.0"
source = { editable = "packages/greet" }

"""


def test_a_uv_workspace_member_is_built_from_its_directory_and_stays_cached_when_the_app_changes(
        docker_client, tmp_path, image_name):
    ctx = tmp_path / "ctx"
    shutil.copytree(LOCKS / "uv-project", ctx)
    lock = (ctx / "uv.lock").read_text()
    lock = lock.replace('[[package]]\nname = "iniconfig"', MEMBER + '[[package]]\nname = "iniconfig"')
    lock = lock.replace('dependencies = [\n    { name = "attrs" },', 'dependencies = [\n    { name = "attrs" },\n'
                        '    { name = "greet" },')
    (ctx / "uv.lock").write_text(lock)
    (ctx / "packages/greet/greet").mkdir(parents=True)
    (ctx / "packages/greet/pyproject.toml").write_text(PYPROJECT.format(name="greet", version="0.1.0", deps=""))
    salt = image_name.rsplit("-", 1)[1]  # unique per run: cold builds
    (ctx / "packages/greet/greet/__init__.py").write_text(f"HELLO = 'greetings'  # {salt}\n")
    (ctx / "Dockerfile").write_text(WORKSPACE_DOCKERFILE.format(frontend=FRONTEND, base=BASE_313))
    init = ctx / "src" / "lockapp" / "__init__.py"
    init.write_text(init.read_text() + f"# {salt}\n")

    first = buildx(ctx, "--load", "-t", f"{image_name}:v1", timeout=1800).check()
    assert run(docker_client, f"{image_name}:v1").split()[0] == "greetings"
    layers = package_steps(first.output)
    assert {"greet 0.1.0", "attrs 25.4.0", "six 1.17.0"} <= set(layers) and layers["greet 0.1.0"].ran
    assert wheels_built(first.output) == ["greet-0.1.0-py3-none-any.whl"]

    init.write_text(init.read_text().replace("hello", f"hi {salt}"))
    second = buildx(ctx, "--load", "-t", f"{image_name}:v2", timeout=1800).check()
    assert run(docker_client, f"{image_name}:v2").split()[:3] == ["greetings", "hi", salt]
    assert not [label for label, v in package_steps(second.output).items() if v.ran and label != "lockapp"]
    builds = {v.name: v for v in vertices(second.output) if v.name.startswith("pylayers: build")}
    assert not builds["pylayers: build the local package at /app/packages/greet"].ran
    assert wheels_built(second.output) == []
    assert builds["pylayers: build the project lockapp (/app)"].ran
    print(f"\nuv workspace: first build {first.seconds:.1f} s; after an app edit {second.seconds:.1f} s")
