"""`python -m frontend` / `pylayers-frontend`: the frontend image's entrypoint."""

from __future__ import annotations

import logging
import os
import sys


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("PYLAYERS_LOG", "INFO"),
                        format="pylayers: %(levelname)s %(name)s: %(message)s")
    from . import build, gateway

    code = gateway.run(build.build)
    sys.stderr.flush()
    os._exit(code)  # relay threads block on pipes; nothing else to clean up


if __name__ == "__main__":
    sys.exit(main())
