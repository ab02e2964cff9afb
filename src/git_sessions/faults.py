"""Named fault-injection points, so tests can stop a command at an exact phase and kill it.

`GIT_SESSIONS_FAULT=claim:after-publish` (comma-separated for several) makes the process
announce `fault: claim:after-publish` on stderr when it reaches that point, then wait for a line
on stdin (or a kill). Unset, a point costs one environment lookup. This is the one place outside
the CLI that writes to stderr: the announcement is what the test synchronises on.
"""

from __future__ import annotations

import os
import sys

ENV = "GIT_SESSIONS_FAULT"


def point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted or name not in wanted.split(","):
        return
    os.write(2, f"fault: {name}\n".encode())
    sys.stdin.readline()
