"""Issue 5, sdists on the real engine: packages with only a source distribution are built into a
wheel in their own exec (on the stage before its first COPY: gcc from an earlier RUN is there),
installed as their own layers, and stay cached when another pin changes.

The sdists and the wheel are served by a local index; the builds' isolated environments get
setuptools from PyPI (through the test bed's TLS interceptor), gcc and the headers from Debian.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import uuid
from pathlib import Path

import pytest

from .conftest import BASE_313, FRONTEND, buildx, run
from .localindex import serve
from .progress import package_steps, vertices, wheels_built

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev libpython3-dev \\
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url {index} -r requirements.txt
"""
PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "1.0"
"""
SETUP_PY = """\
from setuptools import Extension, setup
setup(packages=["cextpkg"], ext_modules=[Extension("cextpkg._speed", ["cextpkg/_speed.c"])])
"""
SPEED_C = """\
#include <Python.h>
static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) return NULL;
    return PyLong_FromLong(a + b);
}
static PyMethodDef methods[] = {{"add", add, METH_VARARGS, "a + b"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};
PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
"""
CHECK = "import purepkg, cextpkg, cextpkg._speed as s, tinywheel; print(purepkg.SALT == cextpkg.SALT, s.add(2, 3), tinywheel.VERSION)"


def sdist(name: str, files: dict[str, str], version: str = "1.0") -> tuple[str, bytes]:
    """A source distribution `name-VERSION.tar.gz` holding `files` under `name-VERSION/`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{path}")
            info.size, info.mtime = len(data), 1577836800
            tar.addfile(info, io.BytesIO(data))
    return f"{name}-{version}.tar.gz", buf.getvalue()


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    idx, server = serve(tmp_path_factory.mktemp("index"))
    salt = f"SALT = {uuid.uuid4().hex!r}\n"  # new sdists, so cold builds, in every session
    idx.add_file("purepkg", *sdist("purepkg", {"pyproject.toml": PYPROJECT.format(name="purepkg"),
                                                "purepkg/__init__.py": salt}))
    idx.add_file("cextpkg", *sdist("cextpkg", {"pyproject.toml": PYPROJECT.format(name="cextpkg"),
                                                "setup.py": SETUP_PY, "cextpkg/__init__.py": salt,
                                                "cextpkg/_speed.c": SPEED_C}))
    for version in ("1.0", "1.1"):
        idx.add("tinywheel", version, files={"tinywheel/__init__.py": f"VERSION = {version!r}\n{salt}".encode()})
    yield idx
    server.shutdown()


def _context(workdir: Path, index, tiny: str) -> Path:
    (workdir / "requirements.txt").write_text(f"purepkg==1.0\ncextpkg==1.0\ntinywheel=={tiny}\n")
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url))
    return workdir


def _builds(output: str) -> dict[str, object]:
    return {v.name: v for v in vertices(output) if v.name.startswith("pylayers: build ")}


def test_two_sdists_build_install_and_stay_cached_when_another_pin_changes(docker_client, index, workdir,
                                                                            image_name):
    first = buildx(_context(workdir, index, "1.0"), "--load", "-t", f"{image_name}:v1", timeout=1800).check()
    builds = _builds(first.output)
    assert sorted(builds) == ["pylayers: build cextpkg 1.0 from cextpkg-1.0.tar.gz",
                              "pylayers: build purepkg 1.0 from purepkg-1.0.tar.gz"]
    assert all(v.ran for v in builds.values()), builds
    assert run(docker_client, f"{image_name}:v1", "python", "-c", CHECK).split() == ["True", "5", "1.0"]
    layers = package_steps(first.output)
    assert {"purepkg 1.0", "cextpkg 1.0", "tinywheel 1.0"} <= set(layers)

    assert wheels_built(first.output) == ["cextpkg-1.0-cp313-cp313-linux_x86_64.whl", "purepkg-1.0-py3-none-any.whl"]

    second = buildx(_context(workdir, index, "1.1"), "--load", "-t", f"{image_name}:v2", timeout=1800).check()
    builds = _builds(second.output)
    assert builds and not any(v.ran for v in builds.values()), builds
    assert wheels_built(second.output) == []
    layers = package_steps(second.output)
    assert {"purepkg 1.0", "cextpkg 1.0", "tinywheel 1.1"} <= set(layers)
    assert sorted(label for label, v in layers.items() if v.ran) == ["tinywheel 1.1"]
    assert run(docker_client, f"{image_name}:v2", "python", "-c", CHECK).split() == ["True", "5", "1.1"]
    print(f"\nsdists: first build {first.seconds:.1f} s; after another pin changed {second.seconds:.1f} s")


