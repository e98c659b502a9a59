"""Find the `RUN pip install -r FILE [&& ...]` steps of a Dockerfile that pylayers can replace.

Conservative by design: any doubt and the RUN is not a step, so BuildKit's Dockerfile frontend
runs it as written (always correct, only not split into layers).
"""

from __future__ import annotations

import posixpath
import re
from typing import Iterator

from ..errors import InputError
from ..inputs.pylock import is_pylock
from .lockargs import LockArgsError, LockCommand, parse_poetry, parse_uv, pylock_command
from .model import InstallStep, NetrcSecret
from .parser import Document, Instruction, exec_form, parse, split_flags, stage_name
from .pipargs import parse_install_args
from .shell import Command, Word, split_and_chain

_PIP = re.compile(r"pip(?:3(?:\.\d+)?)?")
_PYTHON = re.compile(r"python(?:3(?:\.\d+)?)?")
_MENTIONS_PIP = re.compile(r"(?:pip|uv|poetry)[\d.]*")
_INSTALL_WORDS = ("install", "sync")
_RUN_FLAGS = ("--network=", "--security=")
# mounts that cannot change what pip installs; bind, secret and ssh mounts may carry the
# requirements files, wheels or index configuration pylayers cannot see from the stage (except a
# secret mounted as a netrc: the index credentials, which pylayers's downloads then use)
_MOUNT_TYPES = ("cache", "tmpfs")
_NETRC_NAMES = (".netrc", "netrc", "_netrc")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
# builtins whose effect would outlive their command (and so reach the pip install)
_STATEFUL = frozenset((
    "cd", "pushd", "popd", "export", "unset", "set", "source", ".", "alias", "unalias", "umask",
    "ulimit", "readonly", "local", "declare", "typeset", "shift", "trap", "exec", "eval", "hash",
    "exit", "return", "break", "continue", "wait", "!", "{", "}", "if", "then", "else", "elif",
    "fi", "for", "while", "until", "do", "done", "case", "esac", "function", "[[", "]]",
))
USER_MESSAGE = (
    "pip install --user is not supported by pylayers: packages go into the interpreter's own "
    "site-packages; drop --user (or build with --build-arg PYLAYERS_DISABLE=1)"
)


def find_install_steps(text: str, filename: str) -> tuple[InstallStep, ...]:
    doc = parse(text)
    steps = (_step(doc, instr, index, name, filename) for instr, index, name in runs(doc))
    return tuple(step for step in steps if step is not None)


def runs(doc: Document) -> Iterator[tuple[Instruction, int, str | None]]:
    """Each RUN instruction after a FROM, with its stage's index and name."""
    index, name = -1, None
    for instr in doc.instructions:
        if instr.keyword == "from":
            index, name = index + 1, stage_name(instr.args)
        elif instr.keyword == "run" and index >= 0 and not instr.heredoc:
            yield instr, index, name


def _step(doc: Document, instr: Instruction, stage_index: int, name: str | None,
          filename: str) -> InstallStep | None:
    flags, command = split_flags(instr.args)
    secrets = [s for s in map(netrc_secret, flags) if s is not None]
    if len(secrets) > 1 or not all(_harmless_flag(f) or netrc_secret(f) for f in flags):
        return None
    chain = _commands(command)
    mentions = [i for i, c in enumerate(chain or ()) if _mentions_pip(c)]
    at = mentions[0] if len(mentions) == 1 else _the_lock_install(chain or (), mentions)
    if at is None:
        return None
    try:
        found, problem = _install(chain[at]), None
    except LockArgsError as exc:
        found, problem = None, exc
    if not _safe_around(chain[:at], chain[at + 1:], doc.escape):
        return None
    if problem is not None:
        raise InputError(filename, instr.start + 1, _problem_text(chain[at], problem))
    if found is None:
        return None
    return InstallStep(
        key=instr.start, line=instr.start + 1, stage_index=stage_index, stage_name=name,
        interpreter=found.interpreter, options=found.options, run_flags=flags,
        before=_joined(chain[:at]), after=_joined(chain[at + 1:]), lock=found.lock,
        netrc=secrets[0] if secrets else None, network=_network(flags),
    )


def _the_lock_install(chain: tuple[Command, ...], mentions: list[int]) -> int | None:
    """In `pip install poetry && poetry install`, the one lock install; the others run as RUNs."""
    found = []
    for index in mentions:
        try:
            command = _install(chain[index])
        except LockArgsError:
            return None
        if command is not None:
            found.append((index, command))
    if len(found) == 1 and found[0][1].lock is not None and found[0][1].lock.tool in ("uv", "poetry"):
        return found[0][0]
    return None


