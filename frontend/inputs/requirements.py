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
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping
from urllib.parse import unquote, urldefrag, urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from ..errors import InputError
from .pins import Pin, merge_pins, raise_errors  # noqa: F401 (Pin, merge_pins: re-exported)
from .reqoptions import (REQUIREMENT_OPTIONS, LineError, handle_mutual_excludes, parse_options,
                         sha256_hashes)

Read = Callable[[str], bytes]

NOT_FOUND = "not found in the build stage (paths are relative to the RUN's working directory)"
INCLUDE_NOT_FOUND = "not found in the build stage (-r/-c paths are relative to the including file)"
NOT_FROM_INDEX = ("is not supported yet: pylayers installs wheels from a package index or "
                  "`name @ https://…/file.whl` URLs")
NO_SDIST = "pylayers builds a source distribution only where no wheel fits the target"

_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_OPTION_START = re.compile(r"(?:^|\s)(?=-)")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_EXTRAS = re.compile(r"^(.*?)(?:\[([^\]]*)\])?$")  # a local directory and its [extras]
_ARCHIVE = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")
# a symbolic link loop (`sub -> .`) makes `-r sub/x.txt` a new path at every level: no cycle to see
MAX_INCLUDE_DEPTH = 10
MAX_FILES_READ = 200


@dataclass(frozen=True)
class LocalRequirement:
    """A project directory of the build stage, built into a wheel: `-e PATH`, `./PATH`, `file:` URLs."""

    path: str  # as written (a file: URL's path): relative to the RUN's working directory, like pip
    editable: bool
    extras: tuple[str, ...]  # `.[dev,test]`: canonical names
    file: str
    line: int
    text: str


@dataclass(frozen=True)
class RequirementSet:
    file: str
    pins: tuple[Pin, ...]  # the file's requirements and those of its -r includes, in order
    constraints: tuple[Pin, ...]  # from -c files
    index_url: str | None  # the last --index-url / -i of the files
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...] = ()  # http(s) URLs of pages of links (--find-links)
    no_index: bool = False
    pre: bool = False  # --pre: pre-releases are candidates too
    require_hashes: bool = False  # pip's hash-checking mode (a --hash or --require-hashes)
    only_binary: tuple[str, ...] = ()  # --only-binary in force: canonical names, or ":all:"
    locals: tuple[LocalRequirement, ...] = ()  # project directories to build, in order
    no_binary: tuple[str, ...] = ()  # --no-binary NAME in force: canonical names (built from their sdist)

    def allows_sdist(self, name: str) -> bool:
        return ":all:" not in self.only_binary and name not in self.only_binary


def parse_requirements(path: str, read: Read, env: Mapping[str, str], constraint: bool = False
                       ) -> RequirementSet:
    """Parse `path` and its includes; raises InputError, or InputErrors if there are several.

    `constraint`: `path` is a constraints file (pip's -c): its lines are constraints, not pins.
    """
    parser = _Parser(read, env)
    parser.parse_file(path, constraint=constraint, stack=(), origin=None)
    pins, merge_errors = merge_pins(parser.pins, key=lambda p: (p.name, p.marker))
    raise_errors([*parser.errors, *merge_errors, *parser.format_errors(), *parser.hash_errors()])
    return RequirementSet(file=path, pins=pins, constraints=tuple(parser.constraints),
                          index_url=parser.index_url,
                          extra_index_urls=tuple(dict.fromkeys(parser.extra_index_urls)),
                          find_links=tuple(dict.fromkeys(parser.find_links)), no_index=parser.no_index,
                          pre=parser.pre, require_hashes=bool(parser.hash_mode_at or parser.hashed_at),
                          only_binary=tuple(parser.only_binary), locals=tuple(parser.locals),
                          no_binary=tuple(n for n in parser.no_binary if n != ":all:"))


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


