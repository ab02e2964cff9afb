"""Clone mode (seed 004, "Hub-Spoke", "Complete Isolation"): a session works in its own shallow
clone `.sessions/<slug>/` on branch `session/<slug>`, whose remote is the hub.

The clone has its own index, stash and object store, so nothing is shared with the main
checkout. The session branch lives in the clone; the hub holds a copy (pushed at the claim
and by every sign of life). Commands find the clone from the main checkout
(`.sessions/<slug>`) or from inside it, and act on the clone's repository for everything that
touches the branch (`session_ws`); what the main checkout needs (complete, abandon run from
there) it fetches from the hub (`bring_home`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from git_sessions import safefs, worktree
from git_sessions.errors import Conflict
from git_sessions.gitrepo import Workspace, clone_shallow, clone_url
from git_sessions.protocol import check_slug

if TYPE_CHECKING:
    from git_sessions.context import Context

CLONE_ROOT = ".sessions"


def find_clone(ctx: Context, slug: str) -> Path | None:
    """The session's clone: the repository we are in, or `.sessions/<slug>` beside us."""
    root = ctx.ws.root
    if root.name == slug and root.parent.name == CLONE_ROOT and (root / ".git").is_dir():
        return root
    path = root / CLONE_ROOT / slug
    if not (path / ".git").is_dir():
        return None
    return clone_path(ctx, slug)


def clone_path(ctx: Context, slug: str) -> Path:
    """`.sessions/<slug>`; refused if a symlink is on the way (the checkout is hub content)."""
    safefs.no_symlink_on_the_way(ctx.ws.root, f"{CLONE_ROOT}/{check_slug(slug)}")
    return ctx.ws.root / CLONE_ROOT / slug


def session_ws(ctx: Context, slug: str) -> Workspace:
    """The repository that holds the session branch: the clone's, else this one."""
    clone = find_clone(ctx, slug)
    if clone is None or clone == ctx.ws.root:
        return ctx.ws
    return Workspace(clone)


def make_clone(ctx: Context, slug: str, tip: str) -> Path:
    """Put the session branch (at `tip`) on the hub and clone it shallowly; idempotent."""
    from git_sessions import ownership

    path = clone_path(ctx, slug)
    if (path / ".git").is_dir():
        return path
    branch = worktree.branch_name(slug)
    # fast-forward only, with the hub's own compare-and-swap (never libgit2's local push)
    if not ctx.hub.push_branch(ctx.config.remote, f"refs/heads/{branch}", tip):
        raise Conflict(
            f"the hub's {branch} has commits this clone does not have",
            hint="another holder continued the session; fetch and look before claiming",
        )
    url = ctx.ws.remote_url(ctx.config.remote) or ""
    path.parent.mkdir(parents=True, exist_ok=True)
    clone_shallow(
        clone_url(url, ctx.ws.root),
        branch,
        path,
        remote=ctx.config.remote,
        network=ctx.ws.network(),
    )
    # the clone acts for the claim this repository made: it carries the same ownership record
    record = ownership.load(ctx.ws.common_dir, slug)
    if record is not None:
        ownership.save(path / ".git", slug, record)
    return path


def bring_home(ctx: Context, slug: str) -> None:
    """Make the clone's branch this repository's `session/<slug>` (via the hub), so complete
    and abandon run from the main checkout see the clone's work."""
    clone = find_clone(ctx, slug)
    if clone is None or clone == ctx.ws.root:
        return
    from git_sessions.leases import push_branch

    push_branch(ctx, slug)  # from the clone (see session_ws)
    branch = worktree.branch_name(slug)
    with ctx.ws.lock():
        ctx.ws.fetch_refspecs(ctx.config.remote, [f"+refs/heads/{branch}:refs/heads/{branch}"])


def remove_clone(path: Path) -> bool:
    """Delete a session clone: a real folder (no symlink) holding its own `.git` folder, at
    `.sessions/<slug>`; anything else there is left alone. True if it went."""
    if path.parent.name != CLONE_ROOT or path.is_symlink() or not (path / ".git").is_dir():
        return False
    safefs.remove_tree(path)
    return True
