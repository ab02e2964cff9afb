"""The user's repository: config, identity, fetch and push, local refs and worktrees."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from filelock import FileLock, Timeout

from git_sessions import faults, safefs
from git_sessions.edits import Change, Identity, Write
from git_sessions.errors import BadInput, Conflict, GitFailure
from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.objects import Objects
from git_sessions.gitrepo.snapshots import Snapshot
from git_sessions.gitrepo.transport import LOST_RACE, Callbacks, clear_stale_lock

DEFAULT_TIMEOUT = 30.0
REF_RETRIES = 20  # a local ref (or its lock) is held for microseconds: retries are cheap

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

    # transport: never under the workspace lock, so a slow hub stalls only its own command
    def fetch(self, remote: str, branch: str) -> str | None:
        """Fetch `branch` into refs/remotes/<remote>/<branch>; its commit, or None if absent."""
        tracking = f"refs/remotes/{remote}/{branch}"
        clear_stale_lock(self.common_dir / f"{tracking}.lock")
        self.fetch_refspecs(remote, [f"+refs/heads/{branch}:{tracking}"])
        return self.ref_target(tracking)

    def fetch_refspecs(self, remote: str, specs: list[str], *, prune: bool = False) -> None:
        """Fetch with explicit refspecs into remote-tracking refs.

        Concurrent fetches in one clone can collide on a tracking ref's lock file; the objects
        are in by then, so the loser simply fetches again (cheap: nothing left to download).
        """
        mode = pygit2.enums.FetchPrune.PRUNE if prune else pygit2.enums.FetchPrune.UNSPECIFIED
        for attempt in range(REF_RETRIES):
            began = time.monotonic()
            try:
                self.repo.remotes[remote].fetch(specs, callbacks=Callbacks(), prune=mode)
                return
            except (pygit2.GitError, OSError) as exc:
                if not _ref_contention(exc) or attempt == REF_RETRIES - 1:
                    raise self._network_error(f"fetching from {remote}", exc, began) from exc
                _pause(attempt + 1)

    def _network_error(self, action: str, exc: Exception, began: float) -> GitFailure:
        hint = None
        text = str(exc)
        if "timed out" not in text.lower() and time.monotonic() - began >= 0.9 * self.timeout:
            # a read cut short by the timeout is not always reported as one ("could not read
            # refs"): the clock says what happened
            text = f"timed out ({text})"
        if "timed out" in text.lower():
            hint = (
                f"the hub did not answer within {self.timeout:g}s; check it, or raise `timeout`"
                " in _AGENTS/config.yaml (or GIT_SESSIONS_TIMEOUT)"
            )
        return GitFailure(f"{action}: {text}", hint=hint)

    @contextlib.contextmanager
    def _network(self, action: str) -> Iterator[None]:
        began = time.monotonic()
        try:
            yield
        except (pygit2.GitError, OSError) as exc:
            raise self._network_error(action, exc, began) from exc

    def list_heads(self, remote: str) -> dict[str, str]:
        """The hub's refs/heads/* -> commit, from one fresh connection (a cheap ref check)."""
        with self._network(f"listing refs on {remote}"):
            fresh = self.repo.remotes[remote]  # a fresh object: reused ones return stale heads
            heads = fresh.list_heads(callbacks=Callbacks())
            return {str(h.name): str(h.oid) for h in heads if str(h.name).startswith("refs/heads/")}

    def push(self, remote: str, commit: str, ref: str, *, force: bool = False) -> bool:
        """Push `commit` to `ref`; True only if the hub reported that ref as updated."""
        callbacks = Callbacks()
        spec = f"{'+' if force else ''}{commit}:{ref}"
        began = time.monotonic()
        try:
            self.repo.remotes[remote].push([spec], callbacks=callbacks)
        except pygit2.GitError as exc:
            if LOST_RACE.search(str(exc)):
                return False
            raise self._network_error(f"pushing to {remote}", exc, began) from exc
        except OSError as exc:
            raise self._network_error(f"pushing to {remote}", exc, began) from exc
        return ref in callbacks.statuses and callbacks.statuses[ref] is None

    def delete_remote_branch(self, remote: str, ref: str) -> bool:
        callbacks = Callbacks()
        with self._network(f"deleting {ref} on {remote}"):
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
        worktree stays clean and other staged or unstaged work is left as it was.

        The branch moves only from the tip the commit was built on: a `git commit` that lands
        in between (git does not take our lock) makes us rebuild on top of it, never drop it.
        """
        ref = f"refs/heads/{branch}"
        edits = tuple(Write(path, data) for path, data in files.items())
        for attempt in range(REF_RETRIES):
            _pause(attempt)
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
            _pause(attempt)
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
            if _ref_contention(exc):
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
            return _porcelain_paths(out)
        skip = {pygit2.enums.FileStatus.IGNORED}
        if not untracked:
            skip.add(pygit2.enums.FileStatus.WT_NEW)
        with git_errors(f"reading status of {path}"):
            repo = pygit2.Repository(str(path))
            return sorted(p for p, flags in repo.status().items() if flags not in skip)


def set_network_timeout(seconds: float) -> None:
    """libgit2's connect and per-read timeouts, for every transport (git://, http(s), ssh)."""
    millis = max(1, int(seconds * 1000))
    pygit2.settings.server_connect_timeout = millis
    pygit2.settings.server_timeout = millis


def _pause(attempt: int) -> None:
    """A short random wait before retrying a contended ref (none before the first try)."""
    if attempt:
        time.sleep(random.uniform(0.002, 0.02))


def _ref_contention(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "does not match" in text or "reference changed" in text


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