def pinned_version(req: Requirement) -> str | None:
    """The version of a requirement pinned with exactly one `==X` or `===X`, else None."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and specs[0].version \
            and not specs[0].version.endswith(".*"):  # packaging accepts `===` with no version
        return specs[0].version
    return None


def local_path(text: str) -> str | None:
    """The directory a requirement line names (`./dir`, `/dir`, `file:///dir`, `name @ file:…`), or None."""
    first = text.split(";", 1)[0].strip()
    if not _URL.match(first) and " @ " in first:
        first = first.split(" @ ", 1)[1].strip()
    if first.startswith("file:"):
        parts = urlsplit(first)
        if parts.netloc not in ("", "localhost"):
            return None
        path = unquote(parts.path)
    elif first.startswith((".", "/")):
        path = first
    else:
        return None
    return None if path.lower().endswith(_ARCHIVE) else path


def _requirement_of(text: str) -> tuple[Requirement, str | None, tuple[str, ...]]:
    """The requirement of a line, its direct wheel URL (without fragment) and the URL's sha256."""
    first = text.split(";", 1)[0].strip()
    if first.startswith((".", "/", "~")) or (first.lower().endswith(_ARCHIVE) and not _URL.match(first)
                                               and "@" not in first):
        raise LineError(f"'{text}' {NOT_FROM_INDEX}, not from a local path")
    written = text
    if _URL.match(first):  # a bare URL: pip takes the name from the wheel's file name
        try:
            name = parse_wheel_filename(urlsplit(first).path.rsplit("/", 1)[-1])[0]
        except InvalidWheelFilename:
            raise LineError(f"'{text}' {NOT_FROM_INDEX}, not from this URL") from None
        written = f"{name} @ {text}"
    try:
        req = Requirement(written)
    except (InvalidRequirement, InvalidSpecifier) as exc:  # packaging may raise either
        raise LineError(f"invalid requirement '{text}': {str(exc).splitlines()[0]}") from None
    if not req.url:
        return req, None, ()
    url, fragment = urldefrag(req.url)
    parts = urlsplit(url)
    filename = parts.path.rsplit("/", 1)[-1]
    if parts.scheme not in ("http", "https") or not filename.endswith(".whl"):
        raise LineError(f"'{text}' {NOT_FROM_INDEX}, not from this URL")
    try:
        if parse_wheel_filename(filename)[0] != canonicalize_name(req.name):
            raise LineError(f"'{text}': the wheel {filename} is not a wheel of {req.name}")
    except InvalidWheelFilename as exc:
        raise LineError(f"'{text}': invalid wheel file name ({exc})") from None
    algo, _, digest = fragment.partition("=")
    return req, url, sha256_hashes([f"sha256:{digest}"]) if algo == "sha256" else ()


