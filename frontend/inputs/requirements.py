"""pip's requirements-file format → pinned requirements, with their file and line.

Follows pip's own preprocessing (pip/_internal/req/req_file.py): backslash continuations joined
first (a requirement keeps the line number of its first physical line), then comments removed,
then `${NAME}` expanded from the stage's environment; a line is a requirement followed by its
options (`--hash`), or options alone (`-r`, `-c`, `-i`, ...), parsed like pip with optparse.

Every error is collected, so one pass reports all the problems of all the files.
"""

from __future__ import annotations

import optparse
import posixpath
import re
import shlex
from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterable, Iterator, Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import InputError, InputErrors

Read = Callable[[str], bytes]

NOT_FOUND = "not found in the build stage (paths are relative to the RUN's working directory)"
INCLUDE_NOT_FOUND = "not found in the build stage (-r/-c paths are relative to the including file)"
NOT_PINNED = "is not pinned: pylayers needs `name==version` for every requirement (lock files are coming)"
NOT_FROM_INDEX = "is not supported yet: pylayers installs `name==version` from a package index"

_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_OPTION_START = re.compile(r"(?:^|\s)(?=-)")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_ARCHIVE = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")
_REQUIREMENT_OPTIONS = ("hashes", "ignored", "ignored_flags")  # the dests allowed after a requirement
_SHA256 = re.compile(r"^sha256:([0-9a-f]{64})$", re.IGNORECASE)
# a symbolic link loop (`sub -> .`) makes `-r sub/x.txt` a new path at every level: no cycle to see
MAX_INCLUDE_DEPTH = 10
MAX_FILES_READ = 200


@dataclass(frozen=True)
class Pin:
    name: str  # canonical name
    version: str  # the exact version from == ("" for a constraint that is not a pin)
    extras: tuple[str, ...]
    marker: str | None
    hashes: tuple[str, ...]  # "sha256:<hex>", lowercase
    file: str
    line: int  # 1-based, the first physical line of the requirement
    text: str  # the requirement as written, without its options
    specifier: str = ""  # the full version specifier, e.g. "==1.0" (constraints may be ranges)


@dataclass(frozen=True)
class RequirementSet:
    file: str
    pins: tuple[Pin, ...]  # the file's requirements and those of its -r includes, in order
    constraints: tuple[Pin, ...]  # from -c files
    index_url: str | None  # the last --index-url / -i of the files
    extra_index_urls: tuple[str, ...]


def parse_requirements(path: str, read: Read, env: Mapping[str, str]) -> RequirementSet:
    """Parse `path` and its includes; raises InputError, or InputErrors if there are several."""
    parser = _Parser(read, env)
    parser.parse_file(path, constraint=False, stack=(), origin=None)
    pins, merge_errors = merge_pins(parser.pins, key=lambda p: (p.name, p.marker))
    raise_errors([*parser.errors, *merge_errors])
    return RequirementSet(file=path, pins=pins, constraints=tuple(parser.constraints),
                          index_url=parser.index_url,
                          extra_index_urls=tuple(dict.fromkeys(parser.extra_index_urls)))


def raise_errors(errors: Iterable[InputError]) -> None:
    errors = list(errors)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)


def merge_pins(pins: Iterable[Pin], key: Callable[[Pin], Hashable] = lambda p: p.name
               ) -> tuple[tuple[Pin, ...], tuple[InputError, ...]]:
    """Pins of the same key merged in first-seen order; a different version is an error at the later."""
    kept: dict[Hashable, Pin] = {}
    errors: list[InputError] = []
    for pin in pins:
        first = kept.get(key(pin))
        if first is None:
            kept[key(pin)] = pin
        elif not same_version(first.version, pin.version):
            errors.append(InputError(pin.file, pin.line, f"{pin.name}=={pin.version} conflicts with "
                                     f"{first.name}=={first.version} at {first.file}:{first.line}"))
        elif first.hashes and pin.hashes and not set(first.hashes) & set(pin.hashes):
            errors.append(InputError(pin.file, pin.line, f"the --hash values of {pin.name}=={pin.version} "
                                     f"have none in common with those at {first.file}:{first.line}"))
        else:
            kept[key(pin)] = _merged(first, pin)
    return tuple(kept.values()), tuple(errors)


