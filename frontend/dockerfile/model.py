"""The values find_install_steps reports: what one install step (pip, uv, Poetry) asks for."""

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
    pre: bool = False  # --pre
    only_binary: tuple[str, ...] = ()  # --only-binary in force: canonical names, or ":all:"


@dataclass(frozen=True)
class LockOptions:
    """What a lock-file install step asks for: `uv sync`, `poetry install|sync`, a pylock.toml."""

    tool: str  # "uv" (uv.lock), "poetry" (poetry.lock) or "pylock" (PEP 751 file)
    file: str  # the lock file, relative to the RUN's working directory or absolute
    frozen: bool = True  # uv sync: --frozen or --locked given (else UV_FROZEN/UV_LOCKED must be set)
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    groups: tuple[str, ...] = ()  # --group / --with
    without_groups: tuple[str, ...] = ()  # --no-group / --without / --no-dev
    only_groups: tuple[str, ...] = ()  # --only-group / --only / --only-dev
    all_groups: bool = False
    no_default_groups: bool = False
    install_project: bool = True  # false with --no-install-project / --no-root


@dataclass(frozen=True)
class NetrcSecret:
    """A BuildKit secret the install step mounts as a netrc: the index credentials."""

    id: str  # the secret's id (`--secret id=…` of the build)
    required: bool = False  # `required=true`: the build fails without it


@dataclass(frozen=True)
class InstallStep:
    """One RUN instruction that pylayers can replace by one layer per package."""

    key: int  # 0-based index of the RUN's first physical line: the step's stable identity
    line: int  # 1-based line of the RUN in the Dockerfile
    stage_index: int  # 0-based index of the stage (FROM) that contains it
    stage_name: str | None  # the stage's AS name, lowercased, or None
    # (executable as written, "pip" | "python"), or for uv and Poetry ("uv", "uv-pip") — the
    # active or UV_SYSTEM_PYTHON environment — and ("uv" | "poetry", "project"): the project's
    # environment, decided from the stage's ENV when the step is built
    interpreter: tuple[str, str]
    options: InstallOptions
    run_flags: tuple[str, ...]  # the RUN's own flags as written, e.g. ("--mount=type=cache,...",)
    before: str | None  # the && chain before the pip install, joined with " && "
    after: str | None  # the && chain after the pip install, joined with " && "
    lock: LockOptions | None = None  # a lock-file install; None: requirements files
    netrc: NetrcSecret | None = None  # credentials for the indexes, from a secret mount
    network: str | None = None  # the RUN's --network= ("host", "none"); None: the default
