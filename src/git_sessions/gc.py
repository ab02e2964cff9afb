"""Garbage collection of local session debris: worktrees and branches of sessions this clone no
longer holds, folders moved aside by crashes, dead worktree entries, stale ref locks, and the
loose objects of a local hub.

A branch goes only when its work is safe elsewhere, judged by content, never by ancestry (a
squash merge leaves no ancestry): its code merged into main in memory changes nothing, and every
line of its journal files is in main's copy of the session; or the hub holds the same commits.
A worktree with uncommitted changes is never touched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from git_sessions import catalog, safefs, worktree
from git_sessions.claiming import holder, worktree_path
from git_sessions.context import Context
from git_sessions.errors import GitFailure
from git_sessions.gitrepo import LocalHub, Snapshot
from git_sessions.gitrepo.comparison import tree_of, tree_without
from git_sessions.gitrepo.housekeeping import gc_repository, local_branches, worktree_entries
from git_sessions.gitrepo.objects import Objects
from git_sessions.gitrepo.transport import STALE_LOCK_SECONDS
from git_sessions.holders import CLAIM_FILE as HOLDER_FILE
from git_sessions.journal import learnings_file
from git_sessions.leases import BRANCHES
from git_sessions.overview import Branch, hub_branches
from git_sessions.protocol import CLAIM_FILE, ENV_FILE, is_slug, session_dir
from git_sessions.verification import BOOKKEEPING


@dataclass(frozen=True)
class Item:
    kind: str  # session, orphaned, worktree-entry, ref-lock, hub-objects
    name: str
    bytes: int
    removed: bool
    reason: str

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Report:
    items: tuple[Item, ...]
    dry_run: bool

    @property
    def freed(self) -> list[Item]:
        return [i for i in self.items if i.removed]

    @property
    def kept(self) -> list[Item]:
        return [i for i in self.items if not i.removed]

    def to_json(self) -> dict[str, object]:
        return {
            "dry_run": self.dry_run,
            "freed": {"count": len(self.freed), "bytes": sum(i.bytes for i in self.freed)},
            "items": [i.to_json() for i in self.items],
        }


def size(path: Path) -> int:
    """Bytes under `path`, without following symlinks."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def code_landed(objects: Objects, main: str, tip: str) -> bool:
    """Merging the branch's code into main changes nothing (the sessions' journals aside)."""
    base = objects.merge_base(main, tip)
    strip = [tree_without(objects, tree_of(objects, c), BOOKKEEPING) for c in (main, tip)]
    start = tree_without(objects, tree_of(objects, base), BOOKKEEPING) if base else None
    return objects.merge(start, strip[0], strip[1]).tree == strip[0]


def journal_landed(snap: Snapshot, tip: Snapshot, slug: str, state: str | None) -> bool:
    """Every line of the branch's journal files is in main's copy of the session."""
    if state is None:
        return False
    mine = session_dir("active", slug)
    theirs = session_dir(state, slug)
    pairs = [
        (f"{theirs}/{path[len(mine) + 1 :]}", data)
        for path, data in tip.files(mine)
        # the claim's, not work
        if not path.endswith((f"/{ENV_FILE}", f"/{CLAIM_FILE}", f"/{HOLDER_FILE}"))
    ]
    learned = tip.read(learnings_file(slug))
    if learned is not None:
        pairs.append((learnings_file(slug), learned))
    for path, data in pairs:
        have = snap.read(path)
        if have is None or not set(data.split(b"\n")) <= set(have.split(b"\n")):
            return False
    return True


def on_hub(branch: Branch | None, tip: str) -> bool:
    return branch is not None and (
        branch.tip == tip
        or (branch.objects.has(tip) and branch.objects.is_ancestor(tip, branch.tip))
    )


def _slugs(ctx: Context, branches: Iterable[str]) -> list[str]:
    names = {b.removeprefix(BRANCHES) for b in branches}
    root = ctx.worktree_root
    if root.is_dir():
        names |= {p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink()}
    names |= {e.name for e in worktree_entries(ctx.ws)}
    return sorted(n for n in names if is_slug(n))


def _push(ctx: Context, slug: str, tip: str) -> bool:
    """Back the branch up on the hub (fast-forward only: a hub branch that moved on wins)."""
    ref = f"refs/heads/{worktree.branch_name(slug)}"
    try:
        return ctx.ws.push(ctx.config.remote, tip, ref)
    except GitFailure:
        return False


