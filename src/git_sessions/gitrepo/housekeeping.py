"""Cleaning a clone and a local hub: branch listings, worktree entries, `git gc` of the hub."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from git_sessions.errors import GitFailure
from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.workspace import Workspace


def local_branches(ws: Workspace, prefix: str) -> dict[str, str]:
    """Local branch name (under `prefix`) -> commit."""
    with git_errors("listing branches"):
        found = {}
        for ref in ws.repo.references:
            if ref.startswith(f"refs/heads/{prefix}"):
                target = ws.repo.references[ref].target
                if not isinstance(target, str):
                    found[ref.removeprefix("refs/heads/")] = str(target)
        return found


@dataclass(frozen=True)
class WorktreeEntry:
    name: str
    admin: Path  # .git/worktrees/<name>
    path: Path | None  # the checkout it points to, if the entry says


def worktree_entries(ws: Workspace) -> list[WorktreeEntry]:
    """Every administrative worktree entry, read from its `gitdir` file (which may be gone)."""
    root = ws.common_dir / "worktrees"
    if not root.is_dir():
        return []
    found = []
    for admin in sorted(root.iterdir()):
        gitdir = admin / "gitdir"
        path = None
        try:
            text = gitdir.read_text().strip() if not gitdir.is_symlink() else ""
            path = Path(text).parent if text else None
        except OSError:
            path = None
        found.append(WorktreeEntry(admin.name, admin, path))
    return found


def gc_repository(path: Path) -> None:
    """`git gc --quiet` in the repository at `path` (libgit2 has no gc): packs loose objects;
    unreachable ones go only after git's own grace period, so concurrent writers are safe."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            ["git", "-C", str(path), "gc", "--quiet"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitFailure(f"git gc in {path}: {exc}") from exc
    if done.returncode != 0:
        raise GitFailure(f"git gc in {path}: {done.stderr.strip()[-300:]}")
