"""Tracing sessions: commits and journal events in time order (`history`), read from git trees,
no checkout. The summary (`status`) lives in `status`, text search in `search`.

An active session is read from its branch (this clone's, else the hub's) and its worktree's
journal when there is one; an ended session from its folder on main, where the patch series
stands in for the deleted branch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from git_sessions import catalog, endrecord, events, safefs, transitions, worktree
from git_sessions.claiming import holder, worktree_path
from git_sessions.context import Context
from git_sessions.edits import Identity
from git_sessions.gitrepo import LocalHub, Snapshot
from git_sessions.gitrepo.objects import Objects
from git_sessions.history import claim_commits
from git_sessions.journal import EVENTS, session_file
from git_sessions.patch import added_lines, parse_patch
from git_sessions.protocol import SESSIONS, session_dir

ENDINGS = {"completed": "complete", "abandoned": "abandon"}


@dataclass(frozen=True)
class CommitItem:
    id: str
    time: int
    author: Identity
    subject: str
    kind: str  # claim, work, journal, complete, abandon
    trailer: bool  # carries "Session: <slug>"
    seq: int  # position in the branch, for ties within a second

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "commit",
            "time": events.iso(self.time),
            "id": self.id,
            "kind": self.kind,
            "author": {"name": self.author.name, "email": self.author.email},
            "subject": self.subject,
            "session_trailer": self.trailer,
        }


@dataclass(frozen=True)
class EventItem:
    event: events.Event
    commit: str | None  # the commit that recorded it (None: not committed yet)
    seq: int

    @property
    def time(self) -> int:
        return self.event.time

    def to_json(self) -> dict[str, Any]:
        return {"type": "event", **self.event.to_json(), "commit": self.commit}


Item = CommitItem | EventItem


@dataclass(frozen=True)
class Trace:
    slug: str
    state: str
    title: str
    owner: Identity | None
    source: str  # where the commits were read: local branch, hub branch, patch, main
    claimed: int | None
    ended: int | None
    tip: str | None
    commits: tuple[CommitItem, ...]
    events: tuple[EventItem, ...]

    def items(self) -> list[Item]:
        """Commits and events in time order (ties: branch order, commits before events)."""
        both: list[Item] = [*self.commits, *self.events]
        return sorted(both, key=lambda i: (i.time, i.seq, isinstance(i, EventItem)))

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "state": self.state,
            "source": self.source,
            "items": [i.to_json() for i in self.items()],
        }


def _trailers(message: str, slug: str) -> tuple[bool, str | None]:
    """(has "Session: <slug>", the Session-Event kind if any)."""
    session = re.search(rf"^Session: {re.escape(slug)}\s*$", message, re.M) is not None
    kind = re.search(r"^Session-Event: (\S+)\s*$", message, re.M)
    return session, kind.group(1) if kind else None


def _commit(
    cid: str, when: int, who: Identity, message: str, slug: str, seq: int, kind: str = ""
) -> CommitItem:
    session, journal = _trailers(message, slug)
    subject = message.split("\n", 1)[0]
    return CommitItem(
        cid, when, who, subject, kind or ("journal" if journal else "work"), session, seq
    )


# --------------------------------------------------------------------------- reading sessions


def branch_tip(
    ctx: Context, slug: str, *, fetch: bool, heads: Mapping[str, str] | None = None
) -> tuple[Objects, str, str] | None:
    """The session branch: this clone's, else the hub's (fetched from a remote hub if
    `fetch`); with the objects that hold it and where it was found. `heads`: a local hub's
    branches, when the caller has listed them already."""
    ref = f"refs/heads/{worktree.branch_name(slug)}"
    tip = ctx.ws.ref_target(ref)
    if tip is not None:
        return ctx.ws.objects, tip, "local branch"
    hub = ctx.hub
    if isinstance(hub, LocalHub):
        found = (hub.heads() if heads is None else heads).get(ref)
        return (hub.objects, found, "hub branch") if found else None
    tracking = f"refs/remotes/{ctx.config.remote}/{worktree.branch_name(slug)}"
    if fetch and ref in hub.heads():
        ctx.ws.fetch(ctx.config.remote, worktree.branch_name(slug))
    found = ctx.ws.ref_target(tracking)
    return (ctx.ws.objects, found, "hub branch") if found else None


def trace(ctx: Context, slug: str) -> Trace:
    """Everything recorded about `slug`: its commits and its journal events."""
    snap = ctx.main()
    state = transitions.current_state(snap, slug)
    plan = snap.text(f"{session_dir(state, slug)}/SESSION.md")
    title = catalog.parse_session(slug, state, plan).title
    if state == "active":
        return _active(ctx, snap, slug, title)
    if state in ENDINGS:
        return _ended(snap, slug, state, title)
    text = snap.text(session_file(slug, EVENTS, state)) or ""
    return Trace(slug, state, title, None, "main", None, None, None, (), _link(text, [], {}))


def _active(ctx: Context, snap: Snapshot, slug: str, title: str) -> Trace:
    path = session_file(slug, EVENTS)
    commits: list[CommitItem] = []
    owners: list[str | None] = []
    seqs: dict[str, int] = {}
    found = branch_tip(ctx, slug, fetch=True)
    if found is None:  # claimed elsewhere, nothing pushed yet: main has the claim and folder
        claim = claim_commits(snap, [slug]).get(slug)
        if claim is not None and claim.commit is not None:
            name, mail, when = snap.commit_info(claim.commit)
            commits.append(
                _commit(claim.commit, when, Identity(name, mail), claim.message, slug, 0, "claim")
            )
        text, source, tip = snap.text(path) or "", "main", None
    else:
        objects, tip, source = found
        claim_snap = claim_commits(objects.snapshot(tip), [slug]).get(slug)
        base = claim_snap.commit if claim_snap is not None else None
        if base is not None:
            info = objects.info(base)
            commits.append(_commit(base, info.time, info.author, info.message, slug, 0, "claim"))
            owners = [None] * _lines(objects.snapshot(base).read(path))
        for seq, info in enumerate(objects.log(base, tip), start=1):
            seqs[info.id] = seq
            owners += [info.id] * (_lines(objects.snapshot(info.id).read(path)) - len(owners))
            if len(info.parents) == 1:
                commits.append(_commit(info.id, info.time, info.author, info.message, slug, seq))
        wt = worktree_path(ctx, slug)
        # the worktree's copy also has entries written with --no-commit
        on_disk = safefs.read_text(wt, path) if (wt / ".git").is_file() else None
        text = on_disk if on_disk is not None else objects.snapshot(tip).text(path) or ""
    claimed = commits[0].time if commits and commits[0].kind == "claim" else None
    linked = _link(text, owners, seqs)
    owner = holder(snap, slug)
    return Trace(slug, "active", title, owner, source, claimed, None, tip, tuple(commits), linked)


def _lines(data: bytes | None) -> int:
    return (data or b"").count(b"\n")


def _link(
    text: str, owners: Sequence[str | None], seqs: Mapping[str, int]
) -> tuple[EventItem, ...]:
    """Events, each with the commit that added its line (owners[n] for line n) and that
    commit's place in the branch."""
    found = []
    for n, line in enumerate(text.split("\n")):  # as git counts lines: \n only
        parsed = events.parse_jsonl(line)
        if parsed:
            owner = owners[n] if n < len(owners) else None
            seq = seqs.get(owner, 1 << 30) if owner is not None else 1 << 30
            found.append(EventItem(parsed[0], owner, seq))
    return tuple(found)


