"""What BuildKit tells an image frontend through its environment."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Mapping

OPT_PREFIX = "BUILDKIT_FRONTEND_OPT_"


@dataclass(frozen=True)
class FrontendEnv:
    opts: Mapping[str, str]
    session_id: str = ""
    workers: tuple = ()
    product: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "FrontendEnv":
        environ = os.environ if environ is None else environ
        opts = {}
        for key, value in environ.items():
            if key.startswith(OPT_PREFIX) and "=" in value:
                name, _, val = value.partition("=")
                opts[name] = val
        try:
            workers = tuple(json.loads(environ.get("BUILDKIT_WORKERS") or "[]") or ())
        except ValueError:
            workers = ()
        return cls(opts=opts, session_id=environ.get("BUILDKIT_SESSION_ID", ""),
                   workers=workers, product=environ.get("BUILDKIT_EXPORTEDPRODUCT", ""))
