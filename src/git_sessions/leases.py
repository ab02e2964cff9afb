"""Leases: a claim is held while its owner shows life; stale claims can be reaped.

Signs of life are the lock line's timestamp on main (renewed by a compare-and-swap commit, so a
renewal and a reap are strictly ordered) and the commit time of the session branch pushed to
the hub (which also backs the work up there).
"""

from __future__ import annotations

from dataclasses import dataclass

from git_sessions import worktree
from git_sessions.context import Context


@dataclass(frozen=True)
class Renewal:
    slug: str
    branch_pushed: str | None


def push_branch(ctx: Context, slug: str) -> str | None:
    """Push the local session branch to the hub (the agent owns it, so force is safe)."""
    branch = worktree.branch_name(slug)
    tip = ctx.ws.ref_target(f"refs/heads/{branch}")
    if tip is None:
        return None
    ctx.ws.push(ctx.config.remote, tip, f"refs/heads/{branch}", force=True)
    return tip


def renew(ctx: Context, slug: str) -> Renewal:
    """Show life for `slug`: back its branch up on the hub."""
    return Renewal(slug, push_branch(ctx, slug))