def same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _merged(first: Pin, other: Pin) -> Pin:
    """Like pip: extras add up, and hashes narrow (no hashes = any file)."""
    hashes = tuple(h for h in first.hashes if h in other.hashes) if other.hashes else first.hashes
    extras = tuple(dict.fromkeys(first.extras + other.extras))
    return replace(first, extras=extras, hashes=hashes or other.hashes)


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line, line) with continuations joined and comments removed, like pip."""
    start: int | None = None
    parts: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.endswith("\\") and not _COMMENT.match(line):
            start = number if start is None else start
            parts.append(line.rstrip("\\"))
            continue
        parts.append(" " + line if _COMMENT.match(line) else line)
        yield _uncommented(start or number, "".join(parts))
        start, parts = None, []
    if parts:
        yield _uncommented(start or 1, "".join(parts))


def _uncommented(number: int, line: str) -> tuple[int, str]:
    return number, _COMMENT.sub("", line).strip()


def expand_env(line: str, env: Mapping[str, str]) -> str:
    """pip's ${NAME} expansion; unknown names stay as written."""
    return _ENV_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), line)


class _LineError(Exception):
    """A problem of the line being parsed; becomes an InputError at that line."""


class _OptionParser(optparse.OptionParser):
    def error(self, msg: str) -> None:  # optparse would print and exit
        if msg.startswith("no such option: "):
            msg = "unknown option " + msg[len("no such option: "):]
        raise _LineError(msg)


def _option_parser() -> _OptionParser:
    p = _OptionParser(add_help_option=False, usage=optparse.SUPPRESS_USAGE)
    for flags, dest in ((("-r", "--requirement"), "requirements"), (("-c", "--constraint"), "constraints"),
                        (("-e", "--editable"), "editables"), (("--extra-index-url",), "extra_index_urls"),
                        (("-f", "--find-links"), "find_links"), (("--hash",), "hashes"),
                        (("--trusted-host",), None), (("--no-binary",), None), (("--only-binary",), None),
                        (("--use-feature",), None), (("--config-settings",), None),
                        (("--global-option",), None)):
        p.add_option(*flags, dest=dest or "ignored", action="append")
    p.add_option("-i", "--index-url", "--pypi-url", dest="index_url")
    p.add_option("--no-index", dest="no_index", action="store_true")
    for flag in ("--prefer-binary", "--pre", "--require-hashes"):
        p.add_option(flag, dest="ignored_flags", action="store_true")
    return p


def _parse_options(text: str) -> optparse.Values:
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise _LineError(f"cannot parse options '{text}': {exc}") from None
    opts, rest = _option_parser().parse_args(tokens)
    if rest:
        raise _LineError(f"unexpected argument '{rest[0]}' after options")
    return opts


def _hashes(values: list[str] | None) -> tuple[str, ...]:
    found = []
    for value in values or ():
        match = _SHA256.match(value)
        if not match:
            raise _LineError(f"unsupported --hash '{value}': pylayers checks sha256 hashes "
                               "(--hash=sha256:<64 hex digits>)")
        found.append("sha256:" + match.group(1).lower())
    return tuple(dict.fromkeys(found))