class _Parser:
    """One parse: the pins, constraints, index options and errors of a file and its includes."""

    def __init__(self, read: Read, env: Mapping[str, str]) -> None:
        self.read, self.env = read, env
        self.errors: list[InputError] = []
        self.pins: list[Pin] = []
        self.constraints: list[Pin] = []
        self.index_url: str | None = None
        self.extra_index_urls: list[str] = []
        self.find_links: list[str] = []
        self.no_index = self.pre = False
        self.hash_mode_at: tuple[str, int] | None = None  # --require-hashes
        self.hashed_at: tuple[str, int] | None = None  # the first --hash of a requirement
        self.no_binary: dict[str, tuple[str, int, str]] = {}
        self.only_binary: dict[str, tuple[str, int, str]] = {}
        self.locals: list[LocalRequirement] = []
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
            opts = parse_options(line[split.start():] if split else "")
            if req_text:
                self._requirement(path, number, req_text, opts, constraint)
            else:
                self._file_options(path, number, opts, constraint, stack)
        except LineError as exc:
            self.errors.append(InputError(path, number, str(exc)))

    def _requirement(self, path: str, number: int, text: str, opts: optparse.Values,
                     constraint: bool) -> None:
        file_opts = [k for k, v in vars(opts).items() if v and k not in REQUIREMENT_OPTIONS]
        if file_opts:
            raise LineError(f"'{text}': only --hash may follow a requirement on its line")
        where = local_path(text)
        if where is not None:
            self._local(where, False, path_of=(path, number, text), constraint=constraint, hashed=bool(opts.hashes))
            return
        hashes = sha256_hashes(opts.hashes)
        if hashes and not constraint:
            self.hashed_at = self.hashed_at or (path, number)
        req, url, url_hash = _requirement_of(text)
        version = pinned_version(req)
        if url is not None:
            version = str(parse_wheel_filename(url.rsplit("/", 1)[-1])[1])
        extras = tuple(sorted(canonicalize_name(e) for e in req.extras))
        pin = Pin(name=canonicalize_name(req.name), version=version or "", extras=extras,
                  marker=str(req.marker) if req.marker else None,
                  hashes=tuple(dict.fromkeys(hashes + url_hash)), file=path, line=number, text=text,
                  specifier=f"=={version}" if url else str(req.specifier), url=url)
        (self.constraints if constraint else self.pins).append(pin)

    def _file_options(self, path: str, number: int, opts: optparse.Values, constraint: bool,
                      stack: tuple[str, ...]) -> None:
        if opts.hashes:
            raise LineError("--hash must follow a requirement on the same line")
        for value in opts.editables or ():
            where = local_path(value)
            if where is None:
                raise LineError(f"editable requirement '-e {value}' {NOT_FROM_INDEX}, or a local directory")
            self._local(where, True, path_of=(path, number, f"-e {value}"), constraint=constraint)
        for link in opts.find_links or ():
            if not link.startswith(("http://", "https://")):
                raise LineError(f"--find-links '{link}' is not supported yet: pylayers reads "
                                "--find-links pages from http(s) URLs only")
            self.find_links.append(link)
        self.no_index = self.no_index or bool(opts.no_index)
        self.pre = self.pre or bool(opts.pre)
        if opts.require_hashes:
            self.hash_mode_at = self.hash_mode_at or (path, number)
        for value in opts.no_binary or ():
            handle_mutual_excludes(value, self.no_binary, self.only_binary, (path, number, value))
        for value in opts.only_binary or ():
            handle_mutual_excludes(value, self.only_binary, self.no_binary, (path, number, value))
        self.index_url = opts.index_url or self.index_url
        self.extra_index_urls.extend(opts.extra_index_urls or ())
        for written in opts.requirements or ():
            self._include(path, number, written, constraint, stack)
        for written in opts.constraints or ():
            self._include(path, number, written, True, stack)

    def _local(self, where: str, editable: bool, path_of: tuple[str, int, str], constraint: bool,
               hashed: bool = False) -> None:
        file, number, text = path_of
        if constraint:
            raise LineError(f"'{text}': a local directory cannot be a constraint")
        if hashed:
            raise LineError(f"'{text}': a local directory has no --hash (it is built, not downloaded)")
        if ";" in text:
            raise LineError(f"'{text}': markers on a local directory are not supported yet")
        found = _EXTRAS.match(where)
        extras = tuple(sorted({canonicalize_name(e.strip()) for e in (found.group(2) or "").split(",") if e.strip()}))
        self.locals.append(LocalRequirement(found.group(1), editable, extras, file, number, text))

    def format_errors(self) -> list[InputError]:
        """--no-binary :all: would build every package and its build requirements from source: an
        error while it is in force (--no-binary NAME builds that package from its sdist)."""
        where = dict.fromkeys(v for k, v in self.no_binary.items() if k == ":all:")
        return [InputError(file, line, f"--no-binary {value} is not supported yet: {NO_SDIST}, or for "
                           "packages --no-binary names") for file, line, value in where]

    def hash_errors(self) -> list[InputError]:
        """pip's hash-checking mode: once one requirement has --hash, every one must be pinned and hashed."""
        if self.hashed_at is None and self.hash_mode_at is None:
            return []
        why = ("--hash at {}:{}".format(*self.hashed_at) if self.hashed_at is not None
               else "--require-hashes at {}:{}".format(*self.hash_mode_at))
        errors = []
        for pin in self.pins:
            if not pin.version or not pin.hashes:
                need = "be pinned with == and have a --hash" if not pin.version else "have a --hash"
                errors.append(InputError(pin.file, pin.line, f"'{pin.text}' has no --hash: in pip's "
                                         f"hash-checking mode ({why}) every requirement must {need}"))
        return errors

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
