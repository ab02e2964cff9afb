"""Who may act on a session: its holder, and how this clone knows it is the holder.

A claim names its agent in the committed .session-env, but a name is not enough: after a reap,
the same agent name may claim the session again from another clone, and the first clone must
not then complete, abandon, release or journal it. So the clone that claims writes a record in
its git dir, `git-sessions/claims/<slug>.json`, naming the claim commit, *before* publishing it.
The holder is whoever's identity matches main's .session-env while main's claim commit is the
one their clone recorded. The record also remembers what a claim or an ending has finished
locally, so running an interrupted command again completes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from git_sessions import transitions
from git_sessions.edits import Identity
from git_sessions.errors import Conflict, GitFailure
from git_sessions.gitrepo import Snapshot
from git_sessions.history import claim_base, claim_commits
from git_sessions.protocol import CLAIM_FILE, session_dir

MAX_CANDIDATES = 16


@dataclass(frozen=True)
class Record:
    claim: str  # the claim commit this clone built (and published, if main shows it)
    bootstrapped: bool = False  # the fresh worktree's bootstrap finished
    ending: str | None = None  # "completed"/"abandoned"/"planned": published, cleanup pending
    tip: str | None = None  # the session branch tip that ending archived
    commit: str | None = None  # the commit on main that ended it
    # Claim commits of this slug that agents of this clone were publishing: when two of them
    # race for one session, the winner's commit stays here though the loser wrote last.
    candidates: tuple[str, ...] = ()

    def claims(self) -> tuple[str, ...]:
        return (self.claim, *(c for c in self.candidates if c != self.claim))


def _path(common_dir: Path, slug: str) -> Path:
    return common_dir / "git-sessions" / "claims" / f"{slug}.json"


def load(common_dir: Path, slug: str) -> Record | None:
    """This clone's record of its claim of `slug` (None if it never claimed it here)."""
    try:
        data = json.loads(_path(common_dir, slug).read_text())
        return Record(
            str(data["claim"]),
            bool(data.get("bootstrapped")),
            data.get("ending"),
            data.get("tip"),
            data.get("commit"),
            tuple(str(c) for c in data.get("candidates") or ()),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(common_dir: Path, slug: str, record: Record) -> None:
    """Write the record atomically (it must survive a kill -9 at any instant)."""
    path = _path(common_dir, slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temp.write_text(json.dumps(asdict(record)))
    os.replace(temp, path)


def propose(common_dir: Path, slug: str, commit: str) -> None:
    """Record, before publishing it, that this clone is claiming `slug` with `commit`. Agents
    of one clone racing for one session each add their commit (under a lock) instead of
    overwriting each other's: whichever commit lands is then known here."""
    path = _path(common_dir, slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock  # imported by the few commands that write a record

    with FileLock(str(path.with_suffix(".lock")), timeout=30):
        old = load(common_dir, slug)
        kept = old.claims()[:MAX_CANDIDATES] if old is not None and old.ending is None else ()
        save(common_dir, slug, Record(commit, candidates=(commit, *kept)))


def update(common_dir: Path, slug: str, **changes: object) -> None:
    found = load(common_dir, slug)
    if found is not None:
        save(common_dir, slug, replace(found, **changes))  # type: ignore[arg-type]


def forget(common_dir: Path, slug: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(common_dir, slug).unlink()


def claimed_by(snap: Snapshot, slug: str) -> Identity | None:
    """The identity in active session `slug`'s committed .session-env."""
    from git_sessions.claiming import holder  # claiming records claims: import it lazily

    return holder(snap, slug)


def claim_commit(snap: Snapshot, slug: str) -> str | None:
    found = claim_commits(snap, [slug]).get(slug)
    return found.commit if found is not None else None


def holds(snap: Snapshot, slug: str, who: Identity, record: Record | None) -> bool:
    """`who`, acting from the clone with `record`, holds active session `slug` on `snap`."""
    owner = claimed_by(snap, slug)
    return (
        owner is not None
        and (owner.name, owner.email) == (who.name, who.email)
        and record is not None
        and any(is_claim(snap, slug, claim) for claim in record.claims())
    )


def is_claim(snap: Snapshot, slug: str, commit: str) -> bool:
    """`commit` made active session `slug` what it is on `snap`. With the claim's `.claim`
    marker that is one look at `commit` (built on the base the marker names, writing that
    marker), however far main has moved since; without it, a walk back to the claim."""
    base = claim_base(snap, slug)
    if base is None:
        return claim_commit(snap, slug) == commit
    try:
        claimed = snap.at(commit)
    except GitFailure:
        return False
    parent = claimed.parent()
    marker = f"{session_dir('active', slug)}/{CLAIM_FILE}"
    return (
        parent is not None
        and parent.commit == base
        and claimed.object_id(marker) == snap.object_id(marker)
    )


def check_holder(snap: Snapshot, slug: str, who: Identity, record: Record | None) -> None:
    """Refuse (Conflict, exit 3) unless `who` from this clone holds active session `slug`."""
    state = transitions.current_state(snap, slug)
    if state != "active":
        raise Conflict(
            f"session {slug} is {state}, not active: the claim was released, reaped or ended",
            hint="stop working on it, or claim it again",
        )
    if holds(snap, slug, who, record):
        return
    owner = claimed_by(snap, slug)
    held = f"{owner.name} <{owner.email}>" if owner else "an unknown agent"
    if owner is not None and (owner.name, owner.email) == (who.name, who.email):
        raise Conflict(
            f"session {slug} is held by {held} through a claim made from another clone"
            + (" (this clone's claim was reaped)" if record is not None else ""),
            hint="act from the clone that claimed it; release --force or abandon --force to"
            " take it over on purpose",
        )
    raise Conflict(
        f"session {slug} is now held by {held}, not by {who.name} <{who.email}>",
        hint="only the holder may do this; release --force or abandon --force override"
        " (recorded with your name)",
    )


def forced_note(who: Identity, owner: Identity | None) -> str:
    """The audit line an override adds to the commit message and the worklog."""
    held = f"{owner.name} <{owner.email}>" if owner else "an unknown agent"
    return f"Forced-by: {who.name} <{who.email}> (the claim was held by {held})"
