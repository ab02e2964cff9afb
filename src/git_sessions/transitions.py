"""Each protocol commit as a pure function of a snapshot of main: the edits, or a typed error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from git_sessions import catalog, hazards
from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.errors import BadInput, Conflict
from git_sessions.holders import CLAIM_FILE as HOLDER_FILE
from git_sessions.protocol import (
    CLAIM_FILE,
    LOCK_FILE,
    OVERRIDE_FILE,
    blob_id,
    check_slug,
    claim_marker,
    commit_message,
    lock_add,
    lock_remove,
    session_dir,
    transition_verb,
)

if TYPE_CHECKING:
    from git_sessions.gitrepo import Snapshot


def current_state(snap: Snapshot, slug: str) -> str:
    """The one state folder holding `slug`; BadInput if none, Conflict if several."""
    check_slug(slug)
    states = catalog.locate(snap, slug)
    if not states:
        raise BadInput(f"no session {slug!r}", hint="see the sessions with: git sessions list")
    if len(states) > 1:
        raise Conflict(
            f"session {slug} is in several states at once: {', '.join(states)}",
            hint="repair main by hand, then run: git sessions check",
        )
    return states[0]


def draft(snap: Snapshot, slug: str, files: Mapping[str, str], author: Identity) -> Change:
    """Create drafting/<slug>/ with the rendered files; the slug must be unused in every state."""
    check_slug(slug)
    taken = catalog.locate(snap, slug)
    if taken:
        raise BadInput(
            f"a session {slug} already exists ({taken[0]})",
            hint="choose other words, or another --date",
        )
    folder = session_dir("drafting", slug)
    edits = tuple(Write(f"{folder}/{name}", text.encode()) for name, text in files.items())
    return Change(edits, commit_message(slug, "draft"), author)


def move(
    snap: Snapshot,
    slug: str,
    dst: str,
    author: Identity,
    *,
    extra: Sequence[Edit] = (),
    verb: str | None = None,
) -> Change:
    """Move a session to state `dst` if that transition is legal from where it is now."""
    src = current_state(snap, slug)
    legal_verb = transition_verb(src, dst, slug)
    broken = hazards.layout(snap)  # e.g. planned/ replaced by a file: the move would eat it
    if broken:
        raise BadInput(
            f"main's protocol layout is broken: {broken[0]}",
            hint="repair it with plain git; see: git sessions check",
        )
    edits: tuple[Edit, ...] = (Move(session_dir(src, slug), session_dir(dst, slug)), *extra)
    return Change(edits, commit_message(slug, verb or legal_verb), author)


def lock_text(snap: Snapshot) -> str:
    return snap.text(LOCK_FILE) or ""


def claim(
    snap: Snapshot,
    slug: str,
    author: Identity,
    now: int,
    env_text: str,
    claim_json: bytes | None = None,
) -> Change:
    """planned -> active, the lock line, the .session-env (and claim.json), in one commit."""
    state = current_state(snap, slug)
    if state == "active":
        raise Conflict(f"session {slug} is already claimed")
    transition_verb(state, "active", slug)
    lock = lock_add(lock_text(snap), slug, now)
    env_path = f"{session_dir('active', slug)}/.session-env"
    marker = f"{session_dir('active', slug)}/{CLAIM_FILE}"
    edits: tuple[Edit, ...] = (Write(LOCK_FILE, lock.encode()), Write(env_path, env_text.encode()))
    if claim_json:
        edits += (Write(f"{session_dir('active', slug)}/{HOLDER_FILE}", claim_json),)
    if snap.commit is not None:
        plan = snap.object_id(f"{session_dir(state, slug)}/SESSION.md")
        env_id = blob_id(env_text.encode())
        edits += (Write(marker, claim_marker(snap.commit, plan, env_id).encode()),)
    return move(snap, slug, "active", author, extra=edits)


def release(
    snap: Snapshot, slug: str, author: Identity, *, verb: str = "release", note: str | None = None
) -> Change:
    """active -> planned: the lock line and .session-env go, the plan stays. A `note` (who
    forced it) goes into the commit message and the worklog."""
    lock = lock_remove(lock_text(snap), slug)
    extra: list[Edit] = [
        Write(LOCK_FILE, lock.encode()),
        Remove(f"{session_dir('planned', slug)}/.session-env"),
        Remove(f"{session_dir('planned', slug)}/{HOLDER_FILE}"),  # planned: nobody holds it
        Remove(f"{session_dir('planned', slug)}/{CLAIM_FILE}"),
        Remove(f"{session_dir('planned', slug)}/{OVERRIDE_FILE}"),
    ]
    if note:
        worklog = snap.text(f"{session_dir('active', slug)}/worklog.md") or ""
        extra.append(
            Write(f"{session_dir('planned', slug)}/worklog.md", f"{worklog}\n{note}\n".encode())
        )
    change = move(snap, slug, "planned", author, extra=extra, verb=verb)
    if note:
        return Change(change.edits, f"{change.message}\n\n{note}\n", author)
    return change
