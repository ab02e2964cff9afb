"""Session clones (seed 004's Hub-Spoke mode): a shallow clone of one session branch.

Cloning runs the git CLI: libgit2 has no shallow clone. It runs like every call to a hub on a
server (`network`): never a prompt, the user's ssh and credential settings, a time limit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from git_sessions.gitrepo.hubs import local_path
from git_sessions.gitrepo.network import Network, failure, is_local_url


def clone_url(url: str, base: Path) -> str:
    """A URL `git clone --depth` honours: local paths become file:// (plain paths ignore it)."""
    return local_path(url, base).as_uri() if is_local_url(url) else url


def clone_shallow(url: str, branch: str, path: Path, *, remote: str, network: Network) -> None:
    """Clone only `branch` of `url`, two commits deep, into `path`, with HEAD on that branch.

    Two, not one: the branch starts at the claim commit, and the holder check compares that
    commit's parent with the base its `.claim` records (ownership.is_claim); a fetch of main
    into the clone stops at the claim commit it already has, so the parent must come now."""
    args = ["clone", "--quiet", "--depth=2", "--single-branch", f"--branch={branch}"]
    args += [f"--origin={remote}", "--", url, str(path)]
    run = dataclasses.replace(network, git_dir=None).run(*args, url=url)
    if run.code != 0 or run.timed_out:
        raise failure(f"cloning {branch} into {path}", run, network.timeout)


def unshallow(path: Path, remote: str, *, network: Network) -> None:
    """Fetch the history a shallow session clone left out (libgit2 cannot walk past a shallow
    boundary: drift, and completion against a network hub, walk main's history)."""
    run = dataclasses.replace(network, git_dir=path / ".git").run(
        "fetch", "--quiet", "--unshallow", remote
    )
    if run.code != 0 or run.timed_out:
        raise failure(f"deepening the session clone {path}", run, network.timeout)
