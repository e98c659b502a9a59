"""hoist_point: package layers go below the COPY of the requirements when the image stays the same."""

from __future__ import annotations

import pytest

from frontend.dockerfile import (at_stage_start, find_install_steps, hoist_point, rewrite, stage_crossable,
                                 stage_prefix, stage_without_step)

PREFIXES = ("/usr/local/lib/python3.13/site-packages", "/usr/local/bin", "/usr/local/include/python3.13",
            "/usr/local")
HEAD = "FROM python:3.13\n"


def point(body: str, prefixes=PREFIXES):
    text = HEAD + body
    step, = find_install_steps(text, "Dockerfile")
    return hoist_point(text, step, prefixes)


@pytest.mark.parametrize("body, expected", [
    # the usual: metadata and a COPY into the app directory
    ("ENV A=1\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n", 1),
    ("WORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n", 1),
    ('COPY ["requirements.txt", "/app/"]\nRUN pip install -r /app/requirements.txt\n', 1),
    ("COPY --chown=1000 --link req.txt /srv/req.txt\nRUN pip install -r /srv/req.txt\n", 1),
    # a RUN is never crossed: what it does may depend on the packages, or they on it
    ("RUN apt-get update\nCOPY r.txt /app/\nRUN pip install -r /app/r.txt\n", 2),
    ("COPY r.txt /app/\nRUN apt-get update\nRUN pip install -r /app/r.txt\n", None),
    # a destination inside the interpreter's prefix, or above it, could meet a package's files
    ("COPY r.txt /usr/local/r.txt\nRUN pip install -r /usr/local/r.txt\n", None),
    ("COPY . /\nRUN pip install -r /r.txt\n", None),
    ("WORKDIR /usr\nCOPY r.txt local/\nRUN pip install -r local/r.txt\n", None),
    ("WORKDIR /usr\nCOPY r.txt /srv/\nRUN pip install -r /srv/r.txt\n", 1),
    # a destination or working directory from a variable, a heredoc, a VOLUME: not crossed
    ("ARG D=/app\nCOPY r.txt $D/\nRUN pip install -r /app/r.txt\n", None),
    ("WORKDIR $HOME\nCOPY r.txt .\nRUN pip install -r r.txt\n", None),
    ("COPY <<EOF /app/r.txt\nflask\nEOF\nRUN pip install -r /app/r.txt\n", None),
    ("VOLUME /data\nRUN pip install -r /r.txt\n", None),
    # commands before the install in the same RUN would run with the packages present
    ("COPY r.txt /app/\nRUN ls && pip install -r /app/r.txt\n", None),
    # nothing to cross
    ("RUN pip install -r /r.txt\n", None),
])
def test_hoist_point(body, expected):
    assert point(body) == expected


def test_a_venv_prefix_inside_the_app_directory_keeps_copy_dot_above():
    body = "WORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
    assert point(body, ("/app/.venv/lib/python3.13/site-packages", "/app/.venv/bin", "/app/.venv")) is None
    assert point(body, ("/opt/venv/lib/python3.13/site-packages", "/opt/venv")) == 1


def test_the_layers_go_to_the_point_and_the_rest_of_the_run_stays():
    text = HEAD + "WORKDIR /app\nCOPY r.txt .\nRUN pip install -r r.txt && rm r.txt\nCOPY . .\n"
    step, = find_install_steps(text, "Dockerfile")
    assert rewrite(text, {step.key: ("p-a", "p-b")}, hoists={step.key: hoist_point(text, step, PREFIXES)}) == (
        HEAD + "COPY --link --from=p-a / /\nCOPY --link --from=p-b / /\nWORKDIR /app\nCOPY r.txt .\n"
               "RUN rm r.txt\nCOPY . .\n")
    assert rewrite(text, {step.key: ("p-a",)}) == HEAD + "WORKDIR /app\nCOPY r.txt .\nCOPY --link --from=p-a / /\n" \
                                                       "RUN rm r.txt\nCOPY . .\n"


def test_two_steps_of_one_stage_each_go_no_lower_than_the_run_before():
    text = HEAD + "COPY a.txt /app/\nRUN pip install -r /app/a.txt\nCOPY b.txt /app/\nRUN pip install -r /app/b.txt\n"
    first, second = find_install_steps(text, "Dockerfile")
    hoists = {s.key: hoist_point(text, s, PREFIXES) for s in (first, second)}
    assert hoists == {first.key: 1, second.key: 3}
    assert rewrite(text, {first.key: ("a",), second.key: ("b",)}, hoists=hoists) == (
        HEAD + "COPY --link --from=a / /\nCOPY a.txt /app/\nCOPY --link --from=b / /\nCOPY b.txt /app/\n")


@pytest.mark.parametrize("body, expected", [
    ("WORKDIR /app\nCOPY r.txt .\nRUN pip install -r r.txt\n", True),  # everything crossed
    ("RUN pip install -r /r.txt\n", True),  # right after the FROM
    ("RUN apt-get update\nCOPY r.txt /app/\nRUN pip install -r /app/r.txt\n", False),  # a RUN stays below
    ("COPY . /\nRUN pip install -r /r.txt\n", False),  # a COPY into the prefix stays below
    ("RUN apt-get update && pip install -r /r.txt\n", False),  # commands before the install
])
def test_at_stage_start(body, expected):
    text = HEAD + body
    step, = find_install_steps(text, "Dockerfile")
    assert at_stage_start(text, step, hoist_point(text, step, PREFIXES)) is expected


