"""The local side of a claim: branch, worktree, frozen SESSION.md, under the workspace lock."""

from __future__ import annotations

import os
import time
from pathlib import Path

from git_sessions.errors import GitFailure
from git_sessions.gitrepo import Workspace
from git_sessions.protocol import SESSIONS


def branch_name(slug: str) -> str:
    return f"session/{slug}"


def session_folder(worktree: Path, state: str, slug: str) -> Path:
    return worktree / SESSIONS / state / slug


def _usable(ws: Workspace, slug: str, path: Path) -> bool:
    """A worktree that finished being created: registered, with its .git link and index."""
    admin = ws.common_dir / "worktrees" / slug
    return (path / ".git").is_file() and admin.is_dir() and (admin / "index").is_file()


def ensure_worktree(ws: Workspace, slug: str, start: str, path: Path) -> None:
    """Make branch session/<slug> (at `start` if new) checked out at `path`; idempotent.

    Debris of an interrupted creation (kill -9 mid-checkout) is cleared first; a folder that
    is in the way but is not a worktree is moved aside, never deleted.
    """
    with ws.lock():
        if not ws.has_commit(start):
            raise GitFailure(f"commit {start[:10]} is missing from the local repository")
        branch = f"refs/heads/{branch_name(slug)}"
        if ws.ref_target(branch) is None:
            ws.set_ref(branch, start)
        if _usable(ws, slug, path):
            return
        if path.exists() and any(path.iterdir()):
            path.rename(path.with_name(f"{path.name}.orphaned-{int(time.time())}"))
        elif path.exists():
            path.rmdir()
        ws.prune_worktree(slug)
        path.parent.mkdir(parents=True, exist_ok=True)
        ws.add_worktree(slug, path, branch_name(slug))


def freeze_plan(folder: Path) -> None:
    """Make SESSION.md read-only, so the frozen plan is not edited by accident."""
    plan = folder / "SESSION.md"
    if plan.exists():
        os.chmod(plan, 0o444)
