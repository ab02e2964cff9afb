"""`run_git`: the git command line for the workspace's worktrees, where libgit2 falls short
(parallel and sparse checkout, `add -A` and status that respect skip-worktree)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from git_sessions.errors import GitFailure


def porcelain_paths(out: str) -> list[str]:
    """The paths of `git status --porcelain=v1 -z` (a rename's source is skipped)."""
    fields = out.split("\0")
    paths = []
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":
            i += 1
    return sorted(paths)


# Exported by a hook that runs us (GIT_DIR, GIT_INDEX_FILE, a pre-receive's quarantine...): they
# would point git at the hook's repository instead of the one we name.
_REPO_VARIABLES = {
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
}


def unbound_environment() -> dict[str, str]:
    """This process's environment without the variables that bind git to one repository."""
    return {k: v for k, v in os.environ.items() if k not in _REPO_VARIABLES}


def run_git(args: list[str], *, cwd: Path, action: str) -> str:
    """Run the git CLI; GitFailure with its message if it fails."""
    try:
        done = subprocess.run(
            args, cwd=cwd, env=unbound_environment(), capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise GitFailure(f"{action}: {exc}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise GitFailure(f"{action}: {lines[-1] if lines else f'git exited {done.returncode}'}")
    return done.stdout
