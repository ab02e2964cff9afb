"""Text search over every session's plan, notes and learnings, read from git trees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from git_sessions import catalog
from git_sessions.context import Context
from git_sessions.errors import BadInput
from git_sessions.gitrepo import LocalHub
from git_sessions.journal import learnings_file
from git_sessions.protocol import KNOWLEDGE, SESSIONS, STATES, session_dir
from git_sessions.tracing import branch_tip

SEARCHED = ("SESSION.md", "active-plan.md", "subsessions.md", "worklog.md", "HANDOFF.md")


@dataclass(frozen=True)
class Hit:
    slug: str
    state: str
    path: str
    line: int
    text: str
    source: str  # main, or the session branch for an active session

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def search(ctx: Context, text: str, states: Sequence[str] = STATES) -> list[Hit]:
    """Lines containing `text` (any case) in every session's plan, notes and learnings, read
    from main; an active session from its latest branch here or on the hub, without fetching."""
    needle = text.strip().lower()
    if not needle:
        raise BadInput("search needs some text")
    snap = ctx.main()
    heads = ctx.hub.heads() if isinstance(ctx.hub, LocalHub) else None
    hits: list[Hit] = []
    # Each big folder is read once (folder_blobs): a path lookup from the root per session
    # would parse the whole state folder again for every session (quadratic).
    learned = {
        slug: blobs["learnings.md"]
        for slug, blobs in snap.folder_blobs(f"{KNOWLEDGE}/sessions", ["learnings.md"]).items()
        if "learnings.md" in blobs
    }
    for state in states:
        folders = snap.folder_blobs(f"{SESSIONS}/{state}", SEARCHED)
        for slug in catalog.session_names(snap, state):
            texts: list[tuple[str, str | None]] = [
                (f"{session_dir(state, slug)}/{name}", folders.get(slug, {}).get(name))
                for name in SEARCHED
            ]
            texts.append((learnings_file(slug), learned.get(slug)))
            tree, source = snap, "main"
            if state == "active":
                found = branch_tip(ctx, slug, fetch=False, heads=heads)
                if found is not None:
                    tree, source = found[0].snapshot(found[1]), found[2]
                    texts = [(path, tree.object_id(path)) for path, _ in texts]
            for path, blob in texts:
                text = tree.blob_text(blob) if blob else ""
                for n, line in enumerate(text.splitlines(), start=1):
                    if needle in line.lower():
                        hits.append(Hit(slug, state, path, n, line.strip(), source))
    return hits
