"""The session journal: worklog.md, events.jsonl and learnings, on the session branch.

Every entry is one commit built in memory on the session branch (the worktree's files and index
follow, so it stays clean), holding the worklog line and the events.jsonl line together. Only
the session's own folder (and its learnings file) is written, so sessions never conflict. After
each commit the branch is pushed to the hub as a sign of life, best effort: a hub that cannot be
reached costs a note, never the entry.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from git_sessions import events, safefs, sessionenv, worktree
from git_sessions.claiming import holder, worktree_path
from git_sessions.clones import session_ws
from git_sessions.context import Context
from git_sessions.edits import Identity
from git_sessions.errors import BadInput, GitFailure
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import ENV_FILE, KNOWLEDGE, session_dir
from git_sessions.worklog import append_worklog, commit_message

WORKLOG = "worklog.md"
EVENTS = "events.jsonl"

# current texts of the paths (None if absent) -> (their new texts, the commit message)
Update = Callable[[Mapping[str, str | None]], tuple[Mapping[str, str], str]]


def learnings_file(slug: str) -> str:
    return f"{KNOWLEDGE}/sessions/{slug}/learnings.md"


def session_file(slug: str, name: str, state: str = "active") -> str:
    return f"{session_dir(state, slug)}/{name}"


@dataclass(frozen=True)
class Entry:
    slug: str
    path: str
    commit: str | None
    paths: tuple[str, ...] = ()
    note: str | None = None  # the hub did not get the branch: why


def session_identity(ctx: Context, slug: str, environ: Mapping[str, str]) -> Identity:
    """Who writes for the session: the sourced .session-env, its file, or the claim on main."""
    name, email = environ.get("GIT_AUTHOR_NAME"), environ.get("GIT_AUTHOR_EMAIL")
    if environ.get("SESSION_ID") == slug and name and email:
        return sessionenv.check_identity(name, email)
    wt = session_worktree(ctx, slug)
    local = safefs.read_text(wt, session_file(slug, ENV_FILE)) if wt is not None else None
    if local is not None:
        with contextlib.suppress(BadInput):
            return sessionenv.from_text(local).who
    owner = holder(ctx.main(), slug)
    return owner if owner is not None else ctx.identity()


def session_worktree(ctx: Context, slug: str) -> Path | None:
    """The session's worktree on this machine, if it has one."""
    wt = worktree_path(ctx, slug)
    return wt if (wt / ".git").exists() else None


def _check_holder(ctx: Context, slug: str, who: Identity) -> Snapshot | None:
    """Main, after checking that `who` still holds `slug` (a Conflict if not); None if the hub
    cannot be reached, so the entry is still written locally."""
    from git_sessions import leases

    try:
        snap = ctx.main()
    except (GitFailure, BadInput):  # unreachable, or (BadInput) a local hub path that is gone
        return None
    leases.check_holder(ctx, snap, slug, who)
    return snap


def _renew(ctx: Context, slug: str, who: Identity, snap: Snapshot | None) -> str | None:
    """Push the session branch to the hub as a sign of life. An unreachable hub costs a note;
    a claim that is no longer ours is a Conflict."""
    from git_sessions import leases

    unsent = "the journal entry is committed locally, but the hub was not updated"
    if snap is None:
        return f"{unsent}: it could not be reached"
    try:
        leases.renew(ctx, slug, who=who)
    except GitFailure as exc:
        return f"{unsent}: {exc.message}"
    return None


