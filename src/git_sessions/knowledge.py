"""The knowledge base's merge sessions: what a completion plans when a session left learnings.

Learnings are captured per session in `_AGENTS/knowledge/sessions/<slug>/learnings.md`; only a
`kb-` session may fold them into the canonical knowledge base, so completing a session that left
some plans one, in the same commit.
"""

from __future__ import annotations

import datetime as dt

from git_sessions import catalog, templates
from git_sessions.edits import Edit, Write
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import SESSION_FILES, make_slug, session_dir


def has_learnings(text: str | None) -> bool:
    return bool(text) and any(
        line.strip() and not line.startswith("#") for line in (text or "").splitlines()
    )


def kb_session(snap: Snapshot, source: str, when: dt.datetime) -> tuple[str, list[Edit]]:
    """A planned kb- session that merges `source`'s learnings into the knowledge base."""
    topic = source.split("-", 3)[3]
    base = make_slug(["merge", topic], when.date(), kb=True)
    slug, n = base, 1
    while catalog.locate(snap, slug):
        n += 1
        slug = f"{base}-{n}"
    context = {
        "TOPIC": topic,
        "SOURCE_SESSION": source,
        "TIMESTAMP": when.isoformat(timespec="seconds"),
        "SESSION_SLUG": slug,
    }
    folder = session_dir("planned", slug)
    names = {"SESSION.md": "kb-merge-SESSION.md.j2"} | {n: f"{n}.j2" for n in SESSION_FILES[1:]}
    edits: list[Edit] = [
        Write(f"{folder}/{name}", templates.render(template, context, snap.text).encode())
        for name, template in names.items()
    ]
    return slug, edits
