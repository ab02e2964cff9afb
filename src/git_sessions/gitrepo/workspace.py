"""The user's repository: config, identity, fetch and push, local refs and worktrees."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pygit2
from filelock import FileLock

from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput, GitFailure
from git_sessions.gitrepo.objects import Objects, Snapshot, git_errors
from git_sessions.gitrepo.transport import LOST_RACE, Callbacks, clear_stale_lock

# --------------------------------------------------------------------------- the user's repo


@dataclass(frozen=True)
class WorktreeInfo:
    name: str
    path: Path


class Workspace:
    """The user's repository (any of its worktrees), opened once per command."""

    def __init__(self, start: Path) -> None:
        found = pygit2.discover_repository(str(start))
        if found is None:
            raise BadInput(
                f"not a git repository: {start}", hint="run this inside a git repository"
            )
        with git_errors("opening the repository"):
            self.repo = pygit2.Repository(found)
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
        self.cwd_workdir = Path(pygit2.Repository(found).workdir or self.root).resolve()
        self._lock: FileLock | None = None
        self.objects = Objects(self.repo)

    def lock(self) -> FileLock:
        """The machine-local lock serialising mutations of the shared .git (refs, worktrees)."""
        if self._lock is None:  # one object per workspace, so nested use is reentrant
            self._lock = FileLock(str(self.common_dir / "git-sessions.lock"))
        return self._lock

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

    # transport
    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch `branch` into refs/remotes/<remote>/<branch>; its commit, or None if absent."""
        tracking = f"refs/remotes/{remote}/{branch}"
        clear_stale_lock(self.common_dir / f"{tracking}.lock")
        with git_errors(f"fetching {branch} from {remote}"):
            self.repo.remotes[remote].fetch(
                [f"+refs/heads/{branch}:{tracking}"], callbacks=Callbacks()
            )
            ref = self.repo.references.get(tracking)
            return str(ref.target) if ref is not None else None

    def fetch_refspecs(self, remote: str, specs: list[str], *, prune: bool = False) -> None:
        """Fetch with explicit refspecs (callers hold the workspace lock)."""
        with git_errors(f"fetching from {remote}"):
            self.repo.remotes[remote].fetch(
                specs,
                callbacks=Callbacks(),
                prune=pygit2.enums.FetchPrune.PRUNE
                if prune
                else pygit2.enums.FetchPrune.UNSPECIFIED,
            )

    def list_heads(self, remote: str) -> dict[str, str]:
        """The hub's refs/heads/* -> commit, from one fresh connection (a cheap ref check)."""
        with git_errors(f"listing refs on {remote}"):
            fresh = self.repo.remotes[remote]  # a fresh object: reused ones return stale heads
            heads = fresh.list_heads(callbacks=Callbacks())
            return {str(h.name): str(h.oid) for h in heads if str(h.name).startswith("refs/heads/")}

    def push(self, remote: str, commit: str, ref: str, *, force: bool = False) -> bool:
        """Push `commit` to `ref`; True only if the hub reported that ref as updated."""
        callbacks = Callbacks()
        spec = f"{'+' if force else ''}{commit}:{ref}"
        try:
            self.repo.remotes[remote].push([spec], callbacks=callbacks)
        except pygit2.GitError as exc:
            if LOST_RACE.search(str(exc)):
                return False
            raise GitFailure(f"pushing to {remote}: {exc}") from exc
        except OSError as exc:
            raise GitFailure(f"pushing to {remote}: {exc}") from exc
        return ref in callbacks.statuses and callbacks.statuses[ref] is None

    def delete_remote_branch(self, remote: str, ref: str) -> bool:
        callbacks = Callbacks()
        with git_errors(f"deleting {ref} on {remote}"):
            self.repo.remotes[remote].push([f":{ref}"], callbacks=callbacks)
        return callbacks.statuses.get(ref, "missing") is None

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
        worktree stays clean and other staged or unstaged work is left as it was."""
        ref = f"refs/heads/{branch}"
        tip = self.ref_target(ref)
        if tip is None:
            raise BadInput(f"there is no branch {branch}", hint="claim the session first")
        edits = tuple(Write(path, data) for path, data in files.items())
        new = self.objects.write(tip, Change(edits, message, author))
        with git_errors(f"updating {branch}"):
            self.repo.lookup_reference(ref).set_target(new, message.split("\n")[0])
            if worktree is not None:
                wt = pygit2.Repository(str(worktree))
                for path, data in files.items():
                    target = worktree / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    temp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
                    temp.write_bytes(data)
                    os.replace(temp, target)
                    wt.index.read()
                    wt.index.add(path)
                    wt.index.write()
        return new

    def commit_all(self, branch: str, message: str, author: Identity, worktree: Path) -> str:
        """Stage everything in `worktree` like `git add -A` and commit it on `branch`, which it
        has checked out (callers hold the workspace lock)."""
        ref = f"refs/heads/{branch}"
        tip = self.ref_target(ref)
        with git_errors(f"committing in {worktree}"):
            wt = pygit2.Repository(str(worktree))
            if tip is None or wt.references["HEAD"].target != ref:
                raise BadInput(f"{worktree} does not have branch {branch} checked out")
            wt.index.read()
            for path, flags in wt.status().items():
                if flags & pygit2.enums.FileStatus.WT_DELETED:
                    wt.index.remove(path)
            wt.index.add_all()
            wt.index.write()
            tree = wt.index.write_tree()
            sig = pygit2.Signature(author.name, author.email)
            new = self.repo.create_commit(None, sig, sig, message, tree, [pygit2.Oid(hex=tip)])
            self.repo.lookup_reference(ref).set_target(new, message.split("\n")[0])
        return str(new)

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.repo, commit)

    # local refs, branches and worktrees (callers hold the workspace lock)
    def resolve(self, rev: str) -> str:
        """The commit a revision (HEAD, a branch, an id) names here."""
        try:
            # the worktree's own repository: HEAD is this worktree's, not the main checkout's
            here = pygit2.Repository(str(self.git_dir))
            return str(here.revparse_single(rev).peel(pygit2.Commit).id)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise BadInput(f"no commit {rev!r} in this repository") from None

    @property
    def is_shallow(self) -> bool:
        """A shallow clone (a session clone): history stops at its boundary."""
        return bool(self.repo.is_shallow)

    def has_commit(self, commit: str) -> bool:
        return pygit2.Oid(hex=commit) in self.repo

    def ref_target(self, ref: str) -> str | None:
        found = self.repo.references.get(ref)
        return str(found.target) if found is not None else None

    def set_ref(self, ref: str, commit: str) -> None:
        clear_stale_lock(self.common_dir / f"{ref}.lock")
        with git_errors(f"updating {ref}"):
            self.repo.references.create(ref, commit, force=True)

    def delete_ref(self, ref: str) -> None:
        with git_errors(f"deleting {ref}"):
            found = self.repo.references.get(ref)
            if found is not None:
                found.delete()

    def commits_between(self, base: str, tip: str) -> list[str]:
        """Commits reachable from `tip` but not from `base`, newest first."""
        with git_errors("walking history"):
            walker = self.repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
            walker.hide(base)
            return [str(c.id) for c in walker]

    def worktrees(self) -> list[WorktreeInfo]:
        with git_errors("listing worktrees"):
            return [
                WorktreeInfo(name, Path(self.repo.lookup_worktree(name).path))
                for name in self.repo.list_worktrees()
            ]

    def add_worktree(self, name: str, path: Path, branch: str) -> None:
        """Check out local branch `branch` into a new worktree at `path` (parent must exist)."""
        with git_errors(f"creating worktree {path}"):
            ref = self.repo.lookup_reference(f"refs/heads/{branch}")
            self.repo.add_worktree(name, str(path), ref)

    def prune_worktree(self, name: str) -> None:
        """Drop the administrative entry of worktree `name` (its folder is left alone)."""
        with git_errors(f"pruning worktree {name}"):
            admin = self.common_dir / "worktrees" / name
            if admin.exists():
                shutil.rmtree(admin)

    def remove_worktree(self, name: str, path: Path) -> None:
        """Delete a worktree's folder and its administrative entry."""
        with git_errors(f"removing worktree {path}"):
            if path.exists():
                _make_writable(path)
                shutil.rmtree(path)
        self.prune_worktree(name)

    def status_dirty(self, path: Path, *, untracked: bool = False) -> list[str]:
        """Files with uncommitted changes in the worktree at `path` (new files if `untracked`)."""
        skip = {pygit2.enums.FileStatus.IGNORED}
        if not untracked:
            skip.add(pygit2.enums.FileStatus.WT_NEW)
        with git_errors(f"reading status of {path}"):
            repo = pygit2.Repository(str(path))
            return sorted(p for p, flags in repo.status().items() if flags not in skip)


def _make_writable(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), 0o644)
