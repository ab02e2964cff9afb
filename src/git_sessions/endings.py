"""What `complete` and `abandon` share after landing on main: the result (`Completion`), the
local cleanup, and finishing an ending that was stopped before its cleanup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from git_sessions import (
    faults,
    ownership,
    transitions,
    worktree,
)
from git_sessions.claiming import worktree_path
from git_sessions.context import Context
from git_sessions.protocol import (
    session_dir,
)


@dataclass(frozen=True)
class Completion:
    slug: str
    commit: str
    patch: str
    journal_patch: str
    drift: str
    kb_session: str | None
    commits: int
    code_commits: int
    allow_empty: bool
    verified: list[dict[str, Any]]
    attempts: int
    worktree_removed: bool
    resumed: bool = False  # it had landed before; this run only finished the cleanup
    landing: str | None = None  # the review branch the code waits on (landing: review)


def cleanup(ctx: Context, slug: str, tip: str, *, keep_branch: bool) -> bool:
    """Remove the worktree (or the session clone); unless kept, delete the session branch here
    and on the hub while it is still at `tip` (or behind it, on the hub): a branch with
    commits the ending did not archive is never deleted. Then forget the claim."""
    from git_sessions.clones import find_clone, remove_clone

    clone = find_clone(ctx, slug)
    path = worktree_path(ctx, slug)
    branch = worktree.branch_name(slug)
    ref = f"refs/heads/{branch}"
    with ctx.ws.lock():
        removed = ctx.ws.remove_worktree(slug, path) if clone is None else True
        faults.point("complete:in-cleanup")
        if not keep_branch:
            ctx.ws.delete_ref(ref, expected=tip)
            ctx.ws.delete_ref(f"refs/remotes/{ctx.config.remote}/{branch}")
    if not keep_branch:
        on_hub = ctx.hub.heads().get(ref)
        known = on_hub is not None and ctx.ws.objects.has(on_hub)
        if on_hub is not None and known and ctx.ws.objects.is_ancestor(on_hub, tip):
            ctx.hub.delete_ref(ref, expected=on_hub)
    ownership.forget(ctx.ws.common_dir, slug)
    if clone is not None:
        # last, outside the lock: the clone may be the repository this command runs in
        remove_clone(clone)
    return removed


def finish_ending(
    ctx: Context, slug: str, record: ownership.Record, state: str
) -> Completion | None:
    """A `complete` (or `abandon`) that landed on main but was stopped before its local
    cleanup: finish it. None if main does not show that ending (it never landed)."""
    snap = ctx.main()
    if transitions.current_state(snap, slug) != state or record.tip is None:
        return None
    removed = cleanup(ctx, slug, record.tip, keep_branch=state != "completed")
    folder = session_dir(state, slug)
    return Completion(
        slug,
        record.commit or "",
        f"{folder}/{slug}.patch",
        f"{folder}/{slug}.journal.patch",
        f"{folder}/drift.md",
        None,
        0,
        0,
        False,
        [],
        0,
        removed,
        resumed=True,
    )
