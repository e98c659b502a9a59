"""Sorting the daemon's fetch errors, and retrying the safe ones within bounds."""

from __future__ import annotations

import pytest

from frontend.errors import GatewayError
from frontend.fetching import FetchNotFound, FetchPolicy, classify, with_retries

URL = "https://idx/simple/alpha/"
CREDENTIALS = (": the index asks for credentials; give them as a netrc secret: mount it on the install step "
               "(RUN --mount=type=secret,id=netrc,target=/root/.netrc pip install …) and build with "
               "--secret id=netrc,src=$HOME/.netrc (docs/private-indexes.md)")
POLICY = FetchPolicy(attempts=4, backoff=1.0, window=60.0, timeout=30.0)


@pytest.mark.parametrize("message, reason, retry", [
    ("failed to load cache key: invalid response status 503", "HTTP 503", True),
    ("failed to load cache key: invalid response status 500", "HTTP 500", True),
    ("failed to load cache key: invalid response status 403", "HTTP 403" + CREDENTIALS, False),
    ("failed to load cache key: invalid response status 401", "HTTP 401" + CREDENTIALS, False),
    ("failed to load cache key: unexpected EOF",
     "the connection failed before the whole body arrived (unexpected EOF)", True),
    ('failed to load cache key: Get "https://idx/a": read tcp 1.2.3.4:5->6.7.8.9:443: read: connection reset by peer',
     "the connection failed before the whole body arrived (connection reset by peer)", True),
    ("digest mismatch sha256:aa: sha256:bb", "the body does not match its checksum (expected sha256:bb, got sha256:aa)",
     True),
    ('failed to load cache key: Get "/x": stopped after 10 redirects', "too many redirects (a redirect loop?)", False),
    ('failed to load cache key: Get "https://nohost/": dial tcp: lookup nohost: no such host', "no such host", False),
])
def test_classify(message, reason, retry):
    failure = classify(GatewayError(message), 30)
    assert (failure.reason, failure.retry, failure.not_found) == (reason, retry, False)


def test_classify_a_deadline_and_a_404():
    stalled = classify(GatewayError("Deadline Exceeded", "DEADLINE_EXCEEDED"), 30)
    assert stalled.reason.startswith("no complete answer within 30 s (a stalled or very slow server)") and not stalled.retry
    assert classify(GatewayError("invalid response status 404"), 30).not_found


class Script:
    """fetch(attempt) raising the scripted errors in turn, then returning b"ok"; a fake clock."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        self.attempts: list[int] = []
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self, attempt: int) -> bytes:
        self.attempts.append(attempt)
        self.now += 0.5
        if self.errors:
            raise GatewayError(self.errors.pop(0))
        return b"ok"

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def run(self, policy: FetchPolicy = POLICY) -> bytes:
        return with_retries(self, URL, policy, sleep=self.sleep, clock=lambda: self.now)


def test_transient_failures_are_retried_with_backoff():
    script = Script("invalid response status 503", "unexpected EOF")
    assert script.run() == b"ok"
    assert script.attempts == [1, 2, 3] and script.sleeps == [1.0, 2.0]


def test_retries_are_bounded_and_the_last_reason_is_told():
    script = Script(*["invalid response status 502"] * 10)
    with pytest.raises(GatewayError) as info:
        script.run()
    assert str(info.value) == f"cannot fetch {URL}: HTTP 502 (4 tries in 9 s)"
    assert script.attempts == [1, 2, 3, 4] and script.sleeps == [1.0, 2.0, 4.0]


def test_no_try_starts_after_the_time_window():
    script = Script(*["invalid response status 503"] * 10)
    with pytest.raises(GatewayError, match=r"HTTP 503 \(3 tries in 4 s\)"):
        script.run(FetchPolicy(attempts=10, backoff=1.0, window=6.0))
    assert script.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("message", ["invalid response status 401", "stopped after 10 redirects"])
def test_permanent_failures_fail_at_once(message):
    script = Script(message)
    with pytest.raises(GatewayError, match=f"^cannot fetch {URL}: "):
        script.run()
    assert script.attempts == [1] and script.sleeps == []


def test_a_stall_is_not_retried():
    script = Script()
    script.errors = []

    def stalled(attempt):
        script.attempts.append(attempt)
        raise GatewayError("Deadline Exceeded", "DEADLINE_EXCEEDED")

    with pytest.raises(GatewayError, match="no complete answer within 30 s"):
        with_retries(stalled, URL, POLICY, sleep=script.sleep)
    assert script.attempts == [1]


def test_404_is_its_own_error():
    with pytest.raises(FetchNotFound, match=f"cannot fetch {URL}: HTTP 404"):
        Script("invalid response status 404").run()
