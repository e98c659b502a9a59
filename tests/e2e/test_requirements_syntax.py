"""Issue 4, requirements files: ${VAR} from ARGs, -c on the command line, ranges, extras, markers,
--find-links with --no-index and a direct wheel URL, resolved by the frontend on a local index
(the daemon fetches from 127.0.0.1) and installed one layer per package.
"""

from __future__ import annotations

import hashlib

import pytest

from .conftest import BASE_313, FRONTEND, buildx, label_parts, run
from .localindex import serve
from .progress import package_steps

DOCKERFILE = """\
# syntax={frontend}
FROM {base}
ARG ALPHA_SPEC=">=1,<3"
ARG LINKS
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir --pre -r requirements.txt -c constraints.txt
"""

REQUIREMENTS = """\
--no-index
--find-links ${{LINKS}}alpha/
--find-links ${{LINKS}}beta/
--find-links ${{LINKS}}gamma/
alpha${{ALPHA_SPEC}}
beta[fast] ; python_version >= "3.9"
gamma ; sys_platform == "win32"
delta @ {delta_url}#sha256={delta_sha}
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory, testbed):
    idx, server = serve(tmp_path_factory.mktemp("syntax-index"))
    for version in ("1.0", "2.0", "2.1rc1", "3.0"):
        idx.add("alpha", version)
    idx.add("beta", "1.0", requires=("alpha", 'gamma; extra == "fast"'))
    idx.add("gamma", "1.0")
    idx.add("delta", "0.5", requires=("gamma",))
    yield idx
    server.shutdown()


def test_requirement_syntax_end_to_end(workdir, index, image_name, docker_client):
    delta = next((index.root / "files").glob("delta-0.5-*.whl"))
    delta_url = f"{index.url.rsplit('/simple/', 1)[0]}/files/{delta.name}"
    (workdir / "requirements.txt").write_text(REQUIREMENTS.format(
        delta_url=delta_url, delta_sha=hashlib.sha256(delta.read_bytes()).hexdigest()))
    (workdir / "constraints.txt").write_text("alpha!=2.0\n")
    (workdir / "Dockerfile").write_text(DOCKERFILE.format(frontend=FRONTEND, base=BASE_313))
    result = buildx(workdir, "--load", "-t", f"{image_name}:x", "--build-arg", f"LINKS={index.url}").check()
    # --pre admits 2.1rc1, the constraint rules out 2.0, the ARG's range rules out 3.0
    steps = package_steps(result.output)  # all four are tiny: beta and delta share bucket 1 (docs/design.md)
    assert sorted(label_parts(steps)) == ["alpha 2.1rc1", "beta 1.0", "delta 0.5", "gamma 1.0"]
    assert "beta 1.0, delta 0.5" in steps, sorted(steps)
    out = run(docker_client, f"{image_name}:x", "python", "-c",
              "import alpha, beta, gamma, delta; print(alpha.VERSION, beta.VERSION, delta.VERSION)")
    assert out.strip() == "2.1rc1 1.0 0.5"
