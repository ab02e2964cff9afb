"""`drift SLUG`: the live report of an active session, or the one an ended session stored."""

from __future__ import annotations

import time
from collections.abc import Callable

from git_sessions import drift as drift_mod
from git_sessions import transitions, worktree
from git_sessions.completing import Work, session_drift
from git_sessions.context import Context
from git_sessions.errors import BadInput, Conflict
from git_sessions.history import claim_commits
from git_sessions.protocol import session_dir


def drift_report(
    ctx: Context, slug: str, clock: Callable[[], float] = time.time
) -> drift_mod.Drift | drift_mod.Stored:
    """Drift of an active session now, or the report stored when it completed."""
    snap = ctx.main()
    state = transitions.current_state(snap, slug)
    if state in ("completed", "abandoned"):
        stored = snap.text(f"{session_dir(state, slug)}/drift.md")
        if stored is None:
            raise BadInput(f"session {slug} has no drift report", hint="it ended without one")
        return drift_mod.stored(stored)
    if state != "active":
        raise Conflict(f"session {slug} is {state}: drift starts at the claim")
    if snap.commit is None or not ctx.ws.has_commit(snap.commit):
        with ctx.ws.lock():
            ctx.ws.fetch(ctx.config.remote, ctx.branch)
    assert snap.commit is not None
    objects = ctx.ws.objects
    claimed = claim_commits(objects.snapshot(snap.commit), [slug]).get(slug)
    if claimed is None or claimed.commit is None:
        raise Conflict(f"cannot find the commit that claimed {slug} on main")
    # without the session branch here, its work is unknown: report none rather than main's
    tip = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}") or claimed.commit
    work = Work(slug, claimed.commit, tip, objects, (snap.commit,))
    return session_drift(work, int(clock()))
