"""The test bed itself: engine, BuildKit features pylayers relies on, registry, frontend image."""

from __future__ import annotations

import json
import subprocess
import urllib.request

from .conftest import BASE_311, BASE_313, FRONTEND, REGISTRY, buildx, run


def test_engine_uses_containerd_store_with_buildx(docker_client):
    info = docker_client.info()
    assert "containerd.snapshotter" in json.dumps(info.get("DriverStatus")) or info["Driver"] == "overlayfs"
    out = subprocess.run(["docker", "buildx", "version"], capture_output=True, text=True, check=True)
    assert "buildx" in out.stdout


def test_registry_serves_base_and_frontend_images(docker_client):
    # the largest page the registry gives (its default of 100 ends before "python": tests push many)
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/_catalog?n=1000") as resp:
        repos = json.load(resp)["repositories"]
    assert {"python", "pylayers"} <= set(repos)
    for ref in (BASE_313, BASE_311, FRONTEND):
        subprocess.run(["docker", "buildx", "imagetools", "inspect", ref], check=True, capture_output=True)


def test_status_names_engine_registry_and_images(docker_client):
    from .conftest import REPO

    out = subprocess.run([str(REPO / "scripts" / "testbed"), "status"], capture_output=True, text=True,
                         check=True).stdout
    assert "engine:    Docker " in out and "driver-type=io.containerd.snapshotter" in out
    assert "registry:  http://127.0.0.1:5000 (" in out and " repositories)" in out
    for ref in (BASE_313, BASE_311, FRONTEND):
        assert f"image:     {ref}\n" in out  # present: no "(missing)"


def test_base_images_are_venvs_with_only_pip_and_trust_the_host_ca(docker_client):
    for ref, version in ((BASE_313, "3.13"), (BASE_311, "3.11")):
        docker_client.images.pull(ref)
        out = run(docker_client, ref, "python", "-c",
                  "import sys, importlib.metadata as m; print(sys.prefix, sys.version_info[:2],"
                  " sorted(d.metadata['Name'] for d in m.distributions()))")
        assert out.strip() == f"/opt/venv ({version.replace('.', ', ')}) ['pip']"
        with open("/etc/ssl/certs/ca-certificates.crt", "rb") as f:
            host_ca = f.read()
        ca = docker_client.containers.run(ref, ["cat", "/etc/ssl/certs/ca-certificates.crt"], remove=True)
        assert ca == host_ca


def test_frontend_image_labels(docker_client):
    proc = subprocess.run(["docker", "buildx", "imagetools", "inspect", FRONTEND, "--format",
                           "{{json .Image}}"], capture_output=True, text=True, check=True)
    image = json.loads(proc.stdout)
    labels = image["config"]["Labels"]
    assert labels["moby.buildkit.frontend.network.none"] == "true"
    caps = set(labels["moby.buildkit.frontend.caps"].split(","))
    assert {"moby.buildkit.frontend.inputs", "moby.buildkit.frontend.contexts",
            "moby.buildkit.frontend.subrequests"} <= caps


def test_dockerfile_without_install_step_builds_like_stock_frontend(docker_client, workdir, image_name):
    body = (f"FROM {BASE_313}\nARG GREETING=hi\nENV GREETING=$GREETING\nWORKDIR /srv\n"
            "COPY hello.txt .\nRUN echo built > built.txt\nLABEL org.example.kind=plain\n"
            'CMD ["cat", "hello.txt"]\n')
    (workdir / "hello.txt").write_text("hello from the context\n")
    (workdir / "Dockerfile").write_text(f"# syntax={FRONTEND}\n{body}")
    (workdir / "stock.Dockerfile").write_text(body)
    ours = buildx(workdir, "--load", "-t", f"{image_name}:ours", "--build-arg", "GREETING=hey").check()
    assert f"resolve image config for docker-image://{FRONTEND}" in ours.output
    buildx(workdir, "--load", "-t", f"{image_name}:stock", "--build-arg", "GREETING=hey",
           dockerfile=workdir / "stock.Dockerfile").check()
    a = docker_client.api.inspect_image(f"{image_name}:ours")
    b = docker_client.api.inspect_image(f"{image_name}:stock")
    assert a["Config"] == b["Config"]
    assert a["RootFS"]["Layers"] == b["RootFS"]["Layers"]
    assert run(docker_client, f"{image_name}:ours") == "hello from the context\n"