def test_a_stage_on_its_merged_base_starts_from_it_and_keeps_the_rest():
    text = ("ARG V=3.13\nFROM python:$V \\\n  AS App\nARG EXTRA\nWORKDIR /app\nCOPY r.txt .\n"
            "RUN pip install -r r.txt && rm r.txt\nCOPY . .\nFROM app AS test\nRUN pytest\n")
    step, = find_install_steps(text, "Dockerfile")
    assert rewrite(text, {step.key: ("pylayers-1-base",)}, hoists={step.key: 3},
                   bases={step.key: "pylayers-1-base"}) == (
        "ARG V=3.13\nFROM pylayers-1-base AS app\nARG EXTRA\nWORKDIR /app\nCOPY r.txt .\nRUN rm r.txt\n"
        "COPY . .\nFROM app AS test\nRUN pytest\n")


def test_a_later_stage_is_solved_on_the_merged_base_of_an_earlier_one():
    text = HEAD + "RUN pip install -r /a.txt\nFROM python:3.13\nRUN pip install -r /b.txt\n"
    first, second = find_install_steps(text, "Dockerfile")
    body, target = stage_prefix(text, second, {first.key: ("pylayers-1-base",)}, {first.key: "pylayers-1-base"})
    assert body == "FROM pylayers-1-base\nFROM python:3.13 AS pylayers-stage\n" and target == "pylayers-stage"


@pytest.mark.parametrize("body, expected", [
    ("WORKDIR /app\nCOPY r.txt .\nRUN pip install -r r.txt\nCOPY . .\nCMD [\"app\"]\n", True),
    ("RUN pip install -r /r.txt\n", True),
    ("WORKDIR /app\nCOPY r.txt .\nRUN pip install -r r.txt\nRUN python -m compileall .\n", False),  # a RUN after
    ("COPY r.txt /app/\nRUN pip install -r /app/r.txt\nCOPY bin/ /usr/local/bin/\n", False),  # into the prefix
    ("COPY r.txt /app/\nRUN pip install -r /app/r.txt && rm /app/r.txt\n", False),  # commands after the install
])
def test_stage_crossable(body, expected):
    text = HEAD + body + "FROM base AS other\nRUN make\n"  # the next stage is not looked at
    step, = find_install_steps(text, "Dockerfile")
    assert stage_crossable(text, step, PREFIXES) is expected


def test_a_whole_stage_is_built_without_its_step_and_becomes_one_from_line():
    text = ("# syntax=x\nFROM python:3.13 \\\n  AS App\nWORKDIR /app\nCOPY r.txt .\nRUN pip install \\\n"
            "  -r r.txt\nCOPY . .\nCMD [\"x\"]\nFROM app AS test\nRUN pytest\n")
    step, = find_install_steps(text, "Dockerfile")
    assert stage_without_step(text, step) == (
        "FROM python:3.13 \\\n  AS App\nWORKDIR /app\nCOPY r.txt .\nCOPY . .\nCMD [\"x\"]\n", "app")
    assert rewrite(text, {step.key: ("pylayers-1-base",)}, stages={step.key: "pylayers-1-base"}) == (
        "FROM pylayers-1-base AS app\nFROM app AS test\nRUN pytest\n")


@pytest.mark.parametrize("body, dropped", [
    ("COPY requirements.txt .\n", ["COPY requirements.txt .\n"]),
    ("COPY requirements.txt c.txt ./\n", ["COPY requirements.txt c.txt ./\n"]),
    ("COPY --chown=1:1 requirements.txt /app/\nWORKDIR /app\n", ["COPY --chown=1:1 requirements.txt /app/\n"]),
    ("COPY req*.txt ./\n", ["COPY req*.txt ./\n"]),
    ("COPY . .\n", ["COPY . .\n"]),  # only the probe's stage: the step still sees what it brings
    ("COPY requirements.txt /app/requirements.txt\n", ["COPY requirements.txt /app/requirements.txt\n"]),
    ("COPY setup.py .\nCOPY requirements.txt .\n", ["COPY setup.py .\n", "COPY requirements.txt .\n"]),
    ("COPY . /\n", []),
    ("COPY requirements.txt /tmp/\n", []),  # not where the step reads it
    ("COPY --from=build /w/requirements.txt .\n", []),
    ("COPY requirements.txt $DEST\n", []),
    ("ADD requirements.txt .\n", []),
    ("COPY requirements.txt .\nRUN echo hi\n", []),  # the RUN may read it
    ("COPY requirements.txt .\nRUN echo hi\nCOPY c.txt .\n", ["COPY c.txt .\n"]),
])
def test_the_probe_runs_without_the_copies_of_the_requirement_files(body, dropped):
    from frontend.dockerfile import stage_prefix, without_requirement_copies

    text = f"FROM python:3.13\nWORKDIR /app\n{body}RUN pip install -r requirements.txt -c c.txt\n"
    step, = find_install_steps(text, "Dockerfile")
    prefix, _ = stage_prefix(text, step)
    without = without_requirement_copies(prefix, step)
    if not dropped:
        assert without is None
        return
    assert without.splitlines() == [line for line in prefix.splitlines() if line + "\n" not in dropped]


def test_the_probe_of_the_example_runs_without_its_requirements_directory():
    from frontend.dockerfile import stage_prefix, without_requirement_copies

    text = ("FROM python:3.13\nWORKDIR /app\nCOPY ./requirements /requirements\n"
            "RUN pip install -r /requirements/production.txt && rm -rf /requirements\n")
    step, = find_install_steps(text, "Dockerfile")
    prefix, _ = stage_prefix(text, step)
    assert "COPY" not in without_requirement_copies(prefix, step)
