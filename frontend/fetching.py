"""What to do when the daemon cannot fetch a URL: retry, give up with a precise message, or report 404.

BuildKit's http source (0.13) neither retries nor times out: a server that stalls holds the build
for ever, and errors come back as Go error strings ("invalid response status 503", "unexpected
EOF", "digest mismatch …"). Each fetch therefore runs under a deadline and failures are sorted:
5xx answers, connections that close or reset mid-body and bodies that do not match their checksum
(a truncated or error body) are retried a bounded number of times with exponential backoff and a
total time limit; everything else fails at once with the URL and what went wrong.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from .errors import GatewayError

T = TypeVar("T")

_STATUS = re.compile(r"invalid response status (\d{3})")
_DIGEST = re.compile(r"digest mismatch (sha256:[0-9a-f]+): (sha256:[0-9a-f]+)")
_CREDENTIALS = (": the index asks for credentials; give them as a netrc secret: mount it on the install "
                "step (RUN --mount=type=secret,id=netrc,target=/root/.netrc pip install …) and build with "
                "--secret id=netrc,src=$HOME/.netrc (docs/private-indexes.md)")
_RESET = ("unexpected EOF", "connection reset by peer", "broken pipe", "connection refused",
          "server closed idle connection", ": EOF")


@dataclass(frozen=True)
class FetchPolicy:
    attempts: int = 4  # tries per URL, the first one included
    backoff: float = 1.0  # seconds before the second try; doubled before each further one
    window: float = 60.0  # no new try starts this many seconds after the first one
    timeout: float = 300.0  # deadline of one try: a stalled server fails the build after this


@dataclass(frozen=True)
class Failure:
    """One failed fetch, sorted: `reason` is what the user reads after the URL."""

    reason: str
    retry: bool = False
    not_found: bool = False


def classify(exc: GatewayError, timeout: float) -> Failure:
    message = str(exc)
    if exc.code == "DEADLINE_EXCEEDED":
        return Failure(f"no complete answer within {timeout:g} s (a stalled or very slow server); "
                       "build argument PYLAYERS_FETCH_TIMEOUT sets this limit in seconds")
    if status := _STATUS.search(message):
        code = int(status.group(1))
        return Failure(f"HTTP {code}{_CREDENTIALS if code in (401, 403) else ''}", retry=code >= 500,
                       not_found=code == 404)
    if digest := _DIGEST.search(message):
        return Failure(f"the body does not match its checksum (expected {digest.group(2)}, got "
                       f"{digest.group(1)})", retry=True)
    if "stopped after" in message and "redirects" in message:
        return Failure("too many redirects (a redirect loop?)")
    lowered = message.lower()
    if any(marker.lower() in lowered for marker in _RESET) or lowered.endswith("eof"):
        return Failure(f"the connection failed before the whole body arrived ({_last(message)})", retry=True)
    return Failure(_last(message))


def _last(message: str) -> str:
    """BuildKit wraps errors as 'a: b: c'; the innermost part says what happened."""
    return message.rsplit(": ", 1)[-1].strip() or message


def with_retries(fetch: Callable[[int], T], url: str, policy: FetchPolicy,
                 sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] | None = None) -> T:
    """fetch(attempt) until it succeeds; GatewayError naming `url` and the last reason otherwise.

    A 404 is re-raised as FetchNotFound for the caller to decide (an unknown project is no fault).
    """
    sleep, clock = sleep or time.sleep, clock or time.monotonic
    start = clock()
    delay = policy.backoff
    for attempt in range(1, policy.attempts + 1):
        try:
            return fetch(attempt)
        except GatewayError as exc:
            failure = classify(exc, policy.timeout)
        if failure.not_found:
            raise FetchNotFound(f"cannot fetch {url}: {failure.reason}")
        if not failure.retry:
            raise GatewayError(f"cannot fetch {url}: {failure.reason}")
        if attempt == policy.attempts or clock() - start + delay > policy.window:
            break
        sleep(delay)
        delay *= 2
    raise GatewayError(f"cannot fetch {url}: {failure.reason} "
                       f"({attempt} tries in {clock() - start:.0f} s)")


class FetchNotFound(GatewayError):
    """The server answered 404."""
