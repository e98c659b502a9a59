"""A stage made of one MergeOp of its image and the package layers (frontend/stagemerge.py): with
the stage's other instructions' layers as a DiffOp on top when they are all crossable, else as
instructions run on the merge (a RUN after the install here).

The image must be what the same Dockerfile gives without pylayers: the base image's config (ENV,
LABEL, EXPOSE, STOPSIGNAL, ENTRYPOINT, CMD), the stage's own ARG/ENV/WORKDIR, and the packages;
and `docker history` names each package. A base image's ONBUILD triggers run once, below the
packages, as they would without pylayers.
"""

from __future__ import annotations

import pytest

from .conftest import BASE_313, FRONTEND, buildx, image_config, remove_image, run

BASE = f"""FROM {BASE_313}
ENV FROM_BASE=1
LABEL org.example.base=yes
EXPOSE 8080
STOPSIGNAL SIGINT
ENTRYPOINT ["python", "-c"]
CMD ["print('base')"]
"""
APP = """{syntax}FROM {base} AS app
ARG GREETING=hello
ENV FROM_STAGE=$GREETING
LABEL org.example.app=yes
WORKDIR /srv
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app.py .
{after}CMD ["import six, idna; print(six.__version__, idna.__version__)"]
"""
WHOLE, ON_MERGE = "pylayers: the stage with its 2 package layers", "pylayers: 2 package layers on the stage's image"
REQUIREMENTS = "six==1.17.0\nidna==3.10\n"
KEYS = ("Env", "WorkingDir", "Labels", "Cmd", "Entrypoint", "ExposedPorts", "StopSignal", "User")


def _base(docker_client, tmp_path, request, name: str, text: str) -> str:
    ctx = tmp_path / "base"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    buildx(ctx, "--push", "-t", name).check()
    request.addfinalizer(lambda: remove_image(docker_client, name))
    return name


@pytest.mark.parametrize("after, shown", [("", WHOLE), ("RUN python -c 'import six'\n", ON_MERGE)],
                         ids=["whole-stage", "run-after"])
def test_the_merged_stage_has_the_config_and_files_of_a_build_without_pylayers(
        docker_client, tmp_path, workdir, image_name, request, after, shown):
    base = _base(docker_client, tmp_path, request, f"{image_name}-base:v1", BASE)
    (workdir / "requirements.txt").write_text(REQUIREMENTS)
    (workdir / "app.py").write_text("print('app')\n")
    (workdir / "Dockerfile").write_text(APP.format(syntax=f"# syntax={FRONTEND}\n", base=base, after=after))
    ours = buildx(workdir, "--load", "-t", f"{image_name}:pylayers").check()
    assert shown in ours.output
    assert "COPY --link --from=pylayers" not in ours.output
    (workdir / "Dockerfile").write_text(APP.format(syntax="", base=base, after=after))
    buildx(workdir, "--load", "-t", f"{image_name}:stock").check()  # pip runs, through the proxy

    mine, stock = image_config(docker_client, f"{image_name}:pylayers"), image_config(docker_client, f"{image_name}:stock")
    assert {k: mine.get(k) for k in KEYS} == {k: stock.get(k) for k in KEYS}
    assert "FROM_STAGE=hello" in mine["Env"] and mine["WorkingDir"] == "/srv"
    assert run(docker_client, f"{image_name}:pylayers").strip() == "1.17.0 3.10"
    listing = "ls /srv && python -c 'import importlib.metadata as m; print(m.version(\"six\"), m.version(\"idna\"))'"
    assert run(docker_client, f"{image_name}:pylayers", "import subprocess; subprocess.run(['sh', '-c', "
               f"{listing!r}])").split() == ["app.py", "requirements.txt", "1.17.0", "3.10"]
    history = [h["CreatedBy"] for h in docker_client.api.history(f"{image_name}:pylayers")]
    assert {"pylayers: six 1.17.0", "pylayers: idna 3.10"} <= set(history), history


def test_a_base_image_with_onbuild_triggers_runs_them_once_below_the_packages(
        docker_client, tmp_path, workdir, image_name, request):
    """The FROM solve runs the triggers (and clears them from its config): the merge starts from
    that result, so they run once, before the packages, as without pylayers."""
    base = _base(docker_client, tmp_path, request, f"{image_name}-base:onbuild",
                 f"FROM {BASE_313}\nONBUILD RUN echo triggered >> /onbuild.log\n")
    (workdir / "requirements.txt").write_text(REQUIREMENTS)
    (workdir / "Dockerfile").write_text(f"# syntax={FRONTEND}\nFROM {base}\nCOPY requirements.txt /tmp/\n"
                                        "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n")
    result = buildx(workdir, "--load", "-t", f"{image_name}:x").check()
    assert WHOLE in result.output
    assert run(docker_client, f"{image_name}:x", "cat", "/onbuild.log") == "triggered\n"
    assert image_config(docker_client, f"{image_name}:x").get("OnBuild") in (None, [])
    history = [h["CreatedBy"] for h in docker_client.api.history(f"{image_name}:x")][::-1]  # oldest first
    trigger = next(i for i, h in enumerate(history) if "triggered" in h)
    assert trigger < history.index("pylayers: idna 3.10") < history.index("pylayers: six 1.17.0"), history