def sessions(ctx: Context, *, dry_run: bool, push: bool = False) -> list[Item]:
    """Worktrees and branches of sessions this clone does not hold any more; with `push`, a
    branch whose work is found nowhere else is pushed to the hub first, then freed."""
    ws = ctx.ws
    with ws.lock():
        main = ws.fetch(ctx.config.remote, ctx.protocol_branch)
    if main is None:
        return []
    snap = ws.objects.snapshot(main)
    hub = hub_branches(ctx)
    local = local_branches(ws, BRANCHES)
    items = []
    for slug in _slugs(ctx, local):
        states = catalog.locate(snap, slug)
        state = states[0] if len(states) == 1 else None
        tip = local.get(f"{BRANCHES}{slug}")
        tip_snap = ws.objects.snapshot(tip) if tip else None
        if state == "active" and (tip_snap is None or holder(snap, slug) == holder(tip_snap, slug)):
            continue  # still held from here
        path = worktree_path(ctx, slug)
        bytes_ = size(path) if path.exists() else 0
        why = f"session is {state or 'unknown on main'}"
        if path.exists() and not (path / ".git").is_file():
            # not a checkout we made: whatever it holds is someone's, leave it
            items.append(Item("session", slug, bytes_, False, f"{why}; {path} is not a worktree"))
            continue
        if path.exists() and ws.status_dirty(path, untracked=True):
            items.append(Item("session", slug, bytes_, False, f"{why}; uncommitted changes"))
            continue
        if tip is not None and tip_snap is not None:
            safe = on_hub(hub.get(slug), tip) or (
                code_landed(ws.objects, main, tip) and journal_landed(snap, tip_snap, slug, state)
            )
            pushed = not safe and push and not dry_run and _push(ctx, slug, tip)
            if pushed:
                why += f"; pushed {BRANCHES}{slug} to the hub first"
            if not safe and not pushed:
                items.append(
                    Item(
                        "session",
                        slug,
                        bytes_,
                        False,
                        f"{why}; branch {BRANCHES}{slug} has work found nowhere else"
                        f" (push it: git push {ctx.config.remote} {BRANCHES}{slug})",
                    )
                )
                continue
        if not dry_run:
            with ws.lock():
                ws.remove_worktree(slug, path)
                if tip is not None:
                    ws.delete_ref(f"refs/heads/{worktree.branch_name(slug)}")
        where = "it is on the hub now" if "pushed" in why else "its work is on main or the hub"
        items.append(Item("session", slug, bytes_, True, f"{why}; {where}"))
    return items


def debris(ctx: Context, *, dry_run: bool, clock: Callable[[], float] = time.time) -> list[Item]:
    """Folders moved aside by crashes, dead worktree entries, stale ref locks in the clone."""
    ws, items = ctx.ws, []
    root = ctx.worktree_root
    if root.is_dir():
        for path in sorted(root.glob("*.orphaned-*")):
            if path.is_dir() and not path.is_symlink():
                items.append(
                    Item("orphaned", path.name, size(path), True, "moved aside by a crash")
                )
                if not dry_run:  # a plain folder now (git forgot it): remove it, links and all
                    safefs.remove_tree(path)
    for entry in worktree_entries(ws):
        if entry.path is None or not entry.path.exists():
            items.append(
                Item("worktree-entry", entry.name, size(entry.admin), True, "its folder is gone")
            )
            if not dry_run:
                ws.prune_worktree(entry.name)
    now = clock()
    locks = [*ws.common_dir.joinpath("refs").rglob("*.lock"), ws.common_dir / "packed-refs.lock"]
    for lock in locks:
        try:
            stat = lock.lstat()
        except OSError:
            continue
        if now - stat.st_mtime > STALE_LOCK_SECONDS:
            name = str(lock.relative_to(ws.common_dir))
            items.append(Item("ref-lock", name, stat.st_size, True, "left by a killed git"))
            if not dry_run:
                lock.unlink(missing_ok=True)
    return items


def hub_objects(ctx: Context, *, dry_run: bool) -> list[Item]:
    """Pack a local hub's loose objects (every protocol commit leaves some there)."""
    hub = ctx.hub
    if not isinstance(hub, LocalHub):
        return []
    objects = hub.path / "objects"
    loose = sum(size(d) for d in objects.glob("[0-9a-f][0-9a-f]") if d.is_dir())
    if dry_run:
        return [Item("hub-objects", str(hub.path), loose, True, "loose objects to pack")]
    before = size(objects)
    gc_repository(hub.path)
    freed = max(0, before - size(objects))
    return [Item("hub-objects", str(hub.path), freed, True, "git gc of the hub")]


def collect(
    ctx: Context, *, dry_run: bool, push: bool = False, clock: Callable[[], float] = time.time
) -> Report:
    with ctx.ws.lock():
        found = debris(ctx, dry_run=dry_run, clock=clock)
    found += sessions(ctx, dry_run=dry_run, push=push)
    found += hub_objects(ctx, dry_run=dry_run)
    return Report(tuple(found), dry_run)
