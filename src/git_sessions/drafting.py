"""Authoring sessions: `new` drafts one from the templates, `ready` and `unready` move it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from git_sessions import catalog, templates, transitions
from git_sessions.context import Context
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import LOCK_FILE, SESSION_FILES, check_slug, make_slug, session_dir
from git_sessions.publish import Published, update_main

_CAPABILITY = re.compile(r"[a-z0-9][a-z0-9_.+-]*")


@dataclass(frozen=True)
class Draft:
    words: tuple[str, ...]
    title: str | None = None
    capabilities: tuple[str, ...] = ()
    priority: int = 0
    depends_on: tuple[str, ...] = ()
    parent: str | None = None
    date: dt.date | None = None
    context: str = ""
    problem: str = ""
    criteria: tuple[str, ...] = ()


def check_capability(name: str) -> str:
    if not _CAPABILITY.fullmatch(name):
        raise BadInput(
            f"invalid capability {name!r}",
            hint="capabilities are lowercase words such as python, docs, frontend",
        )
    return name


def session_context(slug: str, draft: Draft, today: dt.date) -> dict[str, object]:
    """Every variable the session templates may use."""
    return {
        "SESSION_SLUG": slug,
        "TITLE": draft.title or " ".join(draft.words).strip() or slug,
        "CAPABILITIES": list(draft.capabilities),
        "PRIORITY": draft.priority,
        "DEPENDS_ON": list(draft.depends_on),
        "PARENT": draft.parent,
        "CREATED": today.isoformat(),
        "CONTEXT": draft.context,
        "PROBLEM_STATEMENT": draft.problem,
        "ACCEPTANCE_CRITERIA": list(draft.criteria),
        "SUBSESSIONS": "",
        "RISKS": "",
        "DEPENDENCIES": ", ".join(draft.depends_on),
        "EDGE_CASES": "",
        "NOTES": "",
    }


def draft_change(snap: Snapshot, draft: Draft, author: Identity, today: dt.date) -> Change:
    slug = make_slug(list(draft.words), draft.date or today)
    if snap.read(LOCK_FILE) is None:
        raise BadInput("git-sessions is not initialised on main", hint="run: git sessions init")
    for name in draft.capabilities:
        check_capability(name)
    for other in (*draft.depends_on, *([draft.parent] if draft.parent else [])):
        if not catalog.locate(snap, check_slug(other)):
            raise BadInput(f"no session {other!r} (named as a dependency or parent)")
    context = session_context(slug, draft, today)
    files = {name: templates.render(f"{name}.j2", context, snap.text) for name in SESSION_FILES}
    return transitions.draft(snap, slug, files, author)


def new_session(
    ctx: Context, draft: Draft, author: Identity, today: dt.date
) -> tuple[str, Published]:
    """Create drafting/<slug>/ on main; returns the slug and the published commit."""
    slug = make_slug(list(draft.words), draft.date or today)
    published = update_main(ctx.hub, lambda snap: draft_change(snap, draft, author, today))
    return slug, published


def move_session(ctx: Context, slug: str, dst: str, author: Identity) -> Published:
    """Move `slug` to state `dst` (ready: planned, unready: drafting)."""
    check_slug(slug)
    return update_main(ctx.hub, lambda snap: transitions.move(snap, slug, dst, author))


def spawn_change(
    snap: Snapshot, draft: Draft, author: Identity, today: dt.date, *, planned: bool
) -> Change:
    """A child session (drafting, or planned) and its line in the parent's subsessions.md."""
    if draft.parent is None:
        raise BadInput("a subsession needs --parent")
    child = draft_change(snap, draft, author, today)
    slug = make_slug(list(draft.words), draft.date or today)
    parent_state = transitions.current_state(snap, draft.parent)
    if parent_state in ("completed", "abandoned"):
        raise Conflict(f"parent {draft.parent} is {parent_state}; it takes no more subsessions")
    path = f"{session_dir(parent_state, draft.parent)}/subsessions.md"
    title = draft.title or " ".join(draft.words)
    text = (snap.text(path) or "") + f"- {slug}: {title}\n"
    edits = list(child.edits)
    if planned:
        edits = [
            Write(e.path.replace("/drafting/", "/planned/", 1), e.data)
            for e in edits
            if isinstance(e, Write)
        ]
    edits.append(Write(path, text.encode()))
    message = f"[{slug}] chore: spawn session from {draft.parent}"
    return Change(tuple(edits), message, author)


def spawn_session(
    ctx: Context, draft: Draft, author: Identity, today: dt.date, *, planned: bool = False
) -> tuple[str, Published]:
    slug = make_slug(list(draft.words), draft.date or today)
    published = update_main(
        ctx.hub, lambda snap: spawn_change(snap, draft, author, today, planned=planned)
    )
    return slug, published
