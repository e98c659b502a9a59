"""The one error root of the frontend and its kinds.

Every failure the user can cause or see is a FrontendError; the gateway turns it into
the error status of BuildKit's Return call, so its str() is what the user reads.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLines:
    """Where an error is, for BuildKit to show: a file, its bytes and 1-based (first, last) lines."""

    filename: str
    data: bytes
    ranges: tuple[tuple[int, int], ...]


class FrontendError(Exception):
    """Root of every error the frontend reports to the user.

    `source`, when set, travels with the error to the client, which prints those lines.
    """

    source: SourceLines | None = None


class InputError(FrontendError):
    """A problem in a user file, located by file and 1-based line (0 = whole file)."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class InputErrors(FrontendError):
    """Several input problems found by one validation pass, reported together."""

    def __init__(self, errors: list[InputError] | tuple[InputError, ...]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class ResolutionError(FrontendError):
    """The requested packages cannot be satisfied for the target."""


class GatewayError(FrontendError):
    """BuildKit's gateway failed or refused a request; `code` is the gRPC status name, if any."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code
