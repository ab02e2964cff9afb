"""The user's repository: config, identity, fetch and push, local refs and worktrees."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
            new = self.repo.create_commit(None, sig, sig, message, tree, [pygit2.Oid(hex=tip)])
            self.repo.lookup_reference(ref).set_target(new, message.split("\n")[0])
        return str(new)

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.repo, commit)

    # local refs, branches and worktrees (callers hold the workspace lock)
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

    def add_worktree(
        self, name: str, path: Path, branch: str, *, sparse: Sequence[str] = ()
    ) -> None:
        """Check out local branch `branch` into a new worktree at `path` (parent must exist).

        git's own `worktree add` does the checkout when git is installed: it can check out
        in parallel (`checkout.workers=0`, one worker per core, used above 100 files) and
        sparsely, which libgit2 cannot, and applies the user's checkout settings and filters
        as every other git command in the worktree will. bench/checkout.py compares the two
        on 1k and 12k files (100k-file trees took too long to build on the shared machine):
        on a loaded 2-CPU machine libgit2 took 0.6-2.2x the time of a one-worker
        `git worktree add`, and the parallel one 0.5-1.5x; with sparse checkout the work
        left shrinks with the archive (a claim beside 5,000 archived sessions took 0.18x
        the seed procedure). The folder name must be `name` (git names the admin entry
        after it), which is how callers lay worktrees out (`<root>/<slug>`).

        `sparse`: non-cone sparse-checkout patterns, so the worktree holds only those paths
        (git-sessions leaves other sessions' folders out). git keeps them in the index as
        skip-worktree entries; libgit2's status would call them deleted, which is why
        status_dirty and commit_all ask git when it is there. Needs git; without it the
        worktree is full."""
        git = shutil.which("git")
        if git is None or path.name != name:
            with git_errors(f"creating worktree {path}"):
                ref = self.repo.lookup_reference(f"refs/heads/{branch}")
                self.repo.add_worktree(name, str(path), ref)
            return
        action = f"creating worktree {path}"
        add = [git, "-c", "checkout.workers=0", "worktree", "add", "--quiet"]
        if not sparse:
            run_git([*add, str(path), branch], cwd=self.root, action=action)
            return
        run_git([*add, "--no-checkout", str(path), branch], cwd=self.root, action=action)
        run_git([git, "sparse-checkout", "set", "--no-cone", *sparse], cwd=path, action=action)
        run_git([git, "-c", "checkout.workers=0", "checkout", "--quiet"], cwd=path, action=action)

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
                # Removing a file needs write access to its folder, not to the file, so the
                # read-only SESSION.md goes with the rest; only a folder someone made
                # read-only needs a chmod, and only then (not one per file of the tree).
                shutil.rmtree(path, onerror=_writable_and_retry)
        self.prune_worktree(name)

    def status_dirty(self, path: Path, *, untracked: bool = False) -> list[str]:
        """Files with uncommitted changes in the worktree at `path` (new files if `untracked`)."""
        git = shutil.which("git")
        if git is not None:  # git honours sparse checkout (skip-worktree); libgit2 does not
            out = run_git(
                [git, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--ignored=no",
                 f"--untracked-files={'all' if untracked else 'no'}"],
                cwd=path,
                action=f"reading status of {path}",
            )  # fmt: skip
            return _porcelain_paths(out)
        skip = {pygit2.enums.FileStatus.IGNORED}
        if not untracked:
            skip.add(pygit2.enums.FileStatus.WT_NEW)
        with git_errors(f"reading status of {path}"):
            repo = pygit2.Repository(str(path))
            return sorted(p for p, flags in repo.status().items() if flags not in skip)


def _porcelain_paths(out: str) -> list[str]:
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


def _writable_and_retry(function: Any, path: str, _info: Any) -> None:
    os.chmod(os.path.dirname(path), 0o755)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o755)
    function(path)


_REPO_VARIABLES = {
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
}


def run_git(args: list[str], *, cwd: Path, action: str) -> str:
    """Run the git CLI; GitFailure with its message if it fails."""
    # A hook that runs us may export GIT_DIR, GIT_INDEX_FILE...: they would point git at the
    # hook's repository and index instead of `cwd`.
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARIABLES}
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GitFailure(f"{action}: {exc}") from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise GitFailure(f"{action}: {lines[-1] if lines else f'git exited {done.returncode}'}")
    return done.stdout
