"""`python -m frontend` / `pylayers-frontend`: the frontend image's entrypoint."""

from __future__ import annotations

import logging
import os
import sys

# BuildKit starts image frontends as root whatever the image's USER says; the frontend needs no
# privilege (its stdin/stdout are already open, its socket is an abstract one: no file).
RUN_AS = 65532

log = logging.getLogger("pylayers")


def drop_privileges(uid: int = RUN_AS, gid: int = RUN_AS) -> None:
    """Become `uid`:`gid` with no supplementary groups, if started as root."""
    if os.getuid() != 0 and os.geteuid() != 0:
        return
    try:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    except OSError as exc:  # e.g. a user namespace without that id: keep building, say so
        log.warning("cannot drop root privileges to %d:%d: %s", uid, gid, exc)


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("PYLAYERS_LOG", "INFO"),
                        format="pylayers: %(levelname)s %(name)s: %(message)s")
    drop_privileges()
    from . import build, gateway

    code = gateway.run(build.build)
    sys.stderr.flush()
    os._exit(code)  # relay threads block on pipes; nothing else to clean up


if __name__ == "__main__":
    sys.exit(main())
