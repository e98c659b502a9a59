"""`pip install` arguments → InstallOptions, or None when pylayers must leave the step alone.

pip parses its options with optparse: short options may be clustered (`-qU`, `-rfile`) and take
their value from the same or the next word; long options take `--name value` or `--name=value`.
Abbreviated long options, positional requirements and every option not listed here make the step
"not ours": it then runs as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from packaging.utils import canonicalize_name

from .model import InstallOptions

# option → field it fills; "" = accepted and ignored (does not change what is installed)
_VALUE = {
    "-r": "requirements", "--requirement": "requirements",
    "-c": "constraints", "--constraint": "constraints",
    "-i": "index_url", "--index-url": "index_url",
    "--extra-index-url": "extra_index_urls",
    "--progress-bar": "", "--root-user-action": "", "--only-binary": "only_binary",
}
_FLAG = {
    "--no-deps": "no_deps", "-U": "upgrade", "--upgrade": "upgrade", "--user": "user",
    "--no-cache-dir": "", "-q": "", "--quiet": "", "-v": "", "--verbose": "", "--no-color": "",
    "--disable-pip-version-check": "", "--no-input": "", "--no-warn-script-location": "",
    "--no-compile": "", "--prefer-binary": "", "--require-hashes": "",
    "--break-system-packages": "", "--pre": "pre",
}


class _Refused(Exception):
    """An argument pylayers does not handle: the step runs as written."""


@dataclass(frozen=True)
class ParsedInstall:
    options: InstallOptions
    user: bool  # --user was given (an error the caller reports, once the step is otherwise ours)


def parse_install_args(args: Sequence[str]) -> ParsedInstall | None:
    found: dict[str, list] = {}
    try:
        pos = 0
        while pos < len(args):
            pos = _option(args, pos, found)
    except _Refused:
        return None
    options = InstallOptions(
        requirements=tuple(found.get("requirements", ())),
        constraints=tuple(found.get("constraints", ())),
        index_url=found["index_url"][-1] if "index_url" in found else None,
        extra_index_urls=tuple(found.get("extra_index_urls", ())),
        no_deps="no_deps" in found,
        upgrade="upgrade" in found,
        pre="pre" in found,
        only_binary=_only_binary(found.get("only_binary", ())),
    )
    return ParsedInstall(options, "user" in found)


def _only_binary(values: Sequence[str]) -> tuple[str, ...]:
    """pip's --only-binary values in force (`:all:`, `:none:` and names, comma-separated)."""
    names: dict[str, None] = {}
    for name in (n for value in values for n in value.split(",")):
        if name == ":none:":
            names.clear()
        elif name == ":all:":
            names = {":all:": None}
        else:
            names[canonicalize_name(name)] = None
    return tuple(names)


def _option(args: Sequence[str], pos: int, found: dict[str, list]) -> int:
    """Consume the option at args[pos]; return the position of the next one."""
    arg = args[pos]
    if arg.startswith("--"):
        name, eq, value = arg.partition("=")
        if name in _FLAG and not eq:
            return _store(found, _FLAG[name], None, pos + 1)
        if name in _VALUE:
            return _value(args, pos + 1, value if eq else None, _VALUE[name], found)
    elif arg.startswith("-") and len(arg) > 1:
        return _short_cluster(args, pos, found)
    raise _Refused(arg)


def _short_cluster(args: Sequence[str], pos: int, found: dict[str, list]) -> int:
    arg = args[pos]
    for index, char in enumerate(arg[1:], start=2):
        name = "-" + char
        if name in _VALUE:
            return _value(args, pos + 1, arg[index:] or None, _VALUE[name], found)
        if name not in _FLAG:
            raise _Refused(arg)
        _store(found, _FLAG[name], None, pos)
    return pos + 1


def _value(args: Sequence[str], pos: int, inline: str | None, field: str, found) -> int:
    """Store the option's value: inline (`-rFILE`, `--opt=FILE`) or the next word."""
    if inline is None:
        if pos >= len(args):
            raise _Refused("missing value")
        inline, pos = args[pos], pos + 1
    if not inline or inline.startswith("-"):
        raise _Refused(inline)
    return _store(found, field, inline, pos)


def _store(found: dict[str, list], field: str, value: str | None, pos: int) -> int:
    if field:
        found.setdefault(field, []).append(value)
    return pos
