"""The user's repository: config, identity, its lock, commits on branches.

Its local refs live in `refs`, its worktrees in `worktrees`, fetch and push in `remotes`."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

from git_sessions import faults, safefs
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput, Conflict
from git_sessions.gitrepo.commandline import run_git
from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.objects import Objects
from git_sessions.gitrepo.refs import REF_RETRIES, Refs, pause
from git_sessions.gitrepo.remotes import Remotes
from git_sessions.gitrepo.snapshots import Snapshot
from git_sessions.gitrepo.worktrees import Worktrees

if TYPE_CHECKING:
    from filelock import FileLock

DEFAULT_TIMEOUT = 30.0


class Workspace(Refs, Worktrees, Remotes):
    """The user's repository (any of its worktrees), opened once per command."""

    def __init__(self, start: Path) -> None:
        found = pygit2.discover_repository(str(start))
        if found is None:
            raise BadInput(
                f"not a git repository: {start}", hint="run this inside a git repository"
            )
        with git_errors("opening the repository"):
            self.repo = opened = pygit2.Repository(found)
        if self.repo.is_bare:
            raise BadInput("this is a bare repository", hint="run git-sessions in a clone")
        self.git_dir = Path(self.repo.path).resolve()
        common = self.git_dir / "commondir"
        if common.exists():  # a linked worktree: the shared .git lives elsewhere
            self.common_dir = (self.git_dir / common.read_text().strip()).resolve()
            self.repo = pygit2.Repository(str(self.common_dir))
        else:
            self.common_dir = self.git_dir
        self.root = self.common_dir.parent
        self.cwd_workdir = Path(opened.workdir or self.root).resolve()
        self._lock: FileLock | None = None
        self.objects = Objects(self.repo)
        self.timeout = DEFAULT_TIMEOUT
        set_network_timeout(self.timeout)

    def set_timeout(self, seconds: float) -> None:
        """Bound every network operation and every wait for the clone's lock by `seconds`."""
        self.timeout = seconds
        set_network_timeout(seconds)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The machine-local lock serialising mutations of the shared .git (refs, worktrees).

        Only local work happens under it (never a fetch or push), so a wait longer than the
        timeout means a command is stuck or was stopped while holding it.
        """
        from filelock import FileLock, Timeout  # ~10 ms to import: only commands that lock

        if self._lock is None:  # one object per workspace, so nested use is reentrant
            self._lock = FileLock(str(self.common_dir / "git-sessions.lock"))
        try:
            self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise Conflict(
                f"another git-sessions command has held {self._lock.lock_file}"
                f" for over {self.timeout:.0f}s",
                hint="wait for it to finish; if none is running, run the command again",
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    # config and identity
    def config(self, key: str) -> str | None:
        try:
            return str(self.repo.config[key])
        except (KeyError, pygit2.GitError):
            return None

    def identity(self) -> Identity | None:
        name, email = self.config("user.name"), self.config("user.email")
        return Identity(name, email) if name and email else None

    def set_config(self, key: str, value: str) -> None:
        with git_errors(f"setting {key}"):
            self.repo.config[key] = value

    def remote_url(self, name: str) -> str | None:
        try:
            return str(self.repo.remotes[name].url)
        except (KeyError, ValueError):
            return None

    def add_remote(self, name: str, url: str) -> None:
        with git_errors(f"adding remote {name}"):
            self.repo.remotes.create(name, url)

    def head_branch(self) -> str | None:
        with contextlib.suppress(pygit2.GitError):
            target = self.repo.references["HEAD"].target
            if isinstance(target, str) and target.startswith("refs/heads/"):
                return target.removeprefix("refs/heads/")
        return None

    def head_commit(self) -> str | None:
        return None if self.repo.head_is_unborn else str(self.repo.head.target)

    # transport (fetch, list_heads, push...): `Remotes`, never under the workspace lock

    def commit_on_branch(
        self,
        branch: str,
        files: Mapping[str, bytes],
        message: str,
        author: Identity,
        worktree: Path | None,
    ) -> str:
        """Commit `files` on top of `branch` in memory and move the branch (callers hold the
        workspace lock). In `worktree`, the files and their index entries follow, so the
        worktree stays clean and other staged or unstaged work is left as it was.

        The branch moves only from the tip the commit was built on: a `git commit` that lands
        in between (git does not take our lock) makes us rebuild on top of it, never drop it.
        """
        ref = f"refs/heads/{branch}"
        edits = tuple(Write(path, data) for path, data in files.items())
        for attempt in range(REF_RETRIES):
            pause(attempt)
            tip = self.ref_target(ref)
            if tip is None:
                raise BadInput(f"there is no branch {branch}", hint="claim the session first")
            new = self.objects.write(tip, Change(edits, message, author))
            faults.point("branch:before-update")
            if self.update_ref(ref, new, tip, message.split("\n")[0]):
                break
        else:
            raise Conflict(f"{branch} kept moving while committing", hint="try again")
        with git_errors(f"updating {branch}"):
            if worktree is not None:
                wt = pygit2.Repository(str(worktree))
                for path, data in files.items():
                    safefs.write_bytes(worktree, path, data)  # never through a committed symlink
                    wt.index.read()
                    wt.index.add(path)
                    wt.index.write()
        return new

    def commit_all(self, branch: str, message: str, author: Identity, worktree: Path) -> str:
        """Stage everything in `worktree` like `git add -A` and commit it on `branch`, which it
        has checked out (callers hold the workspace lock)."""
        ref = f"refs/heads/{branch}"
        for attempt in range(REF_RETRIES):
            pause(attempt)
            tip = self.ref_target(ref)
            with git_errors(f"committing in {worktree}"):
                wt = pygit2.Repository(str(worktree))
                if tip is None or wt.references["HEAD"].target != ref:
                    raise BadInput(f"{worktree} does not have branch {branch} checked out")
                git = shutil.which("git")
                if git is not None:  # `git add -A` leaves a sparse checkout's skipped files alone
                    run_git([git, "add", "-A"], cwd=worktree, action=f"staging in {worktree}")
                    wt.index.read()
                else:
                    wt.index.read()
                    for path, flags in wt.status().items():
                        if flags & pygit2.enums.FileStatus.WT_DELETED:
                            wt.index.remove(path)
                    wt.index.add_all()
                    wt.index.write()
                tree = wt.index.write_tree()
                sig = pygit2.Signature(author.name, author.email)
                parents = [pygit2.Oid(hex=tip)]
                new = str(self.repo.create_commit(None, sig, sig, message, tree, parents))
            # only from the tip we built on: a concurrent `git commit` is kept, not dropped
            if self.update_ref(ref, new, tip, message.split("\n")[0]):
                return new
        raise Conflict(f"{branch} kept moving while committing", hint="try again")

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.repo, commit)


def set_network_timeout(seconds: float) -> None:
    """libgit2's connect and per-read timeouts, for every transport (git://, http(s), ssh)."""
    millis = max(1, int(seconds * 1000))
    pygit2.settings.server_connect_timeout = millis
    pygit2.settings.server_timeout = millis
