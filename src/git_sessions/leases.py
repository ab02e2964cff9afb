"""Leases: a claim is held while its owner shows life; stale claims can be reaped.

Signs of life are the lock line's timestamp on main and the commit time of the session branch
pushed to the hub (which also backs the work up there). `heartbeat` pushes the branch and, once
half the TTL has passed, renews the lock line by a compare-and-swap commit on main; a reap is a
compare-and-swap on main too, so a renewal and a reap are strictly ordered: whichever lands
first wins, and the reaper re-checks the signs of life on every attempt.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from git_sessions import faults, ownership, transitions, worktree
from git_sessions.claiming import holder, identity_in_env
from git_sessions.context import Context
from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import Snapshot
from git_sessions.protocol import (
    ENV_FILE,
    LOCK_FILE,
    SESSIONS,
    LockEntry,
    commit_message,
    format_lock,
    lock_remove,
    parse_lock,
    session_dir,
)
from git_sessions.publish import update_main

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
BRANCHES = "session/"


def parse_duration(text: str) -> int:
    """Seconds in a duration such as 90s, 30m, 2h, 1d or 1h30m."""
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise BadInput(f"invalid duration {text!r}", hint="use forms like 90s, 30m, 2h, 1d, 1h30m")
    return sum(int(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class Lease:
    slug: str
    holder: Identity | None
    claimed: int
    branch_time: int | None

    @property
    def last_life(self) -> int:
        return max(self.claimed, self.branch_time or 0)

    def to_json(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "holder": {"name": self.holder.name, "email": self.holder.email}
            if self.holder
            else None,
            "claimed": self.claimed,
            "branch_time": self.branch_time,
            "last_life": self.last_life,
        }


def leases(snap: Snapshot, branch_times: dict[str, int], only: str | None = None) -> list[Lease]:
    """The lease of every active session (or of `only`), from main's lock file and the hub's
    branches."""
    entries, _ = parse_lock(snap.text(LOCK_FILE) or "")
    if only is not None:
        entries = [e for e in entries if e.slug == only]
        holders = {only: holder(snap, only)} if entries else {}
    else:  # active/ read once: a lookup per lock line would parse it again for each
        envs = snap.folder_blobs(f"{SESSIONS}/active", [ENV_FILE])
        holders = {
            slug: identity_in_env(snap.blob_text(blobs[ENV_FILE]))
            for slug, blobs in envs.items()
            if ENV_FILE in blobs
        }
    return [
        Lease(
            e.slug,
            holders.get(e.slug),
            e.since,
            branch_times.get(f"refs/heads/{worktree.branch_name(e.slug)}"),
        )
        for e in entries
    ]


@dataclass(frozen=True)
class Renewal:
    slug: str
    branch_pushed: str | None
    renewed: bool  # the lock line was renewed on main


def push_branch(ctx: Context, slug: str, tip: str | None = None) -> str | None:
    """Push the session branch (the local one, the clone's in clone mode, or `tip`) to the
    hub, fast-forward only: a branch that moved on there (a later holder continued it) is
    never overwritten."""
    from git_sessions.clones import session_ws
    from git_sessions.gitrepo import open_hub

    ws = session_ws(ctx, slug)
    branch = worktree.branch_name(slug)
    tip = tip or ws.ref_target(f"refs/heads/{branch}")
    # the objects travel from the repository that has them: the clone, in clone mode
    hub = ctx.hub if ws is ctx.ws else open_hub(ws, ctx.config.remote, ctx.protocol_branch)
    if tip is not None and not hub.push_branch(ctx.config.remote, f"refs/heads/{branch}", tip):
        behind_the_hub(ctx, branch)
    return tip


def behind_the_hub(ctx: Context, branch: str) -> NoReturn:
    raise Conflict(
        f"the hub's {branch} has commits this clone does not have",
        hint=f"look at them first: git fetch {ctx.config.remote} {branch}, then merge them",
    )


def check_holder(ctx: Context, snap: Snapshot, slug: str, who: Identity) -> None:
    """Refuse to act for a claim that is no longer `who`'s from this clone (released, reaped,
    or claimed again, even under the same name from another clone)."""
    ownership.check_holder(snap, slug, who, ownership.load(ctx.ws.common_dir, slug))


def renew(
    ctx: Context,
    slug: str,
    *,
    who: Identity,
    force: bool = False,
    clock: Callable[[], float] = time.time,
) -> Renewal:
    """Show life for `slug`: back its branch up on the hub and renew the lock line on main
    (always with `force`, else once half the TTL has passed, so journal entries do not each
    add a commit to main). A claim that is not `who`'s any more is a Conflict (exit 3).

    The holder is checked right before the branch push, so a reaped agent cannot stack its
    commits on the hub's branch ahead of the new holder's (the push itself is fast-forward
    only, so even in that narrow race nothing is lost: the new holder's push is refused)."""
    check_holder(ctx, ctx.main(), slug, who)
    pushed = push_branch(ctx, slug)
    ttl = parse_duration(ctx.config.lease_ttl)
    now = int(clock())
    renewed = [False]

    def build(snap: Snapshot) -> Change | None:
        check_holder(ctx, snap, slug, who)
        entries, _ = parse_lock(snap.text(LOCK_FILE) or "")
        mine = [e for e in entries if e.slug == slug]
        if mine and not force and now - mine[0].since < ttl // 2:
            return None
        renewed[0] = True
        fresh = [LockEntry(e.slug, now) if e.slug == slug else e for e in entries]
        edit = Write(LOCK_FILE, format_lock(fresh).encode())
        return Change((edit,), commit_message(slug, "renew"), who)

    update_main(ctx.hub, build)
    return Renewal(slug, pushed, renewed[0])


@dataclass(frozen=True)
class Reaped:
    slug: str
    holder: Identity | None
    last_life: int
    commit: str | None  # None: saved by a sign of life, or reaped by someone else first
    outcome: str  # "reaped", "would reap", "saved", "gone"


def reap(
    ctx: Context,
    older_than: int,
    who: Identity,
    *,
    to: str = "planned",
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
) -> list[Reaped]:
    """Return claims with no sign of life for `older_than` seconds to `to` (or abandon them)."""
    if to not in ("planned", "abandoned"):
        raise BadInput(f"cannot reap to {to!r}", hint="use --to planned or --to abandoned")
    now = int(clock())
    hub = ctx.hub
    found = [
        lease
        for lease in leases(ctx.main(), hub.branch_times(BRANCHES))
        if now - lease.last_life > older_than
    ]
    if dry_run:
        return [Reaped(x.slug, x.holder, x.last_life, None, "would reap") for x in found]
    faults.point("reap:after-scan")  # a holder may show life now: each build looks again
    results = []
    for lease in found:
        outcome = ["reaped"]

        def build(
            snap: Snapshot, slug: str = lease.slug, outcome: list[str] = outcome
        ) -> Change | None:
            if transitions.current_state(snap, slug) != "active":
                outcome[0] = "gone"
                return None
            current = leases(snap, hub.branch_times(BRANCHES), only=slug)
            if not current or now - current[0].last_life <= older_than:
                outcome[0] = "saved"
                return None
            return reap_change(snap, current[0], who, to, older_than, now)

        published = update_main(hub, build)
        commit = published.commit if published.changed else None
        results.append(Reaped(lease.slug, lease.holder, lease.last_life, commit, outcome[0]))
    return results


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def reap_change(
    snap: Snapshot, lease: Lease, who: Identity, to: str, older_than: int, now: int
) -> Change:
    """active -> `to` for a stale claim, with who reaped it and why in the worklog."""
    slug = lease.slug
    src, dst = session_dir("active", slug), session_dir(to, slug)
    owner = f"{lease.holder.name} <{lease.holder.email}>" if lease.holder else "unknown"
    note = (
        f"\n## {_iso(now)} Reaped\n\n"
        f"Reaped by {who.name} <{who.email}>: the claim of {owner} showed no sign of life"
        f" since {_iso(lease.last_life)} (limit {older_than}s). Session moved to {to}; its work"
        f" stays on branch {worktree.branch_name(slug)} on the hub.\n"
    )
    worklog = (snap.text(f"{src}/worklog.md") or "") + note
    edits: tuple[Edit, ...] = (
        Write(LOCK_FILE, lock_remove(snap.text(LOCK_FILE) or "", slug).encode()),
        Write(f"{src}/worklog.md", worklog.encode()),
        Remove(f"{src}/{ENV_FILE}"),
        *([Remove(f"{src}/claim.json")] if to == "planned" else []),  # planned: nobody holds it
        Move(src, dst),
    )
    return Change(edits, commit_message(slug, "reap"), who)
