"""The LLBBridge side of the frontend: transport, environment, client, and the run loop.

`run(build)` connects, pings for caps, calls `build(client, env)` and always ends the session
with exactly one Return: the build's result, or the error the user should read.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Callable

import grpc

from ..errors import FrontendError
from .client import CHANNEL_OPTIONS, Client
from .env import FrontendEnv
from .stdio import StdioRelay

__all__ = ["Client", "FrontendEnv", "StdioRelay", "run", "run_with_client"]
log = logging.getLogger("pylayers.gateway")
# BuildKit prints the name of any other status code before the message, once per layer it
# passes through ("InvalidArgument: InvalidArgument: …"); Unknown it prints as the message alone.
STATUS_UNKNOWN = 2


def run(build: Callable, environ=None) -> int:
    """Entry point inside BuildKit: returns the process exit code."""
    relay = StdioRelay()
    channel = grpc.insecure_channel(relay.target, options=CHANNEL_OPTIONS)
    try:
        return run_with_client(Client(channel), FrontendEnv.from_environ(environ), build)
    finally:
        channel.close()


def run_with_client(client: Client, fenv: FrontendEnv, build: Callable) -> int:
    try:
        client.ping()
    except FrontendError as exc:
        log.error("cannot reach BuildKit's gateway: %s", exc)
        return 1
    try:
        result = build(client, fenv)
    except FrontendError as exc:
        return _return_error(client, str(exc), STATUS_UNKNOWN, exc.source)
    except Exception as exc:  # noqa: BLE001 - every failure must reach the user through Return
        traceback.print_exc(file=sys.stderr)
        return _return_error(client, f"pylayers internal error: {type(exc).__name__}: {exc}", STATUS_UNKNOWN)
    try:
        client.return_result(result)
    except FrontendError as exc:
        log.error("Return failed: %s", exc)
        return 1
    return 0


def _return_error(client: Client, message: str, code: int, source=None) -> int:
    try:
        client.return_error(message, code, source)
    except FrontendError as exc:
        log.error("Return(error) failed: %s (error was: %s)", exc, message)
    return 1
