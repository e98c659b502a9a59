"""The values find_install_steps reports: what one `RUN pip install -r FILE` step asks for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstallOptions:
    """The pip options of one install step that change what gets installed."""

    requirements: tuple[str, ...]  # -r/--requirement FILE values, in order, as written
    constraints: tuple[str, ...]  # -c/--constraint FILE values
    index_url: str | None  # -i/--index-url (the last one wins, as in pip)
    extra_index_urls: tuple[str, ...]  # --extra-index-url, in order
    no_deps: bool  # --no-deps
    upgrade: bool  # -U/--upgrade


@dataclass(frozen=True)
class InstallStep:
    """One RUN instruction that pylayers can replace by one layer per package."""

    key: int  # 0-based index of the RUN's first physical line: the step's stable identity
    line: int  # 1-based line of the RUN in the Dockerfile
    stage_index: int  # 0-based index of the stage (FROM) that contains it
    stage_name: str | None  # the stage's AS name, lowercased, or None
    interpreter: tuple[str, str]  # (executable as written, "pip" | "python")
    options: InstallOptions
    run_flags: tuple[str, ...]  # the RUN's own flags as written, e.g. ("--mount=type=cache,...",)
    before: str | None  # the && chain before the pip install, joined with " && "
    after: str | None  # the && chain after the pip install, joined with " && "
