"""Issue 3, done-when 6: every input error fails the build with one clear message naming file and line.

Packages come from a PEP 503 index served on 127.0.0.1 by the test (the daemon fetches from it).
"""

from __future__ import annotations

import pytest

from .conftest import BASE_313, FRONTEND, buildx
from .localindex import make_wheel, serve

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --index-url {index} -r requirements.txt
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    idx, server = serve(tmp_path_factory.mktemp("index"))
    idx.add("alpha", "1.0")
    idx.add("beta", "2.0", requires=("alpha>=1.0",))
    idx.add("gamma", "1.0", requires=("alpha>=2",))
    idx.add("native", "1.0", tag="cp27-cp27mu-manylinux1_x86_64")
    idx.add_file("sdistonly", "sdistonly-1.0.tar.gz", b"not really a tarball")
    _, evil = make_wheel("evil", "1.0", extra_entries={"../../etc/evil.py": b"x = 1\n"})
    idx.add_file("evil", "evil-1.0-py3-none-any.whl", evil)
    yield idx
    server.shutdown()


def _build(workdir, index, requirements: str, image_name: str):
    (workdir / "requirements.txt").write_text(requirements)
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url))
    result = buildx(workdir, "-t", f"{image_name}:x")
    assert result.returncode != 0, result.output[-3000:]
    return result.output


CASES = {
    "unknown_package": ("alpha==1.0\nnosuchthing==1.0\n",
                        "/app/requirements.txt:2: nosuchthing: no such project on {index}nosuchthing/"),
    "version_not_found": ("alpha==9.9\n",
                          "/app/requirements.txt:1: alpha==9.9 not found on {index}alpha/ (available: 1.0)"),
    "no_wheel_for_target": ("native==1.0\n",
                            "/app/requirements.txt:1: native==1.0 has no wheel for the target "
                            "(cp313-cp313-manylinux_2_41_x86_64, Python 3.13) on {index}native/; "
                            "its wheels are for cp27-cp27mu-manylinux1_x86_64"),
    "sdist_only_binary": ("sdistonly==1.0\n--only-binary :all:\n",
                          "/app/requirements.txt:1: sdistonly==1.0 has no wheel for the target "
                          "(cp313-cp313-manylinux_2_41_x86_64, Python 3.13) on {index}sdistonly/; only a source "
                          "distribution exists, and --only-binary forbids building it"),
    "sdist_build_fails": ("sdistonly==1.0\n",
                          "building sdistonly 1.0 from its source distribution sdistonly-1.0.tar.gz failed (exit "
                          "code: 1)"),
    "hash_mismatch": ("alpha==1.0 --hash=sha256:" + "0" * 64 + "\n",
                      "/app/requirements.txt:1: none of the --hash values of alpha==1.0 match a wheel for this "
                      "target (the wheel for it is alpha-1.0-py3-none-any.whl, --hash=sha256:{alpha_sha})"),
    "bad_syntax": ("alpha==1.0\nbeta=>2.0\n", "/app/requirements.txt:2: invalid requirement 'beta=>2.0'"),
    "bad_marker": ("alpha==1.0; python_version >< '3'\n",
                   "/app/requirements.txt:1: invalid requirement 'alpha==1.0; python_version >< '3'': Expected a "
                   "marker variable or quoted string"),
    "unknown_option": ("alpha==1.0\n--frobnicate\n", "/app/requirements.txt:2: unknown option --frobnicate"),
    "missing_include": ("alpha==1.0\n-r other.txt\n",
                        "/app/requirements.txt:2: cannot read requirements file 'other.txt': /app/other.txt not "
                        "found in the build stage (-r/-c paths are relative to the including file)"),
    "resolution_conflict": ("gamma\nalpha<2\n",
                            "Cannot install alpha<2 (/app/requirements.txt:2) and gamma==1.0 "
                            "(/app/requirements.txt:1) because these package versions have conflicting "
                            "dependencies."),
    "unpinned_sdist_only": ("sdistonly>=0.5\n--only-binary sdistonly\n",
                            "/app/requirements.txt:1: sdistonly==1.0 has no wheel for the target "
                            "(cp313-cp313-manylinux_2_41_x86_64, Python 3.13); only a source distribution "
                            "exists (sdistonly-1.0.tar.gz), and --only-binary forbids building it"),
    "conflicting_dependency": ("alpha==1.0\ngamma==1.0\n",
                               "/app/requirements.txt:1: alpha==1.0 does not satisfy 'alpha>=2', required by "
                               "gamma==1.0 (/app/requirements.txt:2)"),
    "unsafe_wheel": ("evil==1.0\n",
                     "pylayers installer: refusing evil-1.0-py3-none-any.whl: unsafe path in archive: "
                     "'../../etc/evil.py'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_input_errors_fail_with_one_clear_message(case, workdir, index, image_name):
    requirements, expected = CASES[case]
    alpha_sha = __import__("hashlib").sha256((index.root / "files" / "alpha-1.0-py3-none-any.whl").read_bytes()).hexdigest()
    output = _build(workdir, index, requirements, image_name)
    assert expected.format(index=index.url, alpha_sha=alpha_sha) in output, output[-3000:]


def test_pip_user_is_refused_with_the_dockerfile_line(workdir, index, image_name):
    (workdir / "requirements.txt").write_text("alpha==1.0\n")
    text = DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url).replace("pip install", "pip install --user")
    (workdir / "Dockerfile").write_text(text)
    result = buildx(workdir, "-t", f"{image_name}:x")
    assert result.returncode != 0
    assert "Dockerfile:5: pip install --user is not supported by pylayers" in result.output


def test_missing_requirements_file_names_the_dockerfile_line(workdir, index, image_name):
    (workdir / "requirements.txt").write_text("alpha==1.0\n")
    text = DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url).replace("-r requirements.txt", "-r nope.txt")
    (workdir / "Dockerfile").write_text(text)
    result = buildx(workdir, "-t", f"{image_name}:x")
    assert result.returncode != 0
    assert "Dockerfile:5: cannot read requirements file '/app/nope.txt'" in result.output, result.output[-2000:]


@pytest.mark.parametrize("lock, expected", [
    ('lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "alpha"\nversion = \n',
     "/app/pylock.toml:5: invalid TOML: Invalid value"),
    ('lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "alpha"\nversion = "1.0"\n',
     "/app/pylock.toml:3: not a valid pylock file: Exactly one of vcs, directory, archive must be set if sdist "
     "and wheels are not set in 'packages[0]'"),
], ids=["toml", "pylock"])
def test_a_malformed_lock_names_file_and_line(lock, expected, workdir, image_name):
    (workdir / "pylock.toml").write_text(lock)
    (workdir / "Dockerfile").write_text(f"# syntax={FRONTEND}\nFROM {BASE_313}\nWORKDIR /app\nCOPY pylock.toml .\n"
                                        "RUN pip install -r pylock.toml\n")
    result = buildx(workdir, "-t", f"{image_name}:x")
    assert result.returncode != 0
    assert expected in result.output, result.output[-2000:]


def test_local_index_packages_install(workdir, index, image_name, docker_client):
    # beta is not pinned and its dependency alpha is not listed: resolved like pip does
    (workdir / "requirements.txt").write_text("beta>=1\n")
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313, index=index.url))
    buildx(workdir, "--load", "-t", f"{image_name}:ok").check()
    out = docker_client.containers.run(f"{image_name}:ok", ["python", "-c", "import alpha, beta; print(alpha.VERSION, beta.VERSION)"],
                                       remove=True)
    assert out.decode().strip() == "1.0 2.0"
