"""Dockerfile text → physical lines, parser directives and instructions (as BuildKit reads them).

Only what pylayers needs: which physical lines make up each instruction (continuations, comment
and blank lines inside them, heredoc bodies), its keyword and its logical text. Nothing is
evaluated; every line is kept as written so that the Dockerfile can be re-emitted byte for byte.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*")
_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC = re.compile(r"(\d*)<<(-?)([^<]+)")
_HEREDOC_KEYWORDS = ("run", "copy", "add")
BOM = "\ufeff"


@dataclass(frozen=True)
class Instruction:
    start: int  # 0-based index of the first physical line
    end: int  # index just past the last physical line (continuations and heredoc bodies)
    keyword: str  # lowercased, e.g. "run"
    args: str  # the logical line after the keyword: continuations joined, comment lines dropped
    heredoc: bool  # the instruction has heredoc bodies


@dataclass(frozen=True)
class Document:
    lines: tuple[str, ...]  # physical lines, each with its own line ending (the last may have none)
    escape: str  # "\\" or "`"
    syntax_lines: tuple[int, ...]  # indexes of the `# syntax=` directive lines (one, unless repeated)
    instructions: tuple[Instruction, ...]

    @property
    def newline(self) -> str:
        return "\r\n" if self.lines and self.lines[0].endswith("\r\n") else "\n"


def split_lines(text: str) -> tuple[str, ...]:
    """Physical lines with their endings; only "\\n" separates lines, as in BuildKit."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    return tuple(lines + [parts[-1]] if parts[-1] else lines)


def content(line: str) -> str:
    """A physical line without its line ending."""
    if line.endswith("\n"):
        line = line[:-1]
    return line[:-1] if line.endswith("\r") else line


def parse(text: str) -> Document:
    lines = split_lines(text)
    directives, syntax_lines = _directives(lines)
    escape = directives.get("escape", "\\")
    escape = escape if escape in ("\\", "`") else "\\"
    return Document(lines, escape, syntax_lines, _instructions(lines, escape))


def _directives(lines: tuple[str, ...]) -> tuple[dict[str, str], tuple[int, ...]]:
    """The leading directives (the first of a repeated one counts) and the `syntax` lines among them.

    BuildKit refuses a repeated directive; every `syntax` line is kept track of so that none of
    them survives in the rewrite, where it would become the one directive.
    """
    found: dict[str, str] = {}
    syntax_lines = []
    for index, line in enumerate(lines):
        match = _DIRECTIVE.fullmatch(content(line).removeprefix(BOM) if index == 0 else content(line))
        key = match[1].lower() if match else ""
        if key not in _DIRECTIVES:
            break
        found.setdefault(key, match[2])
        syntax_lines += [index] if key == "syntax" else []
    return found, tuple(syntax_lines)


def _instructions(lines: tuple[str, ...], escape: str) -> tuple[Instruction, ...]:
    continuation = re.compile(re.escape(escape) + r"[ \t]*$")
    found = []
    index = 0
    while index < len(lines):
        start = index
        first = content(lines[index]).lstrip()
        first = first.removeprefix(BOM).lstrip() if index == 0 else first
        index += 1
        if not first or first.startswith("#"):
            continue
        logical, index = _logical_line(lines, index, first, continuation)
        if not logical.strip():
            continue
        found.append(_instruction(lines, start, index, logical))
        index = found[-1].end
    return tuple(found)


def _logical_line(lines, index: int, first: str, continuation: re.Pattern) -> tuple[str, int]:
    """Join continuation lines, skipping comment and blank lines inside them, as BuildKit does."""
    logical, more = continuation.sub("", first), bool(continuation.search(first))
    while more and index < len(lines):
        raw = content(lines[index])
        index += 1
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        logical, more = logical + continuation.sub("", raw), bool(continuation.search(raw))
    return logical, index


def _instruction(lines, start: int, index: int, logical: str) -> Instruction:
    parts = logical.split(None, 1)
    keyword, args = parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")
    names = heredoc_names(args) if keyword in _HEREDOC_KEYWORDS else ()
    for name, chomp in names:
        index = _skip_heredoc(lines, index, name, chomp)
    return Instruction(start, index, keyword, args, bool(names))


def heredoc_names(args: str) -> tuple[tuple[str, bool], ...]:
    """The (name, chomp) of each heredoc an instruction opens: words like <<EOF, <<-"EOF"."""
    if "<<" not in args or exec_form(split_flags(args)[1]) is not None:
        return ()
    names = []
    for word in _words(args):
        match = _HEREDOC.fullmatch(word)
        if match:
            name = match[3]
            if len(name) >= 2 and name[0] in "'\"" and name[-1] == name[0]:
                name = name[1:-1]
            names.append((name, match[2] == "-"))
    return tuple(names)


def _words(text: str) -> list[str]:
    """The words of a line as BuildKit's heredoc lexer sees them: quotes and escapes kept inside."""
    words, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return words
        end = _word_end(text, pos)
        words.append(text[pos:end])
        pos = end


def _skip_heredoc(lines, index: int, name: str, chomp: bool) -> int:
    while index < len(lines):
        line = content(lines[index])
        index += 1
        if (line.lstrip("\t") if chomp else line) == name:
            break
    return index


def split_flags(args: str) -> tuple[tuple[str, ...], str]:
    """Leading `--flag[=value]` words (raw, as written) and the rest, like BuildKit's parser."""
    flags = []
    pos = 0
    while True:
        while pos < len(args) and args[pos].isspace():
            pos += 1
        if not args.startswith("--", pos):
            return tuple(flags), args[pos:]
        end = _word_end(args, pos)
        if args[pos:end] == "--":
            return tuple(flags), args[end:].lstrip()
        flags.append(args[pos:end])
        pos = end


def _word_end(text: str, pos: int) -> int:
    quote = ""
    while pos < len(text) and (quote or not text[pos].isspace()):
        char = text[pos]
        if char == "\\":
            pos += 1
        elif quote and char == quote:
            quote = ""
        elif not quote and char in "'\"":
            quote = char
        pos += 1
    return min(pos, len(text))


def exec_form(args: str) -> tuple[str, ...] | None:
    """The argument list of a JSON (exec) form, or None for the shell form."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def stage_name(from_args: str) -> str | None:
    """The lowercased AS name of a FROM instruction, or None."""
    words = split_flags(from_args)[1].split()
    return words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None
