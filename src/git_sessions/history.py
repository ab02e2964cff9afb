"""Walking main's first-parent history for protocol events (when a session was claimed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from git_sessions.protocol import SESSIONS

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot


def claim_commits(snap: Snapshot, slugs: Iterable[str]) -> dict[str, Snapshot]:
    """For each slug active in `snap`, the snapshot of the commit that made it active.

    Walks first parents from `snap` until every slug's folder disappears from active/: the
    commit just after that point is its claim. Slugs not active in `snap` are left out.
    """
    active = set(snap.listdir(f"{SESSIONS}/active"))
    pending = {s for s in slugs if s in active}
    found: dict[str, Snapshot] = {}
    child: Snapshot | None = snap
    while pending and child is not None:
        parent = child.parent()
        still = set(parent.listdir(f"{SESSIONS}/active")) if parent is not None else set()
        for slug in pending - still:
            found[slug] = child
        pending &= still
        child = parent
    return found