def _problem_text(command: Command, problem: LockArgsError) -> str:
    if str(problem) == USER_MESSAGE:
        return USER_MESSAGE
    return (f"{command.raw}: {problem} (pylayers installs the lock as it is; build with "
            "--build-arg PYLAYERS_DISABLE=1 to run this step as written)")


def _harmless_flag(flag: str) -> bool:
    if not flag.startswith("--mount="):
        return flag.startswith(_RUN_FLAGS)
    return _mount_fields(flag).get("type", [None]) in ([t] for t in _MOUNT_TYPES)


def _mount_fields(flag: str) -> dict[str, list[str]]:
    """`--mount=type=secret,id=x,target=/p` as {"type": ["secret"], "id": ["x"], …}."""
    fields: dict[str, list[str]] = {}
    for field in flag[len("--mount="):].replace('"', "").replace("'", "").split(","):
        key, _, value = field.partition("=")
        fields.setdefault(key.strip().lower(), []).append(value.strip())
    return fields


def netrc_secret(flag: str) -> NetrcSecret | None:
    """The secret of `--mount=type=secret,…` when it is mounted as a netrc file, else None.

    As BuildKit: the id defaults to the target's base name, the target to /run/secrets/<id>.
    """
    if not flag.startswith("--mount="):
        return None
    fields = _mount_fields(flag)
    one = {k: v[0] for k, v in fields.items() if len(v) == 1}
    if one.get("type") != "secret" or len(one) != len(fields):
        return None
    target = one.get("target") or one.get("dst") or one.get("destination") or ""
    secret_id = one.get("id") or posixpath.basename(target)
    if posixpath.basename(target or secret_id) not in _NETRC_NAMES or not secret_id:
        return None
    return NetrcSecret(secret_id, one.get("required", "false").lower() in ("true", "1", ""))


def _network(flags: tuple[str, ...]) -> str | None:
    values = [f.partition("=")[2] for f in flags if f.startswith("--network=")]
    return values[-1] if values and values[-1] in ("host", "none") else None


def _commands(command: str) -> tuple[Command, ...] | None:
    argv = exec_form(command)
    if argv is None:
        return split_and_chain(command)
    return (Command(command, tuple(Word(a, True) for a in argv)),) if argv else None


def _mentions_pip(command: Command) -> bool:
    values = command.values
    return (any(w in values for w in _INSTALL_WORDS)
            and any(_MENTIONS_PIP.fullmatch(posixpath.basename(v)) for v in values))


def _install(command: Command) -> LockCommand | None:
    """What a supported pip, uv or Poetry install command installs, else None."""
    if not all(w.literal for w in command.words):
        return None
    executable, *rest = command.values
    if "/" in executable and not executable.startswith("/"):
        return None
    base = posixpath.basename(executable)
    if base == "uv":
        found = parse_uv(rest)
    elif base == "poetry":
        found = parse_poetry(rest)
    elif _PIP.fullmatch(base) and rest[:1] == ["install"]:
        found = _pip(executable, "pip", rest[1:])
    elif _PYTHON.fullmatch(base) and rest[:3] == ["-m", "pip", "install"]:
        found = _pip(executable, "python", rest[3:])
    else:
        return None
    return None if found is None else pylock_command(found, is_pylock)


def _pip(executable: str, kind: str, args: list[str]) -> LockCommand | None:
    parsed = parse_install_args(args)
    if parsed is None or not parsed.options.requirements:
        return None
    if parsed.user:
        raise LockArgsError(USER_MESSAGE)
    return LockCommand((executable, kind), parsed.options, None)


def _safe_around(before: tuple[Command, ...], after: tuple[Command, ...], escape: str) -> bool:
    """The commands around the install can run as RUNs of their own, with the same effect."""
    for command in before:
        first = command.words[0]
        if first.value in _STATEFUL or all(_ASSIGNMENT.match(w.value) for w in command.words):
            return False
    return all(_re_emittable(c.raw, escape) for c in before + after)


def _re_emittable(raw: str, escape: str) -> bool:
    """A command's text stays the same command when written after `RUN [flags] `.

    Not if it would end the line with an escaped blank (`echo \\ `): BuildKit trims the line.
    """
    stripped = raw.rstrip()
    return not (raw.startswith(("-", "[")) or stripped.endswith(escape) or stripped != raw)


def _joined(commands: tuple[Command, ...]) -> str | None:
    return " && ".join(c.raw for c in commands) or None