def edit_files(
    ctx: Context,
    slug: str,
    paths: Sequence[str],
    update: Update,
    *,
    commit: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Entry:
    """Rewrite `paths` with `update` in the session's worktree (or branch), in one commit there.

    `update` runs under the workspace lock on the current texts, so concurrent writers for one
    session serialise and none loses an entry.
    """
    env = dict(os.environ) if environ is None else environ
    wt = session_worktree(ctx, slug)
    branch = worktree.branch_name(slug)
    if wt is None and ctx.ws.ref_target(f"refs/heads/{branch}") is None:
        raise _not_here(ctx, slug)
    if wt is None and not commit:
        raise BadInput("--no-commit needs the session's worktree on this machine")
    who = session_identity(ctx, slug, env)
    snap = _check_holder(ctx, slug, who) if commit else None
    with ctx.ws.lock():
        if wt is not None:
            current = {p: safefs.read_text(wt, p) for p in paths}
        else:
            snap = ctx.ws.snapshot(ctx.ws.ref_target(f"refs/heads/{branch}"))
            current = {p: snap.text(p) for p in paths}
        texts, message = update(current)
        if not commit:
            assert wt is not None
            for path, text in texts.items():
                safefs.write_text(wt, path, text)
            return Entry(slug, paths[0], None, tuple(texts))
        files = {p: t.encode() for p, t in texts.items()}
        new = session_ws(ctx, slug).commit_on_branch(branch, files, message, who, wt)
    return Entry(slug, paths[0], new, tuple(texts), _renew(ctx, slug, who, snap))


def _not_here(ctx: Context, slug: str) -> BadInput:
    """Why there is nothing to write the journal into here, and what to do instead."""
    from git_sessions import catalog

    snap = ctx.main()
    states = catalog.locate(snap, slug)
    if not states:
        return BadInput(f"no session {slug!r}", hint="see the sessions with: git sessions list")
    state = states[0]
    if state in ("completed", "abandoned"):
        return BadInput(
            f"session {slug} is {state}; its journal is closed",
            hint="record new work in a new session: git sessions new WORDS...",
        )
    if state == "active":
        owner = holder(snap, slug)
        who = f" by {owner.name} <{owner.email}>" if owner else ""
        return BadInput(
            f"session {slug} is claimed{who}, but not on this machine",
            hint="journal where the session was claimed, or ask its holder to release it",
        )
    return BadInput(
        f"session {slug} is {state}, not claimed",
        hint=f"claim it first: git sessions claim {slug}",
    )


def append_entry(
    ctx: Context,
    slug: str,
    path: str,
    header: str,
    line: str,
    message: str,
    *,
    commit: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Entry:
    """Append `line` to `path` in the session's worktree (or branch) and commit it there."""

    def update(current: Mapping[str, str | None]) -> tuple[Mapping[str, str], str]:
        return {path: (current[path] or header) + line}, message

    return edit_files(ctx, slug, [path], update, commit=commit, environ=environ)


# --------------------------------------------------------------------------- events

MakeEvent = Callable[[Sequence[events.Event]], events.Event]
# extra file: (its current text, every event including the new one) -> its new text
Extra = Callable[[str | None, Sequence[events.Event]], str]


@dataclass(frozen=True)
class Recorded:
    slug: str
    event: events.Event
    commit: str | None
    paths: tuple[str, ...]
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "event": self.event.to_json(),
            "commit": self.commit,
            "paths": list(self.paths),
            "note": self.note,
        }


def _header(slug: str) -> str:
    return f"# Worklog: {slug}\n\n"


def record(
    ctx: Context,
    slug: str,
    make: MakeEvent,
    *,
    extra: Mapping[str, Extra] | None = None,
    commit: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Recorded:
    """Append the event `make` builds (from the events so far) to worklog.md and events.jsonl,
    rewrite the `extra` files, and commit them all at once on the session branch."""
    worklog, log = session_file(slug, WORKLOG), session_file(slug, EVENTS)
    made: list[events.Event] = []

    def update(current: Mapping[str, str | None]) -> tuple[Mapping[str, str], str]:
        past = events.parse_jsonl(current[log] or "")
        event = make(past)
        made[:] = [event]
        texts = {
            worklog: append_worklog(current[worklog] or _header(slug), event),
            log: (current[log] or "") + events.jsonl_line(event),
        }
        for path, render in (extra or {}).items():
            texts[path] = render(current[path], [*past, event])
        return texts, commit_message(slug, event)

    paths = [worklog, log, *(extra or {})]
    entry = edit_files(ctx, slug, paths, update, commit=commit, environ=environ)
    return Recorded(slug, made[0], entry.commit, entry.paths, entry.note)


def now_of(clock: Callable[[], float] | None) -> int:
    return int((clock or time.time)())


def learn(
    ctx: Context,
    slug: str,
    insight: str,
    *,
    commit: bool = True,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
    at: int | None = None,
) -> Entry:
    """Record a learning in knowledge/sessions/<slug>/learnings.md (and the journal); with
    `at`, as a retroactive entry made at that time."""
    if not insight.strip():
        raise BadInput("a learning needs some text")
    now = now_of(clock)
    event = events.backdate(events.learning_event(" ".join(insight.split()), now), at, now)
    stamp = events.iso(event.time).replace("T", " ")[:16]
    path = learnings_file(slug)

    def learnings(current: str | None, _: Sequence[events.Event]) -> str:
        return (current or f"# Learnings: {slug}\n\n") + f"- {stamp} {event.text}\n"

    done = record(
        ctx, slug, lambda _: event, extra={path: learnings}, commit=commit, environ=environ
    )
    return Entry(slug, path, done.commit, done.paths, done.note)


# --------------------------------------------------------------------------- crash and recovery


def crash(
    ctx: Context,
    slug: str,
    notes: str,
    *,
    commit: bool = True,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
    at: int | None = None,
) -> Recorded:
    """Record a crash and what it left uncommitted (the leftovers stay for `recover`); with
    `at`, when the crash happened."""
    wt = session_worktree(ctx, slug)
    dirty = ctx.ws.status_dirty(wt, untracked=True) if wt else []
    now = now_of(clock)
    return record(
        ctx,
        slug,
        lambda _: events.backdate(events.crash_event(notes, dirty, now), at, now),
        commit=commit,
        environ=environ,
    )


def recover(
    ctx: Context,
    slug: str,
    message: str | None = None,
    *,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Recorded:
    """Commit everything left in the worktree as `[<slug>] recover: ...`, with the journal
    entry that says so, in one commit."""
    wt = session_worktree(ctx, slug)
    if wt is None:
        raise BadInput(
            f"session {slug} has no worktree on this machine",
            hint="recover runs where the crashed agent worked",
        )
    env = dict(os.environ) if environ is None else environ
    who = session_identity(ctx, slug, env)
    snap = _check_holder(ctx, slug, who)
    worklog, log = session_file(slug, WORKLOG), session_file(slug, EVENTS)
    description = " ".join((message or "").split())
    with ctx.ws.lock():
        leftovers = ctx.ws.status_dirty(wt, untracked=True)
        current = {p: safefs.read_text(wt, p) for p in (worklog, log)}
        past = events.parse_jsonl(current[log] or "")
        if not description:
            description = "commit leftover work" if leftovers else "nothing left uncommitted"
        event = events.recover_event(leftovers, past, description, now_of(clock))
        safefs.write_text(wt, worklog, append_worklog(current[worklog] or _header(slug), event))
        safefs.write_text(wt, log, (current[log] or "") + events.jsonl_line(event))
        text = f"[{slug}] recover: {description}\n\nSession: {slug}\nSession-Event: recover\n"
        new = session_ws(ctx, slug).commit_all(worktree.branch_name(slug), text, who, wt)
    return Recorded(slug, event, new, (worklog, log), _renew(ctx, slug, who, snap))
