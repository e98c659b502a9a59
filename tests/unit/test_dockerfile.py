"""frontend.dockerfile: finding install steps, the rewrite, and the stage cuts.

Golden cases live in tests/cases/dockerfile/<case>/: `Dockerfile` is the input,
`expected.Dockerfile` the rewrite when every step found becomes the contexts CONTEXTS, and
`steps.json` the steps found. PYLAYERS_UPDATE_GOLDEN=1 rewrites the expected files.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from frontend import dockerfile
from frontend.dockerfile import InstallOptions, InstallStep
from frontend.errors import FrontendError, InputError

CASES = Path(__file__).resolve().parents[1] / "cases" / "dockerfile"
CONTEXTS = ("pylayers-1-a", "pylayers-1-b")
UPDATE = os.environ.get("PYLAYERS_UPDATE_GOLDEN") == "1"


def steps_of(text: str) -> tuple[InstallStep, ...]:
    return dockerfile.find_install_steps(text, "Dockerfile")


def rewritten(text: str, contexts: tuple[str, ...] = CONTEXTS) -> str:
    return dockerfile.rewrite(text, {s.key: contexts for s in steps_of(text)})


def only_step(text: str) -> InstallStep:
    (step,) = steps_of(text)
    return step


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_bytes(actual.encode())
    assert path.read_bytes().decode() == actual


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_golden_case(case: str) -> None:
    text = (CASES / case / "Dockerfile").read_bytes().decode()
    steps = steps_of(text)
    check_golden(CASES / case / "expected.Dockerfile", rewritten(text))
    serialized = json.dumps([dataclasses.asdict(s) for s in steps], indent=2) + "\n"
    check_golden(CASES / case / "steps.json", serialized)


def test_the_canonical_example() -> None:
    text = (CASES / "example" / "Dockerfile").read_text()
    step = only_step(text)
    assert (step.key, step.line, step.stage_index, step.stage_name) == (5, 6, 0, None)
    assert step.interpreter == ("pip", "pip")
    assert step.options == InstallOptions(("/requirements/production.txt",), (), None, (), False, False)
    assert (step.run_flags, step.before, step.after) == ((), None, "rm -rf /requirements")
    lines = rewritten(text).splitlines()
    assert lines[0] == "FROM localhost:5000/python:3.13-trixie"
    assert lines[4:7] == ["COPY --link --from=pylayers-1-a / /", "COPY --link --from=pylayers-1-b / /",
                          "RUN rm -rf /requirements"]
    assert lines[7:] == ["COPY . /app", 'CMD ["gunicorn", "app:application"]']


def test_options_and_interpreters() -> None:
    text = (CASES / "multi_requirements" / "Dockerfile").read_text()
    first, second = steps_of(text)
    assert first.interpreter == ("pip3", "pip")
    assert first.options == InstallOptions(
        requirements=("requirements/base.txt", "requirements/web.txt", "requirements/extra.txt",
                      "requirements/dev.txt"),
        constraints=("requirements/constraints.txt",),
        index_url="https://mirror.example/simple/",
        extra_index_urls=("https://a.example/simple/", "https://b.example/simple/"),
        no_deps=True, upgrade=True, only_binary=(":all:",))
    assert second.interpreter == ("pip3.13", "pip") and second.options.upgrade
    python = steps_of((CASES / "python_m_pip" / "Dockerfile").read_text())
    assert [s.interpreter for s in python] == [
        ("python3", "python"), ("python", "python"), ("/opt/venv/bin/python3.12", "python"),
        ("/opt/venv/bin/pip", "pip"), ("python3", "python")]
    assert python[-1].options.requirements == ("requirements file.txt",)


def test_before_and_after_are_split_at_the_install() -> None:
    steps = steps_of((CASES / "before_after" / "Dockerfile").read_text())
    assert [(s.before, s.after) for s in steps] == [
        ("apt-get update && apt-get install -y --no-install-recommends libpq-dev gcc",
         "apt-get purge -y gcc && rm -rf /var/lib/apt/lists/* /tmp/requirements.txt"),
        ("mkdir -p /data", "rm -rf /root/.cache"),
        ('echo "installing ${PYTHON_VERSION}"', "rm -rf /tmp/*"),
    ]  # cd / export before the install, or two pip installs: left alone


def test_stages_and_run_flags() -> None:
    steps = steps_of((CASES / "multi_stage" / "Dockerfile").read_text())
    assert [(s.stage_index, s.stage_name, s.line) for s in steps] == [
        (0, "builder", 6), (1, "test", 10), (2, None, 14)]
    mount = steps_of((CASES / "run_mount" / "Dockerfile").read_text())
    assert [s.run_flags for s in mount] == [
        ("--mount=type=cache,target=/root/.cache/pip", "--mount=type=tmpfs,target=/tmp"),
        ("--network=none", '--mount="type=cache,id=pip,target=/root/.cache"'),
        (),  # `RUN -- cmd`: "--" ends the flags
    ]  # bind (the default type), secret and ssh mounts, unknown flags: left alone


@pytest.mark.parametrize("case", ["positional_package", "unsafe_shell", "no_install_step"])
def test_doubtful_runs_are_left_alone(case: str) -> None:
    assert steps_of((CASES / case / "Dockerfile").read_text()) == ()


def test_heredoc_bodies_are_not_instructions() -> None:
    text = (CASES / "heredoc" / "Dockerfile").read_text()
    assert [s.line for s in steps_of(text)] == [14]


def test_heredoc_markers_inside_quotes_open_no_heredoc() -> None:
    """BuildKit lexes the line into quoted words first: `'x <<A y'` is one word, not a heredoc."""
    text = "FROM python\nRUN echo 'x <<A y'\nRUN cat <<B\nA\nRUN pip install -r r.txt\nB\n"
    assert steps_of(text) == ()  # line 5 is the body of <<B
    text = "FROM python\nRUN cat <<'one two' > /x\nhi\none two\nRUN pip install -r r.txt\n"
    assert [s.line for s in steps_of(text)] == [5]


def test_escape_directive_and_comments_inside_continuations() -> None:
    step = only_step((CASES / "escape_backtick" / "Dockerfile").read_text())
    assert (step.line, step.options.requirements, step.after) == (4, ("/req/requirements.txt",), 'echo "a\\b"')
    first, second = steps_of((CASES / "continuation_comments" / "Dockerfile").read_text())
    assert first.options.requirements == ("requirements.txt",)
    assert first.options.constraints == ("constraints.txt",) and first.after == "rm -rf ~/.cache"
    assert (second.key, second.options.requirements) == (9, ("other.txt",))


def test_a_command_ending_in_an_escaped_blank_is_not_split_off() -> None:  # found by test_fuzz
    """Re-emitted at the end of a RUN line, `echo \\ ` would lose its blank: BuildKit trims lines."""
    assert steps_of("# escape=`\nFROM python\nRUN echo \\ && pip install -r r.txt\n") == ()
    assert len(steps_of("# escape=`\nFROM python\nRUN echo '\\ ' && pip install -r r.txt\n")) == 1


def test_user_is_an_error_that_names_file_and_line() -> None:
    text = "FROM python:3.13\nRUN echo hi\nRUN pip install --user -r requirements.txt\n"
    with pytest.raises(InputError) as info:
        dockerfile.find_install_steps(text, "app.Dockerfile")
    assert isinstance(info.value, FrontendError)
    assert (info.value.file, info.value.line) == ("app.Dockerfile", 3)
    assert str(info.value).startswith("app.Dockerfile:3: pip install --user is not supported")


def test_user_in_a_run_that_is_not_a_step_is_no_error() -> None:
    assert steps_of("FROM python\nRUN pip install --user flask\nRUN pip install --user -r r.txt; true\n") == ()


def test_rewrite_with_nothing_to_replace_is_no_user_error() -> None:  # found by test_fuzz
    """PYLAYERS_DISABLE=1, the way out the --user message offers, rewrites with no replacements."""
    text = "# syntax=x\nFROM python:3.13\nRUN pip install --user -r requirements.txt\n"
    assert dockerfile.rewrite(text, {}) == "FROM python:3.13\nRUN pip install --user -r requirements.txt\n"


def test_rewrite_keeps_other_steps_and_crlf_byte_for_byte() -> None:
    text = ("# syntax=x\r\nFROM python:3.13\r\nRUN pip install -r a.txt \\\r\n  && rm a.txt\r\n"
            "RUN pip install -r b.txt\r\nCMD [\"python\"]")
    first, second = steps_of(text)
    assert dockerfile.rewrite(text, {first.key: ("c1",)}) == (
        "FROM python:3.13\r\nCOPY --link --from=c1 / /\r\nRUN rm a.txt\r\n"
        "RUN pip install -r b.txt\r\nCMD [\"python\"]")
    assert dockerfile.rewrite(text, {}) == text[len("# syntax=x\r\n"):]


def test_rewrite_with_no_contexts_keeps_only_before_and_after() -> None:
    text = "FROM python\nRUN pip install -r r.txt\nRUN mkdir /a && pip install -r r.txt && rm r.txt\n"
    first, second = steps_of(text)
    assert dockerfile.rewrite(text, {first.key: (), second.key: ()}) == (
        "FROM python\nRUN mkdir /a\nRUN rm r.txt\n")


def test_rewrite_of_a_step_at_end_of_file_without_newline() -> None:
    text = "FROM python\nRUN --mount=type=cache,target=/c pip install -r r.txt && rm r.txt"
    assert rewritten(text, ("a",)) == (
        "FROM python\nCOPY --link --from=a / /\nRUN --mount=type=cache,target=/c rm r.txt")


def test_rewrite_without_link_and_with_a_removal_before_the_copies() -> None:
    text = "FROM python\nRUN mkdir /a && pip install -r r.txt && rm r.txt\n"
    (step,) = steps_of(text)
    assert dockerfile.rewrite(text, {step.key: ("a", "b")}, link=False, removals={step.key: 'RUN ["rm"]'}) == (
        'FROM python\nRUN mkdir /a\nRUN ["rm"]\nCOPY --from=a / /\nCOPY --from=b / /\nRUN rm r.txt\n')


def test_stage_layer_counts_count_run_copy_add_and_workdir_per_stage() -> None:
    text = ("FROM a AS one\nENV X=1\nRUN true\nCOPY x y\nFROM one\nWORKDIR /w\nADD u v\n"
            "RUN <<EOF\necho hi\nEOF\nCMD [\"x\"]\n")
    assert dockerfile.stage_layer_counts(text) == (2, 3)


def test_rewrite_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError):
        dockerfile.rewrite("FROM python\nRUN true\n", {1: ("a",)})


def test_syntax_directive_is_found_only_among_the_directives() -> None:
    assert dockerfile.has_syntax_directive("# check=error=true\n#  SYNTAX = x\nFROM a\n")
    assert not dockerfile.has_syntax_directive("FROM a\n# syntax=x\n")
    assert not dockerfile.has_syntax_directive("# a comment\n# syntax=x\nFROM a\n")
    assert dockerfile.rewrite("# a comment\n# syntax=x\nFROM a\n", {}) == "# a comment\n# syntax=x\nFROM a\n"


def test_a_repeated_syntax_directive_does_not_survive_the_rewrite() -> None:  # found by test_fuzz
    text = "# syntax=a\n# escape=`\n#syntax=b\nFROM x\nRUN pip install -r r.txt\n"
    rewritten = dockerfile.rewrite(text, {only_step(text).key: ("c",)})
    assert rewritten == "# escape=`\nFROM x\nCOPY --link --from=c / /\n"
    assert dockerfile.rewrite(rewritten, {}) == rewritten
    assert dockerfile.stage_base(text, only_step(text))[0] == "# escape=`\nFROM x AS pylayers-stage\n"


MULTI = """\
# syntax=localhost:5000/pylayers:dev
ARG PY=3.13
FROM python:${PY} AS base
RUN pip install -r base.txt

