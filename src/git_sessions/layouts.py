"""Noticing that the protocol moved (`git sessions migrate`) under a clone that has not pulled.

A clone reads the layout from its own `_AGENTS/config.yaml`. After a migration the branch it
still reads has no sessions: main keeps only config.yaml, naming the new branch; a coordination
branch moved back keeps only MOVED.md. Writing there would start a second protocol, so every
read and every protocol commit stops with the remedy instead.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from git_sessions.errors import BadInput
from git_sessions.protocol import AGENTS, CONFIG_FILE, SESSIONS

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot

MOVED = f"{AGENTS}/MOVED.md"


def refuse_moved(snap: Snapshot, branch: str) -> None:
    """BadInput if `snap` (the hub's `branch`, where this clone looks for the protocol) says the
    protocol lives elsewhere now; nothing otherwise (one folder lookup)."""
    if snap.commit is None or snap.is_dir(SESSIONS):
        return
    if snap.object_id(MOVED) is not None:
        raise BadInput(
            f"the protocol moved away from branch {branch} of the hub",
            hint="git pull, so that _AGENTS/config.yaml names where it lives now",
        )
    text = snap.text(CONFIG_FILE)
    if text is None:
        return
    from git_sessions.config import parse_config

    elsewhere = None
    with contextlib.suppress(BadInput):  # a broken config is `check`'s to report, not ours
        elsewhere = parse_config(text).protocol_branch
    if elsewhere and elsewhere != branch:
        raise BadInput(
            f"the protocol moved to branch {elsewhere} of the hub",
            hint="git pull, so that _AGENTS/config.yaml names it",
        )
