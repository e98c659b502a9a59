"""Issue 3 end to end: one cached layer per package from a Dockerfile's pip install step."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from .conftest import (BASE_313, FRONTEND, buildx, copy_example, history_labels, image_layers, label_parts,
                       registry_manifest, run)
from .progress import exec_mates, package_steps, rebuilt, vertices

PINS = {  # examples/webapp/requirements, canonical name -> version
    "flask": "3.1.3", "werkzeug": "3.1.9", "jinja2": "3.1.6", "markupsafe": "3.0.4",
    "itsdangerous": "2.2.0", "click": "8.5.1", "blinker": "1.9.0", "pyyaml": "6.0.3",
    "gunicorn": "27.0.1", "requests": "2.34.2", "urllib3": "2.8.0", "idna": "3.20",
    "certifi": "2026.10.18", "charset-normalizer": "3.5.2",
}
CONFIG_KEYS = ("Env", "Cmd", "WorkingDir", "User", "Labels", "Entrypoint")


def _installed(docker_client, ref: str) -> dict[str, str]:
    out = run(docker_client, ref, "pip", "list", "--format=json", "--disable-pip-version-check")
    return {re.sub(r"[-_.]+", "-", d["name"]).lower(): d["version"] for d in json.loads(out)}


def _set_pin(ctx: Path, name: str, old: str, new: str) -> None:
    path = ctx / "requirements" / "production.txt"
    text = path.read_text()
    assert f"{name}=={old}" in text
    path.write_text(text.replace(f"{name}=={old}", f"{name}=={new}"))


def _layer_digests(ref: str) -> list[str]:
    return [layer["digest"] for layer in registry_manifest(ref)["layers"]]


@pytest.fixture(scope="module")
def example(tmp_path_factory, testbed):
    return copy_example("webapp", tmp_path_factory.mktemp("webapp"))


def test_example_gets_a_layer_per_package_tiny_ones_shared_and_matches_stock(docker_client, example, image_name):
    first = buildx(example, "--push", "-t", f"{image_name}:v1").check()
    steps = package_steps(first.output)
    assert sorted(part.split()[0] for part in label_parts(steps)) == sorted(PINS)
    # blinker and itsdangerous install less than 64 KiB each: they share tiny bucket 2 (sha256 of
    # the name mod 4, docs/design.md); every other package has a layer of its own
    assert "blinker 1.9.0, itsdangerous 2.2.0" in steps and len(steps) == len(PINS) - 1, sorted(steps)
    docker_client.images.pull(f"{image_name}:v1")
    assert _installed(docker_client, f"{image_name}:v1") == {**PINS, "pip": _pip_version(docker_client)}
    assert run(docker_client, f"{image_name}:v1", "gunicorn", "--version").startswith("gunicorn (version 27.0.1)")
    assert "Flask 3.1.3" in run(docker_client, f"{image_name}:v1", "flask", "--version")
    out = run(docker_client, f"{image_name}:v1", "python", "-c",
              "import app, yaml, markupsafe, charset_normalizer, requests; "
              "print(app.application.test_client().get('/').status_code)")
    assert out.strip() == "200"
    # the stock Dockerfile frontend, same Dockerfile without our syntax line
    stock_df = example / "stock.Dockerfile"
    stock_df.write_text("\n".join((example / "Dockerfile").read_text().splitlines()[1:]) + "\n")
    buildx(example, "--load", "-t", f"{image_name}:stock", dockerfile=stock_df).check()
    ours = docker_client.api.inspect_image(f"{image_name}:v1")["Config"]
    stock = docker_client.api.inspect_image(f"{image_name}:stock")["Config"]
    assert {k: ours.get(k) for k in CONFIG_KEYS} == {k: stock.get(k) for k in CONFIG_KEYS}
    assert _installed(docker_client, f"{image_name}:stock") == _installed(docker_client, f"{image_name}:v1")
    stock_df.unlink()


def _pip_version(docker_client) -> str:
    return run(docker_client, BASE_313, "python", "-c",
               "import importlib.metadata as m; print(m.version('pip'))").strip()


def test_one_pin_change_rebuilds_and_pushes_one_package(docker_client, example, image_name):
    buildx(example, "--push", "-t", f"{image_name}:a").check()
    before = _layer_digests(f"{image_name}:a")
    noop = buildx(example, "--push", "-t", f"{image_name}:a").check()
    assert not rebuilt(noop.output)
    _set_pin(example, "idna", "3.20", "3.10")
    try:
        second = buildx(example, "--push", "-t", f"{image_name}:b").check()
    finally:
        _set_pin(example, "idna", "3.10", "3.20")
    steps = package_steps(second.output)
    # the exec that writes idna 3.10's layer (shared with the small layers of its group: the same
    # bytes for those) runs, unless an earlier build on this engine left it in the cache
    assert "idna 3.10" in steps and rebuilt(second.output) in (set(), exec_mates(second.output, "idna 3.10")), steps
    after = _layer_digests(f"{image_name}:b")
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    # The package layers sit right on the base image's (below WORKDIR and `COPY ./requirements`,
    # which cannot touch them: dockerfile/hoist.py); of them only idna's changes. Above them the
    # example's own small layers: WORKDIR (its directory's time), `COPY ./requirements`, `RUN rm`
    # (the same whiteout) and `COPY . /app`.
    base = len(_layer_digests(BASE_313))
    # the plan's order (docs/design.md: by size class, then by name, the tiny bucket on top)
    order = history_labels(docker_client, f"{image_name}:b")
    assert sorted(part.split()[0] for part in label_parts(order)) == sorted(PINS)
    assert order[-1] == "blinker 1.9.0, itsdangerous 2.2.0", order
    assert [label.split()[0] for label in order] == [  # idna 3.10 and 3.20: one size class
        label.split()[0] for label in history_labels(docker_client, f"{image_name}:a")], order
    packages = range(base, base + len(order))
    idna = next(i for i, label in enumerate(order) if label.startswith("idna "))
    assert [i for i in changed if i in packages] == [base + idna], (before, after)
    assert changed[1:] == [packages[-1] + 1, packages[-1] + 2, packages[-1] + 4], (before, after)
    sizes = {layer["digest"]: layer["size"] for layer in registry_manifest(f"{image_name}:b")["layers"]}
    assert sum(sizes[after[i]] for i in changed[1:]) < 2048  # what a push adds to idna's layer
    print(f"\nno-op rebuild: {noop.seconds:.2f} s; one-pin rebuild: {second.seconds:.2f} s")


def test_an_edited_requirements_file_leaves_the_probe_of_the_target_cached(example, image_name):
    requirements = example / "requirements" / "production.txt"
    text = requirements.read_text()
    requirements.write_text(f"{text}# {uuid.uuid4().hex}\n")  # new content, never built before
    try:
        buildx(example, "--load", "-t", f"{image_name}:a").check()
        requirements.write_text(f"{text}# {uuid.uuid4().hex}\n")
        second = buildx(example, "--load", "-t", f"{image_name}:b").check()
    finally:
        requirements.write_text(text)
    probes = [v for v in vertices(second.output) if v.name.startswith("pylayers: probe")]
    assert probes and not any(v.ran for v in probes), probes  # the stage it runs on has no requirements


def test_registry_cache_after_prune_rebuilds_only_the_changed_package(docker_client, example, image_name):
    cache = f"{image_name.replace('/pylayers-e2e/', '/pylayers-e2e-cache/')}:cache"
    buildx(example, "-t", f"{image_name}:c1", "--push",
           f"--cache-to=type=registry,ref={cache},mode=max").check()
    subprocess.run(["docker", "buildx", "prune", "-af"], check=True, capture_output=True)
    _set_pin(example, "certifi", "2026.10.18", "2025.8.3")
    try:
        again = buildx(example, "-t", f"{image_name}:c2", "--push", f"--cache-from=type=registry,ref={cache}").check()
    finally:
        _set_pin(example, "certifi", "2025.8.3", "2026.10.18")
    ran = rebuilt(again.output)  # certifi's install exec (with its group's small layers), no other
    assert "certifi 2025.8.3" in ran and ran == exec_mates(again.output, "certifi 2025.8.3"), vertices(again.output)


MULTI = """\
# syntax={frontend}
ARG PY=localhost:5000/python:3.13-trixie
FROM $PY AS builder
WORKDIR /src
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \\
    python -m pip install -r requirements.txt && echo built > /built.txt