FROM --platform=$BUILDPLATFORM base
WORKDIR /app
RUN apt-get update && pip install -r app.txt && rm app.txt
COPY . .

FROM base AS final
"""


def test_stage_prefix_of_a_named_stage() -> None:
    first = steps_of(MULTI)[0]
    assert dockerfile.stage_prefix(MULTI, first) == ("ARG PY=3.13\nFROM python:${PY} AS base\n", "base")
    assert dockerfile.stage_base(MULTI, first) == ("ARG PY=3.13\nFROM python:${PY} AS base\n", "base")


def test_stage_prefix_of_an_unnamed_stage_runs_before_and_names_it() -> None:
    second = steps_of(MULTI)[1]
    df, target = dockerfile.stage_prefix(MULTI, second)
    assert target == "pylayers-stage"
    assert df == ("ARG PY=3.13\nFROM python:${PY} AS base\nRUN pip install -r base.txt\n\n"
                  "FROM --platform=$BUILDPLATFORM base AS pylayers-stage\nWORKDIR /app\n"
                  "RUN apt-get update\n")


def test_stage_base_keeps_only_the_from_of_the_step_stage() -> None:
    second = steps_of(MULTI)[1]
    assert dockerfile.stage_base(MULTI, second) == (
        "ARG PY=3.13\nFROM python:${PY} AS base\nRUN pip install -r base.txt\n\n"
        "FROM --platform=$BUILDPLATFORM base AS pylayers-stage\n", "pylayers-stage")


def test_stage_cuts_keep_run_flags_and_other_directives() -> None:
    text = ("# escape=`\n# syntax=x\nFROM `\n  python:3.13\nRUN --mount=type=cache,target=/c "
            "mkdir /x && pip install -r r.txt\n")
    step = only_step(text)
    assert dockerfile.stage_prefix(text, step) == (
        "# escape=`\nFROM python:3.13 AS pylayers-stage\nRUN --mount=type=cache,target=/c mkdir /x\n",
        "pylayers-stage")
    assert dockerfile.stage_base(text, step)[0] == "# escape=`\nFROM python:3.13 AS pylayers-stage\n"


def test_stage_name_does_not_collide() -> None:
    text = "FROM a AS pylayers-stage\nFROM pylayers-stage\nRUN pip install -r r.txt\n"
    assert dockerfile.stage_prefix(text, only_step(text))[1] == "pylayers-stage-1"


def test_values_are_frozen() -> None:
    step = only_step("FROM a\nRUN pip install -r r.txt\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.line = 3  # type: ignore[misc]


def test_stage_prefix_with_earlier_steps_replaced():
    text = ("FROM python:3.13\nWORKDIR /app\nCOPY uv.lock .\nRUN uv sync --frozen --no-install-project\n"
            "COPY src src\nRUN apt-get update && uv sync --frozen\n")
    first, second = steps_of(text)
    body, target = dockerfile.stage_prefix(text, second, {first.key: ("pylayers-1-env", "pylayers-1-six")})
    assert target == "pylayers-stage"
    assert body == ("FROM python:3.13 AS pylayers-stage\nWORKDIR /app\nCOPY uv.lock .\n"
                    "COPY --link --from=pylayers-1-env / /\nCOPY --link --from=pylayers-1-six / /\n"
                    "COPY src src\nRUN apt-get update\n")
    assert dockerfile.stage_prefix(text, second)[0].splitlines()[3] == "RUN uv sync --frozen --no-install-project"


def test_the_sdist_build_environment_stops_before_the_first_copy_add_or_install_step():
    text = ("FROM python:3.13\nRUN apt-get install -y gcc\nENV CC=gcc\nWORKDIR /app\nCOPY requirements.txt .\n"
            "RUN apt-get install -y libpq-dev\nRUN pip install -r requirements.txt\n")
    assert dockerfile.build_env_prefix(text, only_step(text)) == (
        "FROM python:3.13 AS pylayers-stage\nRUN apt-get install -y gcc\nENV CC=gcc\nWORKDIR /app\n",
        "pylayers-stage")
    first, second = steps_of(MULTI)
    assert dockerfile.build_env_prefix(MULTI, first) == ("ARG PY=3.13\nFROM python:${PY} AS base\n", "base")
    assert dockerfile.build_env_prefix(MULTI, second)[0].endswith(  # `before` (apt-get update) not run
        "FROM --platform=$BUILDPLATFORM base AS pylayers-stage\nWORKDIR /app\n")
    text = "FROM a\nADD https://x/y.tgz /y\nRUN pip install -r /r.txt\nRUN pip install -r /s.txt\n"
    assert [dockerfile.build_env_prefix(text, s)[0] for s in steps_of(text)] == ["FROM a AS pylayers-stage\n"] * 2
