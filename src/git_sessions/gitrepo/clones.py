"""Session clones (seed 004's Hub-Spoke mode): a shallow clone of one session branch.

Cloning runs the git CLI: libgit2 has no shallow clone. `GIT_TERMINAL_PROMPT=0` so a hub that
wants credentials fails instead of waiting for a password nobody will type.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from git_sessions.errors import GitFailure
from git_sessions.gitrepo.hubs import local_path
from git_sessions.gitrepo.network import is_local_url


def clone_url(url: str, base: Path) -> str:
    """A URL `git clone --depth` honours: local paths become file:// (plain paths ignore it)."""
    return local_path(url, base).as_uri() if is_local_url(url) else url


def clone_shallow(url: str, branch: str, path: Path, *, remote: str = "origin") -> None:
    """Clone only `branch` of `url`, two commits deep, into `path`, with HEAD on that branch.

    Two, not one: the branch starts at the claim commit, and the holder check compares that
    commit's parent with the base its `.claim` records (ownership.is_claim); a fetch of main
    into the clone stops at the claim commit it already has, so the parent must come now."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(
        [
            "git",
            "clone",
            "--quiet",
            "--depth=2",
            "--single-branch",
            f"--branch={branch}",
            f"--origin={remote}",
            "--",
            url,
            str(path),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["git clone failed"])[-1]
        raise GitFailure(f"cloning {branch} into {path}: {message}")


def unshallow(path: Path, remote: str) -> None:
    """Fetch the history a shallow session clone left out (libgit2 cannot walk past a shallow
    boundary: drift, and completion against a network hub, walk main's history)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(
        ["git", "-C", str(path), "fetch", "--quiet", "--unshallow", remote],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["git fetch --unshallow failed"])[-1]
        raise GitFailure(f"deepening the session clone {path}: {message}")