FROM $PY AS final
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /built.txt /built.txt
COPY --from=extra /note.txt /note.txt
RUN --mount=type=cache,target=/var/cache/demo echo hello > /hello.txt
CMD ["python", "-c", "import six, attr; print(open('/note.txt').read().strip())"]
FROM final AS debug
RUN echo debug > /debug.txt
"""


def test_multi_stage_dockerfile_matches_stock(docker_client, workdir, tmp_path, image_name):
    (workdir / "requirements.txt").write_text("six==1.17.0\nattrs==25.4.0\n")
    (workdir / "Dockerfile").write_text(MULTI.format(frontend=FRONTEND))
    (workdir / "stock.Dockerfile").write_text(MULTI.split("\n", 1)[1])
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text("from a named context\n")
    common = ("--target", "final", "--build-context", f"extra={extra}", "--load")
    ours = buildx(workdir, *common, "-t", f"{image_name}:ours").check()
    assert set(package_steps(ours.output)) == {"six 1.17.0", "attrs 25.4.0"}
    buildx(workdir, *common, "-t", f"{image_name}:stock", dockerfile=workdir / "stock.Dockerfile").check()
    for tag in ("ours", "stock"):
        assert run(docker_client, f"{image_name}:{tag}") == "from a named context\n"
    a = docker_client.api.inspect_image(f"{image_name}:ours")["Config"]
    b = docker_client.api.inspect_image(f"{image_name}:stock")["Config"]
    assert {k: a.get(k) for k in CONFIG_KEYS} == {k: b.get(k) for k in CONFIG_KEYS}
    assert len(image_layers(docker_client, f"{image_name}:ours")) == len(image_layers(docker_client, f"{image_name}:stock"))
