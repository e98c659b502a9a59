from __future__ import annotations

from frontend.dockerfile import find_install_steps
from frontend.dockerfile.args import step_args

DOCKERFILE = """\
ARG BASE=python:3.13
ARG INDEX=https://global/simple
FROM $BASE AS deps
ARG INDEX
ARG EXTRA
ARG VERSION=1.0 "QUOTED=a b"
ARG LATE=x
RUN pip install -r requirements.txt
ARG AFTER=1
FROM deps
RUN pip install -r requirements.txt
"""


def test_args_in_scope_with_build_arg_overrides():
    first, second = find_install_steps(DOCKERFILE, "Dockerfile")
    assert step_args(DOCKERFILE, first, {"VERSION": "2.0", "UNDECLARED": "u"}) == {
        "INDEX": "https://global/simple", "VERSION": "2.0", "QUOTED": "a b", "LATE": "x"}
    assert step_args(DOCKERFILE, first, {"EXTRA": "e"})["EXTRA"] == "e"
    assert step_args(DOCKERFILE, second, {"VERSION": "2.0"}) == {}  # a new stage declares none