def test_a_failed_build_names_the_package_and_shows_the_compiler_output(index, workdir, image_name):
    index.add_file("brokenpkg", *sdist("brokenpkg", {"pyproject.toml": PYPROJECT.format(name="brokenpkg"),
                                                    "setup.py": SETUP_PY.replace("cextpkg", "brokenpkg"),
                                                    "brokenpkg/__init__.py": "",
                                                    "brokenpkg/_speed.c": "int broken( {\n"}))
    _context(workdir, index, "1.0")
    (workdir / "requirements.txt").write_text("brokenpkg==1.0\n")
    result = buildx(workdir, "-t", f"{image_name}:broken", timeout=1800)
    assert result.returncode != 0
    assert ("building brokenpkg 1.0 from its source distribution brokenpkg-1.0.tar.gz failed (exit code: 1)"
            in result.output)
    box = result.output.split(" > pylayers: build brokenpkg 1.0 from brokenpkg-1.0.tar.gz:", 1)[1]
    assert "brokenpkg/_speed.c:1:" in box.split("------")[0]  # the compiler's error, in BuildKit's tail


PYLOCK = """\
lock-version = "1.0"
created-by = "test"

[[packages]]
name = "purepkg"
version = "1.0"
sdist = {{ url = "{url}", hashes = {{ sha256 = "{sha256}" }} }}
"""


def test_an_sdist_of_a_pylock_file_is_built_too(docker_client, index, workdir, image_name):
    data = (index.root / "files" / "purepkg-1.0.tar.gz").read_bytes()
    url = index.url.replace("/simple/", "/files/purepkg-1.0.tar.gz")
    (workdir / "pylock.toml").write_text(PYLOCK.format(url=url, sha256=hashlib.sha256(data).hexdigest()))
    text = DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url)
    (workdir / "Dockerfile").write_text(text.replace("COPY requirements.txt .", "COPY pylock.toml .")
                                        .replace("-r requirements.txt", "-r pylock.toml"))
    result = buildx(workdir, "--load", "-t", f"{image_name}:lock", timeout=1800).check()
    assert "pylayers: build purepkg 1.0 from purepkg-1.0.tar.gz" in [v.name for v in vertices(result.output)]
    assert run(docker_client, f"{image_name}:lock", "python", "-c", "import purepkg; print(len(purepkg.SALT))") \
        .strip() == "32"


def test_an_unpinned_sdist_resolves_with_its_dependencies_and_no_binary_builds_a_named_package(docker_client, index, workdir,
                                                                           image_name):
    deps = PYPROJECT.format(name="needy").replace('version = "1.0"\n', 'version = "2.0"\n'
                                                  'dependencies = ["tinywheel>=1.1"]\n')
    index.add_file("needy", *sdist("needy", {"pyproject.toml": deps, "needy/__init__.py": ""}, version="2.0"))
    index.add("bothpkg", "1.0", files={"bothpkg/__init__.py": b"FROM = 'wheel'\n"})  # --no-binary: not this
    index.add_file("bothpkg", *sdist("bothpkg", {"pyproject.toml": PYPROJECT.format(name="bothpkg"),
                                                "bothpkg/__init__.py": "FROM = 'sdist'\n"}))
    _context(workdir, index, "1.0")
    (workdir / "requirements.txt").write_text("needy>=1\n--no-binary bothpkg\nbothpkg==1.0\n")
    result = buildx(workdir, "--load", "-t", f"{image_name}:unpinned", timeout=1800).check()
    built = {v.name for v in vertices(result.output) if v.name.startswith("pylayers: build ")}
    assert built == {"pylayers: build needy 2.0 from needy-2.0.tar.gz",
                     "pylayers: build bothpkg 1.0 from bothpkg-1.0.tar.gz"}
    assert set(package_steps(result.output)) == {"needy 2.0", "tinywheel 1.1", "bothpkg 1.0"}
    assert run(docker_client, f"{image_name}:unpinned", "python", "-c", "import needy, tinywheel, bothpkg; "
               "print(tinywheel.VERSION, bothpkg.FROM)").split() == ["1.1", "sdist"]
