"""The options of one requirements-file line, parsed like pip with optparse.

pip's own list (pip/_internal/req/req_file.py SUPPORTED_OPTIONS): per-file options stand alone on
their line; only --hash (and --config-settings/--global-option, which change nothing for wheels)
may follow a requirement.
"""

from __future__ import annotations

import optparse
import re
import shlex

from packaging.utils import canonicalize_name

_SHA256 = re.compile(r"^sha256:([0-9a-f]{64})$", re.IGNORECASE)
# the dests allowed after a requirement on its line
REQUIREMENT_OPTIONS = ("hashes", "ignored")


class LineError(Exception):
    """A problem of the line being parsed; becomes an InputError at that line."""


class _OptionParser(optparse.OptionParser):
    def error(self, msg: str) -> None:  # optparse would print and exit
        if msg.startswith("no such option: "):
            msg = "unknown option " + msg[len("no such option: "):]
        raise LineError(msg)


def _option_parser() -> _OptionParser:
    p = _OptionParser(add_help_option=False, usage=optparse.SUPPRESS_USAGE)
    for flags, dest in ((("-r", "--requirement"), "requirements"), (("-c", "--constraint"), "constraints"),
                        (("-e", "--editable"), "editables"), (("--extra-index-url",), "extra_index_urls"),
                        (("-f", "--find-links"), "find_links"), (("--hash",), "hashes"),
                        (("--no-binary",), "no_binary"), (("--only-binary",), "only_binary"),
                        (("--trusted-host",), "file_ignored"), (("--use-feature",), "file_ignored"),
                        (("--config-settings",), None), (("--global-option",), None)):
        p.add_option(*flags, dest=dest or "ignored", action="append")
    p.add_option("-i", "--index-url", "--pypi-url", dest="index_url")
    for flag, dest in (("--no-index", "no_index"), ("--pre", "pre"), ("--require-hashes", "require_hashes"),
                       ("--prefer-binary", "file_flag_ignored")):
        p.add_option(flag, dest=dest, action="store_true")
    return p


def parse_options(text: str) -> optparse.Values:
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise LineError(f"cannot parse options '{text}': {exc}") from None
    opts, rest = _option_parser().parse_args(tokens)
    if rest:
        raise LineError(f"unexpected argument '{rest[0]}' after options")
    return opts


def sha256_hashes(values: list[str] | None) -> tuple[str, ...]:
    found = []
    for value in values or ():
        match = _SHA256.match(value)
        if not match:
            raise LineError(f"unsupported --hash '{value}': pylayers checks sha256 hashes "
                            "(--hash=sha256:<64 hex digits>)")
        found.append("sha256:" + match.group(1).lower())
    return tuple(dict.fromkeys(found))


def handle_mutual_excludes(value: str, target: dict, other: dict, where: object) -> None:
    """pip's FormatControl.handle_mutual_excludes, on dicts of name → where it was given."""
    new = value.split(",")
    while ":all:" in new:
        other.clear()
        target.clear()
        target[":all:"] = where
        del new[: new.index(":all:") + 1]
        if ":none:" not in new:
            return
    for name in new:
        if name == ":none:":
            target.clear()
            continue
        name = canonicalize_name(name)
        other.pop(name, None)
        target[name] = where
