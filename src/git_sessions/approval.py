"""Local approval of commands that come from the hub (trust on first use).

`_AGENTS/config.yaml` arrives from the hub, which anyone with push access writes; its commands
(`verify:`) are run only once someone on this machine approved that exact list. Approvals are
sha256 digests of the list, one per line, in a file inside the clone's git dir: never committed,
never shared, and a changed list needs a new approval.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from git_sessions.errors import BadInput

FILE = "git-sessions-approved"
_READ_LIMIT = 1 << 20  # a larger file is not ours: treat it as holding no approvals


def digest(kind: str, commands: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps([kind, list(commands)]).encode()).hexdigest()


def approved(git_dir: Path, kind: str, commands: Sequence[str]) -> bool:
    try:
        fd = os.open(git_dir / FILE, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        lines = handle.read(_READ_LIMIT).decode("ascii", errors="replace").split("\n")
    return digest(kind, commands) in lines


def approve(git_dir: Path, kind: str, commands: Sequence[str]) -> None:
    """Record the approval; one short append, atomic between concurrent processes."""
    if approved(git_dir, kind, commands):
        return
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
    fd = os.open(git_dir / FILE, flags, 0o600)
    try:
        os.write(fd, f"{digest(kind, commands)}\n".encode())
    finally:
        os.close(fd)


def require(git_dir: Path, kind: str, commands: Sequence[str], *, yes: bool) -> None:
    """Approve with `yes`; otherwise refuse (exit 1) unless this exact list was approved."""
    if not commands:
        return
    if yes:
        approve(git_dir, kind, commands)
        return
    if not approved(git_dir, kind, commands):
        listed = "; ".join(commands)
        raise BadInput(
            f"the {kind} commands in _AGENTS/config.yaml are not approved here: {listed}",
            hint="read them, then run again with --yes to approve this exact list",
        )
