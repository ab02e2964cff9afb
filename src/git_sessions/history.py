"""Finding the commit that claimed a session, without walking main where it can be avoided.

The claim commit writes `<folder>/.claim` naming its parent (the base it was built on), so the
claim is the first commit, walking first parents from a session branch's tip, whose parent is
that base: a walk over the session's own commits, not over main's history. Sessions claimed
before the marker existed (or with a damaged one) fall back to walking main, comparing the
active/ folder of each commit with its parent's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from git_sessions.protocol import CLAIM_FILE, SESSIONS, parse_claim_marker

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot


def claim_base(snap: Snapshot, slug: str, state: str = "active") -> str | None:
    """The base commit recorded by the claim of `slug` in `snap`, if the marker is there."""
    marker = parse_claim_marker(snap.text(f"{SESSIONS}/{state}/{slug}/{CLAIM_FILE}"))
    return marker.base if marker else None


def claim_commits(
    snap: Snapshot, slugs: Iterable[str], *, limit: int | None = None
) -> dict[str, Snapshot]:
    """For each slug active in `snap`, the snapshot of the commit that made it active.

    Walks first parents from `snap`. A slug whose claim recorded its base is found where the
    parent is that base (one id comparison per step); the others where their folder
    disappears from active/ (one folder listing per step). Slugs not active in `snap` are left
    out; so are slugs not found within `limit` steps, when a limit is given.
    """
    active = set(snap.listdir(f"{SESSIONS}/active"))
    pending = {s for s in slugs if s in active}
    bases = {slug: base for slug in pending if (base := claim_base(snap, slug)) is not None}
    by_base: dict[str, set[str]] = {}
    for slug, base in bases.items():
        by_base.setdefault(base, set()).add(slug)
    unmarked = pending - set(bases)
    found: dict[str, Snapshot] = {}
    child: Snapshot | None = snap
    steps = 0
    while pending and child is not None and (limit is None or steps < limit):
        parent = child.parent()
        steps += 1
        for slug in by_base.pop(parent.commit or "", set()) if parent is not None else set():
            if child.is_dir(f"{SESSIONS}/active/{slug}"):
                found[slug] = child
                pending.discard(slug)
        if unmarked:
            still = set(parent.listdir(f"{SESSIONS}/active")) if parent is not None else set()
            for slug in unmarked - still:
                found[slug] = child
            pending -= unmarked - still
            unmarked &= still
        child = parent
    return found


def claim_commit(slug: str, *starts: Snapshot) -> Snapshot | None:
    """The commit that claimed active session `slug`, trying each start in turn.

    Give the session branch's tip first (its walk is as long as the session's own commits),
    then main (a walk back to the claim, only needed without a branch)."""
    for start in starts:
        found = claim_commits(start, [slug]).get(slug)
        if found is not None:
            return found
    return None
