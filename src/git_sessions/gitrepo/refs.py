"""Local refs of the user's repository: compare-and-swap updates, retries under contention."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pygit2

from git_sessions.errors import BadInput, GitFailure
from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.transport import clear_stale_lock

REF_RETRIES = 20  # a local ref (or its lock) is held for microseconds: retries are cheap


def pause(attempt: int) -> None:
    """A short random wait before retrying a contended ref (none before the first try)."""
    if attempt:
        time.sleep(random.uniform(0.002, 0.02))


def ref_contention(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "does not match" in text or "reference changed" in text


class Refs:
    """The ref part of `Workspace` (callers hold the workspace lock)."""

    repo: pygit2.Repository
    git_dir: Path
    common_dir: Path

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
        """Overwrite a ref only we write (remote-tracking refs mirroring the hub)."""
        clear_stale_lock(self.common_dir / f"{ref}.lock")
        with git_errors(f"updating {ref}"):
            self.repo.references.create(ref, commit, force=True)

    def update_ref(self, ref: str, new: str, old: str | None, message: str = "") -> bool:
        """Move `ref` from `old` to `new` (create it if `old` is None): a compare-and-swap.

        False if the ref was not at `old` (or was locked by a concurrent writer)."""
        try:
            if old is None:
                self.repo.references.create(ref, new, force=False)
                return True
            found = self.repo.references.get(ref)
            if found is None or str(found.target) != old:
                return False
            # set_target is create_matching against the value just loaded: it fails if the
            # ref moved in between.
            found.set_target(new, message or "git-sessions")
            return True
        except pygit2.AlreadyExistsError:
            return False
        except (pygit2.GitError, OSError) as exc:
            if ref_contention(exc):
                return False
            raise GitFailure(f"updating {ref}: {exc}") from exc

    def delete_ref(self, ref: str, expected: str | None = None) -> bool:
        """Delete `ref` (only if it still points at `expected`, when given); False if kept."""
        with git_errors(f"deleting {ref}"):
            found = self.repo.references.get(ref)
            if found is None or (expected is not None and str(found.target) != expected):
                return False
            found.delete()  # libgit2 checks the loaded value under the ref's lock
            return True

    def commits_between(self, base: str, tip: str) -> list[str]:
        """Commits reachable from `tip` but not from `base`, newest first."""
        with git_errors("walking history"):
            walker = self.repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL)
            walker.hide(base)
            return [str(c.id) for c in walker]
