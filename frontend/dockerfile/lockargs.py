"""`uv sync`, `uv pip install|sync` and `poetry install|sync` arguments → what they install.

Unlike plain pip (whose unknown options leave the step to run as written), these commands name a
lock: an option that would change what gets installed and that pylayers does not model is an
error naming the Dockerfile line, so that a build never silently installs something else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from .model import InstallOptions, LockOptions
from .pipargs import parse_install_args


class LockArgsError(Exception):
    """An argument pylayers cannot honour; the message names it."""


@dataclass(frozen=True)
class LockCommand:
    interpreter: tuple[str, str]
    options: InstallOptions
    lock: LockOptions | None


NO_OPTIONS = InstallOptions((), (), None, (), False, False)
# uv sync: option -> LockOptions field (list fields append, bool fields set); "" = no effect here
_UV_SYNC_VALUE = {"--extra": "extras", "--group": "groups", "--no-group": "without_groups",
                  "--only-group": "only_groups", "--link-mode": "", "--cache-dir": "", "--color": "",
                  "--python-preference": ""}
_UV_SYNC_FLAG = {"--frozen": "frozen", "--locked": "frozen", "--all-extras": "all_extras",
                 "--all-groups": "all_groups", "--no-default-groups": "no_default_groups",
                 "--no-install-project": "!install_project", "--no-install-workspace": "!install_project",
                 "--no-dev": "no_dev", "--only-dev": "only_dev", "--dev": "dev",
                 "-q": "", "--quiet": "", "-v": "", "--verbose": "", "--no-cache": "", "-n": "",
                 "--compile-bytecode": "", "--no-progress": "", "--inexact": "", "--exact": "",
                 "--no-python-downloads": "", "--native-tls": "", "--offline": "", "--no-editable": "",
                 "--no-build": "", "--no-build-isolation": "", "--no-install-local": "!install_project"}
_POETRY_VALUE = {"--with": "groups", "--without": "without_groups", "--only": "only_groups",
                 "-E": "extras", "--extras": "extras"}
_POETRY_FLAG = {"--no-root": "!install_project", "--all-extras": "all_extras", "--all-groups": "all_groups",
                "--sync": "", "--no-dev": "no_dev", "-n": "", "--no-interaction": "", "--no-ansi": "",
                "--ansi": "", "-q": "", "--quiet": "", "-v": "", "-vv": "", "-vvv": "", "--verbose": "",
                "--compile": "", "--no-cache": "", "--no-plugins": "", "--no-directory": "",
                "--remove-untracked": ""}
# uv pip: flags without effect on what is installed (the rest is pip's language)
_UV_PIP_FLAGS = ("--compile-bytecode", "--no-cache", "--strict", "--native-tls", "--offline", "-n")
_UV_PIP_VALUES = ("--link-mode", "--cache-dir", "--color")


def parse_uv(args: Sequence[str]) -> LockCommand | None:
    """`uv sync …` or `uv pip install|sync …` (args after `uv`); None if neither."""
    if args[:1] == ["sync"]:
        return LockCommand(("uv", "project"), NO_OPTIONS, _lock_options("uv", "uv.lock", args[1:],
                                                                        _UV_SYNC_VALUE, _UV_SYNC_FLAG, ","))
    if args[:2] in (["pip", "install"], ["pip", "sync"]):
        return _uv_pip(args[1], args[2:])
    return None


def parse_poetry(args: Sequence[str]) -> LockCommand | None:
    if args[:1] not in (["install"], ["sync"]):
        return None
    return LockCommand(("poetry", "project"), NO_OPTIONS,
                       _lock_options("poetry", "poetry.lock", args[1:], _POETRY_VALUE, _POETRY_FLAG, ", "))


def _lock_options(tool: str, file: str, args: Sequence[str], values, flags, separators: str) -> LockOptions:
    found: dict[str, list] = {}
    pos = 0
    while pos < len(args):
        name, eq, inline = args[pos].partition("=")
        if name in flags and not eq:
            found.setdefault(flags[name], []).append(True)
            pos += 1
        elif name in values:
            value = inline if eq else (args[pos + 1] if pos + 1 < len(args) else None)
            if not value or (not eq and value.startswith("-")):
                raise LockArgsError(f"{name} needs a value")
            for part in _split(value, separators):
                found.setdefault(values[name], []).append(part)
            pos += 1 if eq else 2
        else:
            raise LockArgsError(f"option {args[pos]!r} is not supported by pylayers")
    return _options(tool, file, found)


def _split(value: str, separators: str) -> list[str]:
    for sep in separators[1:]:
        value = value.replace(sep, separators[0])
    return [v for v in value.split(separators[0]) if v]


def _options(tool: str, file: str, found: dict[str, list]) -> LockOptions:
    lists = {k: tuple(found.get(k, ())) for k in ("extras", "groups", "without_groups", "only_groups")}
    if "no_dev" in found:
        lists["without_groups"] += ("dev",)
    if "only_dev" in found:
        lists["only_groups"] += ("dev",)
    if "dev" in found:
        lists["groups"] += ("dev",)
    return LockOptions(tool=tool, file=file, frozen="frozen" in found or tool != "uv",
                       all_extras="all_extras" in found, all_groups="all_groups" in found,
                       no_default_groups="no_default_groups" in found,
                       install_project="!install_project" not in found, **lists)


def _uv_pip(sub: str, args: Sequence[str]) -> LockCommand | None:
    rest, interpreter = [], ("uv", "uv-pip")
    pos = 0
    while pos < len(args):
        name, eq, inline = args[pos].partition("=")
        if name in ("--system", "--break-system-packages") and not eq:
            interpreter = ("python3", "python") if name == "--system" else interpreter
        elif name in ("--python", "-p"):
            value = inline if eq else (args[pos + 1] if pos + 1 < len(args) else "")
            interpreter, pos = (value, "python"), pos + (0 if eq else 1)
        elif name not in _UV_PIP_FLAGS and name not in _UV_PIP_VALUES:
            rest.append(args[pos])
        elif name in _UV_PIP_VALUES and not eq:
            pos += 1
        pos += 1
    if sub == "sync":
        rest = _files_as_requirements(rest)
    parsed = parse_install_args(rest)
    if parsed is None or not parsed.options.requirements:
        return None
    return LockCommand(interpreter, parsed.options, None)


def _files_as_requirements(args: list[str]) -> list[str]:
    """`uv pip sync a.txt b.txt` → `-r a.txt -r b.txt` (option values left as they are)."""
    out, takes_value = [], False
    for arg in args:
        if takes_value or arg.startswith("-"):
            out.append(arg)
            takes_value = not takes_value and arg in _PIP_VALUE_OPTIONS
        else:
            out += ["-r", arg]
    return out


_PIP_VALUE_OPTIONS = ("-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url")


def pylock_command(command: LockCommand, is_pylock) -> LockCommand:
    """A requirements install whose one file is a pylock.toml becomes a pylock install."""
    files = command.options.requirements
    if not any(is_pylock(f) for f in files):
        return command
    if len(files) != 1 or command.options.constraints:
        raise LockArgsError("a pylock.toml is installed alone: no other -r or -c files with it")
    return replace(command, lock=LockOptions(tool="pylock", file=files[0]))
