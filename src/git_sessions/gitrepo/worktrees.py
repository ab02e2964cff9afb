"""Worktrees of the user's repository: listing, adding (sparse), removing, their status."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2

from git_sessions import faults, safefs
from git_sessions.errors import GitFailure
from git_sessions.gitrepo.commandline import porcelain_paths, run_git
from git_sessions.gitrepo.failures import git_errors


@dataclass(frozen=True)
class WorktreeInfo:
    name: str
    path: Path


class Worktrees:
    """The worktree part of `Workspace` (callers hold the workspace lock)."""

    repo: pygit2.Repository
    common_dir: Path
    root: Path

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

        git's own checkout is used when git is installed: it can check out in parallel
        (`checkout.workers=0`, one worker per core, used above 100 files) and sparsely, which
        libgit2 cannot, and applies the user's checkout settings, filters and post-checkout
        hook as every other git command in the worktree will. bench/checkout.py compares
        libgit2 with `git worktree add` on 1k and 12k files (100k-file trees took too long to
        build on the shared machine): on a loaded 2-CPU machine libgit2 took 0.6-2.2x the time
        of a one-worker `git worktree add`, and the parallel one 0.5-1.5x; with sparse
        checkout the work left shrinks with the archive (a claim beside 5,000 archived
        sessions took 0.18x the seed procedure). The folder name must be `name` (git names
        the admin entry after it), which is how callers lay worktrees out (`<root>/<slug>`).

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
        if self._links_itself(name):
            self._link_sparse(git, name, path, branch, sparse)
            return
        # The first sparse worktree of a repository: `sparse-checkout set` also turns on
        # per-worktree config (extensions.worktreeConfig) in the shared config, which we leave
        # to git; and a main worktree with its own config.worktree has settings git copies.
        run_git([*add, "--no-checkout", str(path), branch], cwd=self.root, action=action)
        run_git([git, "sparse-checkout", "set", "--no-cone", *sparse], cwd=path, action=action)
        run_git([git, "-c", "checkout.workers=0", "checkout", "--quiet"], cwd=path, action=action)

    def _links_itself(self, name: str) -> bool:
        """Whether a sparse worktree can be registered by writing git's files directly: the
        shared config already allows per-worktree config, the main worktree has none of its
        own for git to copy, and no admin entry of that name is in the way."""
        if (self.common_dir / "config.worktree").exists():
            return False
        if (self.common_dir / "worktrees" / name).exists():
            return False
        try:
            local = pygit2.Config(str(self.common_dir / "config"))
            return local.get_bool("extensions.worktreeConfig")
        except (KeyError, ValueError, pygit2.GitError, OSError):
            return False

    def _link_sparse(
        self, git: str, name: str, path: Path, branch: str, sparse: Sequence[str]
    ) -> None:
        """A sparse worktree in one git process instead of three (`worktree add --no-checkout`,
        `sparse-checkout set`, `checkout`; `worktree add` itself starts a `symbolic-ref`).

        We write what those commands would leave before the checkout, in the order and
        format of git's repository layout (gitrepository-layout(5), "worktrees/"): the admin
        entry (`locked` while it is being made, so a concurrent `git worktree prune` keeps
        it; `gitdir`, `commondir`, HEAD naming the branch), the per-worktree config turning
        non-cone sparse checkout on, the patterns, and the `.git` file; then one `git
        checkout` fills index and files, in parallel, through the user's filters and hook.
        Measured (bench/checkout.py): this saves ~4 ms of fixed cost per worktree (8.6 ms
        -> 4.3 ms on a 10-file tree); on bigger trees writing the files is nearly all of it.
        A crash before the index exists leaves an entry `ensure_worktree` clears and redoes.
        """
        action = f"creating worktree {path}"
        ref = f"refs/heads/{branch}"
        for lines in (p.splitlines() for p in sparse):
            if len(lines) != 1:
                raise GitFailure(f"{action}: a sparse-checkout pattern spans lines: {lines!r}")
        self._refuse_checked_out(ref, action)
        admin = self.common_dir / "worktrees" / name
        locked = admin / "locked"
        try:
            with git_errors(action):
                admin.parent.mkdir(exist_ok=True)
                admin.mkdir()
                locked.write_text("initializing\n")
                try:
                    path.mkdir()
                except FileExistsError:
                    if not path.is_dir() or path.is_symlink() or any(path.iterdir()):
                        raise
                link = Path(os.path.realpath(path)) / ".git"
                (admin / "gitdir").write_text(f"{link}\n")
                (admin / "commondir").write_text("../..\n")
                (admin / "HEAD").write_text(f"ref: {ref}\n")
                (admin / "config.worktree").write_text(
                    "[core]\n\tsparseCheckout = true\n\tsparseCheckoutCone = false\n"
                )
                (admin / "info").mkdir()
                patterns = "".join(f"{p}\n" for p in sparse)
                (admin / "info" / "sparse-checkout").write_text(patterns)
                link.write_text(f"gitdir: {admin}\n")
        except GitFailure:
            shutil.rmtree(admin, ignore_errors=True)  # made just now by us, under the lock
            raise
        faults.point("worktree:before-checkout")
        try:
            run_git(
                [git, "-c", "checkout.workers=0", "checkout", "--quiet"], cwd=path, action=action
            )
        finally:
            with contextlib.suppress(OSError):
                locked.unlink()

    def _refuse_checked_out(self, ref: str, action: str) -> None:
        """GitFailure if `ref` is the HEAD of the main worktree or of a linked one, as `git
        worktree add` refuses (two worktrees on one branch overwrite each other's work)."""
        heads = [self.common_dir / "HEAD"]
        with contextlib.suppress(OSError):
            heads += [e / "HEAD" for e in (self.common_dir / "worktrees").iterdir()]
        for head in heads:
            try:
                text = head.read_text(errors="replace")
            except OSError:
                continue
            if text.strip() == f"ref: {ref}":
                where = head.parent / "gitdir"
                raise GitFailure(
                    f"{action}: '{ref.removeprefix('refs/heads/')}' is already checked out"
                    + (f" at {where.read_text().strip()}" if where.is_file() else "")
                )

    def prune_worktree(self, name: str) -> None:
        """Drop the administrative entry of worktree `name` (its folder is left alone)."""
        with git_errors(f"pruning worktree {name}"):
            admin = self.common_dir / "worktrees" / name
            if admin.exists():
                shutil.rmtree(admin)

    def registered_worktree(self, name: str) -> Path | None:
        """Where git's worktree registry says worktree `name` is (None if it has no entry)."""
        with contextlib.suppress(pygit2.GitError, KeyError, OSError):
            if name in self.repo.list_worktrees():
                return Path(self.repo.lookup_worktree(name).path)
        return None

    def remove_worktree(self, name: str, path: Path) -> bool:
        """Delete worktree `name` at `path` and its administrative entry; True if a folder went.

        Only a worktree git registered at exactly `path` is deleted: a plain folder, a symlink
        or another checkout that merely sits there is left alone (its stale entry is pruned).
        """
        known = self.registered_worktree(name)
        removed = False
        with git_errors(f"removing worktree {path}"):
            if (
                known is not None
                and os.path.abspath(known) == os.path.abspath(path)
                and not path.is_symlink()
                and path.is_dir()
            ):
                safefs.remove_tree(path)
                removed = True
        self.prune_worktree(name)
        return removed

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
            return porcelain_paths(out)
        skip = {pygit2.enums.FileStatus.IGNORED}
        if not untracked:
            skip.add(pygit2.enums.FileStatus.WT_NEW)
        with git_errors(f"reading status of {path}"):
            repo = pygit2.Repository(str(path))
            return sorted(p for p, flags in repo.status().items() if flags not in skip)