def _ended(snap: Snapshot, slug: str, state: str, title: str) -> Trace:
    folder = session_dir(state, slug)
    end, claim = _span(snap, slug, state)
    commits: list[CommitItem] = []
    owner = None
    if claim is not None and claim.commit is not None:
        owner = holder(claim, slug)
        name, mail, when = snap.commit_info(claim.commit)
        commits.append(
            _commit(claim.commit, when, Identity(name, mail), claim.message, slug, 0, "claim")
        )
    owners: list[str | None] = []
    # the journal series (per commit) since sessions land one squashed code patch; older
    # archives kept a single series of every commit
    series = snap.text(f"{folder}/{slug}.journal.patch") or snap.text(f"{folder}/{slug}.patch")
    for seq, entry in enumerate(parse_patch(series or ""), start=1):
        commits.append(_commit(entry.id, entry.time, entry.author, entry.message, slug, seq))
        owners += [entry.id] * added_lines(entry.diff, session_file(slug, EVENTS))
    assert end.commit is not None
    name, mail, ended = snap.commit_info(end.commit)
    commits.append(
        _commit(
            end.commit,
            ended,
            Identity(name, mail),
            end.message,
            slug,
            len(commits) + 1,
            ENDINGS[state],
        )
    )
    text = snap.text(f"{folder}/{EVENTS}") or ""
    linked = _link(text, owners, {c.id: c.seq for c in commits})
    claimed = commits[0].time if commits[0].kind == "claim" else None
    return Trace(slug, state, title, owner, "patch", claimed, ended, None, tuple(commits), linked)


def _span(snap: Snapshot, slug: str, state: str) -> tuple[Snapshot, Snapshot | None]:
    """(the commit that ended the session, the one that claimed it): named by the session's
    end record, checked in O(1); without one that holds up, by walking main back to the end
    (the oldest commit of the run that holds the session in `state`) and on to the claim."""
    recorded = endrecord.span(snap, slug, state)
    if recorded is not None:
        return recorded
    end, parent = snap.holding_run(f"{SESSIONS}/{state}", slug)
    if parent is None:
        return snap.at(end), None
    return snap.at(end), claim_commits(snap.at(parent), [slug]).get(slug)
