"""Releasing a claim: active -> planned, by the holder (or forced), then the local cleanup."""

from __future__ import annotations

from dataclasses import dataclass

from git_sessions import (
    ownership,
    transitions,
    worktree,
)
from git_sessions.claiming import holder, worktree_path
from git_sessions.context import Context
from git_sessions.edits import Change, Identity
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo import Snapshot
from git_sessions.history import claim_commit
from git_sessions.protocol import check_slug
from git_sessions.publish import update_main
from git_sessions.sessionenv import current_slug as current_slug


@dataclass(frozen=True)
class Release:
    slug: str
    commit: str
    branch_kept: bool
    worktree_removed: bool


def release(ctx: Context, slug: str, who: Identity, *, force: bool = False) -> Release:
    """Give a claim back: active -> planned. Only the holder may, and not while the session
    branch has work since the claim, unless `force`, which keeps every branch. Forced by
    anyone else, the release names who forced it in the commit and the worklog. A worktree
    with uncommitted changes is always refused. Run again after an interruption, it finishes
    the local cleanup."""
    check_slug(slug)
    common = ctx.ws.common_dir
    record = ownership.load(common, slug)
    snap = ctx.main()
    state = transitions.current_state(snap, slug)
    if record is not None and record.ending == "planned" and state == "planned":
        return Release(slug, record.commit or "", True, _remove_worktree(ctx, slug))
    mine = state == "active" and ownership.holds(snap, slug, who, record)
    if not mine and not force:
        ownership.check_holder(snap, slug, who, record)
    path = worktree_path(ctx, slug)
    if path.exists():
        dirty = ctx.ws.status_dirty(path, untracked=True)
        if dirty:
            raise BadInput(
                f"worktree {path} has uncommitted changes ({', '.join(dirty[:3])})",
                hint="commit or discard them first",
            )
    work = _session_work(ctx, slug, snap)
    if work and not force:
        raise Conflict(
            f"session branch {worktree.branch_name(slug)} has {work} commit(s) since the claim",
            hint="complete or abandon the session, or release --force to keep the branch",
        )

    def build(snap: Snapshot) -> Change:
        if transitions.current_state(snap, slug) != "active":
            raise Conflict(f"session {slug} is {transitions.current_state(snap, slug)}, not active")
        if ownership.holds(snap, slug, who, record):
            return transitions.release(snap, slug, who)
        if not force:
            ownership.check_holder(snap, slug, who, record)
        audit = ownership.forced_note(who, holder(snap, slug))
        return transitions.release(snap, slug, who, note=audit)

    def ending(commit: str) -> None:
        if mine:
            ownership.update(common, slug, ending="planned", commit=commit)

    ref = f"refs/heads/{worktree.branch_name(slug)}"
    tip = ctx.ws.ref_target(ref)
    published = update_main(ctx.hub, build, before_publish=ending)
    removed = _remove_worktree(ctx, slug) if mine or path.exists() else False
    if mine and not work and tip is not None:
        with ctx.ws.lock():
            ctx.ws.delete_ref(ref, expected=tip)  # kept if a commit landed meanwhile
    if mine:
        ownership.forget(common, slug)
    return Release(slug, published.commit, bool(work) or not mine, removed)


def _remove_worktree(ctx: Context, slug: str) -> bool:
    from git_sessions.clones import find_clone, remove_clone

    clone = find_clone(ctx, slug)
    if clone is not None:
        return remove_clone(clone)
    path = worktree_path(ctx, slug)
    with ctx.ws.lock():
        if path.exists() or (ctx.ws.common_dir / "worktrees" / slug).exists():
            return ctx.ws.remove_worktree(slug, path)
    return False


def _session_work(ctx: Context, slug: str, snap: Snapshot) -> int:
    """Commits on the local session branch that main's claim commit (in `snap`) lacks (in
    clone mode, the clone's branch, brought here through the hub first)."""
    from git_sessions.clones import bring_home

    bring_home(ctx, slug)
    tip = ctx.ws.ref_target(f"refs/heads/{worktree.branch_name(slug)}")
    if tip is None or snap.commit is None:
        return 0
    if not ctx.ws.has_commit(snap.commit):
        ctx.ws.fetch(ctx.config.remote, ctx.protocol_branch)
    claimed = claim_commit(slug, ctx.ws.snapshot(tip), ctx.ws.snapshot(snap.commit))
    if claimed is None or claimed.commit is None:
        return 0
    return len(ctx.ws.commits_between(claimed.commit, tip))