def pinned_version(req: Requirement) -> str | None:
    """The version of a requirement pinned with exactly one `==X` or `===X`, else None."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and specs[0].version \
            and not specs[0].version.endswith(".*"):  # packaging accepts `===` with no version
        return specs[0].version
    return None


def _is_url_or_path(text: str) -> bool:
    first = text.split(";", 1)[0].strip()
    return (bool(_URL.match(first)) or first.startswith((".", "/", "~"))
            or first.lower().endswith(_ARCHIVE))


class _Parser:
    """One parse: the pins, constraints, index options and errors of a file and its includes."""

    def __init__(self, read: Read, env: Mapping[str, str]) -> None:
        self.read, self.env = read, env
        self.errors: list[InputError] = []
        self.pins: list[Pin] = []
        self.constraints: list[Pin] = []
        self.index_url: str | None = None
        self.extra_index_urls: list[str] = []
        self.files_read = 0
        self.gave_up = False  # an include limit was reached: no more includes are read

    def parse_file(self, path: str, constraint: bool, stack: tuple[str, ...],
                   origin: tuple[str, int, str] | None) -> None:
        text = self._load(path, origin)
        for number, line in logical_lines(text or ""):
            if line:
                self._line(path, number, expand_env(line, self.env), constraint,
                           stack + (posixpath.normpath(path),))

    def _load(self, path: str, origin: tuple[str, int, str] | None) -> str | None:
        file, line, written = origin or (path, 0, path)
        self.files_read += 1
        try:
            data = self.read(path)
        except FileNotFoundError:
            reason = NOT_FOUND if origin is None else f"{path} {INCLUDE_NOT_FOUND}"
            self.errors.append(InputError(file, line, f"cannot read requirements file '{written}': {reason}"))
            return None
        except OSError as exc:
            self.errors.append(InputError(file, line, f"cannot read requirements file '{written}': {exc}"))
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.errors.append(InputError(path, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
            return None

    def _line(self, path: str, number: int, line: str, constraint: bool, stack: tuple[str, ...]) -> None:
        split = _OPTION_START.search(line)
        req_text = (line[:split.start()] if split else line).strip()
        try:
            opts = _parse_options(line[split.start():] if split else "")
            if req_text:
                self._requirement(path, number, req_text, opts, constraint)
            else:
                self._file_options(path, number, opts, constraint, stack)
        except _LineError as exc:
            self.errors.append(InputError(path, number, str(exc)))

    def _requirement(self, path: str, number: int, text: str, opts: optparse.Values,
                     constraint: bool) -> None:
        file_opts = [k for k, v in vars(opts).items() if v and k not in _REQUIREMENT_OPTIONS]
        if file_opts:
            raise _LineError(f"'{text}': only --hash may follow a requirement on its line")
        hashes = _hashes(opts.hashes)
        if _is_url_or_path(text):
            raise _LineError(f"'{text}' {NOT_FROM_INDEX}, not from a URL or path")
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise _LineError(f"invalid requirement '{text}': {str(exc).splitlines()[0]}") from None
        if req.url:
            raise _LineError(f"'{text}' {NOT_FROM_INDEX}, not from a URL or path")
        version = pinned_version(req)
        if version is None and not constraint:
            raise _LineError(f"'{text}' {NOT_PINNED}")
        extras = tuple(sorted(canonicalize_name(e) for e in req.extras))
        pin = Pin(name=canonicalize_name(req.name), version=version or "", extras=extras,
                  marker=str(req.marker) if req.marker else None, hashes=hashes, file=path,
                  line=number, text=text, specifier=str(req.specifier))
        (self.constraints if constraint else self.pins).append(pin)

    def _file_options(self, path: str, number: int, opts: optparse.Values, constraint: bool,
                      stack: tuple[str, ...]) -> None:
        if opts.hashes:
            raise _LineError("--hash must follow a requirement on the same line")
        if opts.editables:
            raise _LineError(f"editable requirement '-e {opts.editables[0]}' {NOT_FROM_INDEX}")
        if opts.find_links or opts.no_index:
            flag = "--find-links" if opts.find_links else "--no-index"
            raise _LineError(f"{flag} is not supported yet: pylayers installs from package indexes")
        self.index_url = opts.index_url or self.index_url
        self.extra_index_urls.extend(opts.extra_index_urls or ())
        for written in opts.requirements or ():
            self._include(path, number, written, constraint, stack)
        for written in opts.constraints or ():
            self._include(path, number, written, True, stack)

    def _include(self, path: str, number: int, written: str, constraint: bool,
                 stack: tuple[str, ...]) -> None:
        if _URL.match(written) and "://" in written:
            self.errors.append(InputError(path, number, f"requirements file '{written}' "
                                          "is a URL; only files of the build stage are supported yet"))
            return
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), written))
        if target in stack:
            cycle = " -> ".join(stack[stack.index(target):] + (target,))
            self.errors.append(InputError(path, number, f"'{written}' includes itself: {cycle}"))
            return
        if self.gave_up or len(stack) >= MAX_INCLUDE_DEPTH or self.files_read >= MAX_FILES_READ:
            self._give_up(path, number, written, deep=len(stack) >= MAX_INCLUDE_DEPTH)
            return
        self.parse_file(target, constraint, stack, origin=(path, number, written))

    def _give_up(self, path: str, number: int, written: str, deep: bool) -> None:
        """Reported once: past either limit, every further include would only repeat it."""
        if not self.gave_up:
            limit = f"nested more than {MAX_INCLUDE_DEPTH} deep" if deep else f"more than {MAX_FILES_READ} in all"
            self.errors.append(InputError(path, number, f"'{written}': requirements files {limit} "
                                          "(an include loop through a symbolic link?)"))
        self.gave_up = True
