"""A careful splitter for the one shell form pylayers rewrites: `cmd && cmd && ...`.

It understands words, quotes and backslashes as /bin/sh does, and gives up (returns None) on
anything else: `;`, `||`, `&`, heredocs, backticks, `$(...)`, subshells, comments, newlines.
Pipes and redirections bind tighter than `&&`, so they may stay inside a command of the chain;
the words that carry them are not literal. A word is "literal" when the shell passes it on
exactly as its value shows: no parameter expansion, globbing, tilde expansion or operator.
"""

from __future__ import annotations

from dataclasses import dataclass

_SPACE = " \t"
_REFUSED = ";()`\n\r"
_OPERATORS = "|<>"  # pipe and redirections: allowed, never literal
_EXPANDING = "*?[]{}~"  # globs, brace and tilde expansion
_DQ_ESCAPABLE = '$`"\\\n'


class Unsafe(Exception):
    """The command is not a plain && chain of simple commands."""


@dataclass(frozen=True)
class Word:
    value: str
    literal: bool


@dataclass(frozen=True)
class Command:
    raw: str  # the command's source text, from its first to its last word
    words: tuple[Word, ...]

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(w.value for w in self.words)


def split_and_chain(text: str) -> tuple[Command, ...] | None:
    """The simple commands of an && chain, or None if the text is anything else."""
    try:
        return tuple(_chain(text))
    except Unsafe:
        return None


def _chain(text: str) -> list[Command]:
    commands: list[Command] = []
    words: list[tuple[Word, int, int]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _SPACE:
            pos += 1
        if pos == len(text) or text.startswith("&&", pos):
            if not words:
                raise Unsafe("empty command")
            commands.append(Command(text[words[0][1]:words[-1][2]], tuple(w for w, _, _ in words)))
            if pos == len(text):
                return commands
            words, pos = [], pos + 2
            continue
        word, end = _word(text, pos)
        words.append((word, pos, end))
        pos = end


def _word(text: str, pos: int) -> tuple[Word, int]:
    if text[pos] == "#":
        raise Unsafe("comment")
    value: list[str] = []
    literal = True
    while pos < len(text) and text[pos] not in _SPACE:
        char = text[pos]
        if char in _REFUSED or char == "&":
            if char == "&" and value:
                break  # "a&&b": the word ends where the operator starts
            raise Unsafe(char)
        if char in _OPERATORS:
            pos = _operator(text, pos, value)
            literal = False
        elif char == "'":
            end = text.find("'", pos + 1)
            if end < 0:
                raise Unsafe("unterminated quote")
            value.append(text[pos + 1:end])
            pos = end + 1
        elif char == '"':
            pos, expands = _double_quoted(text, pos + 1, value)
            literal = literal and not expands
        elif char == "\\":
            if pos + 1 >= len(text):
                raise Unsafe("trailing backslash")
            value.append(text[pos + 1])
            pos += 2
        else:
            literal = literal and not _expands(text, pos)
            value.append(char)
            pos += 1
    return Word("".join(value), literal), pos


def _operator(text: str, pos: int, value: list[str]) -> int:
    """A pipe or redirection operator (`|`, `>`, `>>`, `<`, `2>&1`); refuses `||`, `|&`, `<<`."""
    two = text[pos:pos + 2]
    if two in ("||", "|&", "<<", "<(", ">("):
        raise Unsafe(two)
    if two in (">&", "<&", ">>", ">|", "<>"):
        value.append(two)
        return pos + 2
    value.append(text[pos])
    return pos + 1


def _double_quoted(text: str, pos: int, value: list[str]) -> tuple[int, bool]:
    """Read a "..." body starting after the quote; return the position after it, and $ seen."""
    expands = False
    while pos < len(text) and text[pos] != '"':
        char = text[pos]
        if char == "`" or text.startswith("$(", pos):
            raise Unsafe(char)
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in _DQ_ESCAPABLE:
            pos += 1
            char = text[pos]
        else:
            expands = expands or char == "$"
        value.append(char)
        pos += 1
    if pos >= len(text):
        raise Unsafe("unterminated quote")
    return pos + 1, expands


def _expands(text: str, pos: int) -> bool:
    if text.startswith("$(", pos):
        raise Unsafe("$(")
    return text[pos] == "$" or text[pos] in _EXPANDING
