"""The only module that talks to git. Everything it returns is ours: str oids, bytes, dataclasses.

Two kinds of hub hold the shared main (DESIGN.md section 2):
- `LocalHub`, a bare repository on this filesystem. Commits are built inside it and main is moved
  with a compare-and-swap ref update (libgit2's `create_matching`). We never push to it with
  libgit2: its local transport force-writes the ref and loses racing updates.
- `RemoteHub`, anything behind git://, http(s):// or ssh://. Commits are built in the local
  repository and pushed without force; receive-pack checks the old value under its lock, and the
  verdict per ref arrives only through `push_update_reference`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2
from filelock import FileLock

from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.errors import BadInput, GitFailure

_BLOB = pygit2.GIT_FILEMODE_BLOB
_EXEC = pygit2.GIT_FILEMODE_BLOB_EXECUTABLE
_TREE = pygit2.GIT_FILEMODE_TREE
_LOST_RACE = re.compile(r"non-fast-?forward|not present locally|fetch first", re.IGNORECASE)
_REMOTE_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[^/]+@[^/]+:", re.IGNORECASE)

# A tree entry: (oid, filemode), or None for "absent".
_Entry = tuple[pygit2.Oid, int] | None


@contextlib.contextmanager
def git_errors(action: str) -> Iterator[None]:
    """Translate pygit2's errors (GitError, and OSError for locks and mkdir) into GitFailure."""
    try:
        yield
    except (pygit2.GitError, OSError) as exc:
        raise GitFailure(f"{action}: {exc}") from exc


def is_local_url(url: str) -> bool:
    """True for a path or file:// URL, false for git://, http(s)://, ssh:// and user@host:path."""
    return url.startswith("file://") or not _REMOTE_URL.match(url)


def local_path(url: str, base: Path) -> Path:
    path = url.removeprefix("file://")
    return (base / path).resolve() if not os.path.isabs(path) else Path(path)


def init_bare(path: Path, branch: str) -> None:
    """Create a bare hub repository whose HEAD names `branch`."""
    if path.exists() and any(path.iterdir()):
        with git_errors(f"opening hub {path}"):
            pygit2.Repository(str(path))
        return
    with git_errors(f"creating hub {path}"):
        pygit2.init_repository(str(path), bare=True, initial_head=branch)


# --------------------------------------------------------------------------- reading


class Snapshot:
    """A read-only view of one commit's tree (or of nothing, when main does not exist yet)."""

    def __init__(self, repo: pygit2.Repository, commit: str | None) -> None:
        self._repo = repo
        self.commit = commit
        try:
            self._tree = repo[commit].peel(pygit2.Tree) if commit else None
        except KeyError:
            raise GitFailure(f"commit {commit} is not in the repository") from None

    def _object(self, path: str) -> pygit2.Object | None:
        if self._tree is None:
            return None
        try:
            return self._tree[path] if path else self._tree
        except KeyError:
            return None

    def read(self, path: str) -> bytes | None:
        obj = self._object(path)
        return obj.data if isinstance(obj, pygit2.Blob) else None

    def text(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else data.decode("utf-8", errors="replace")

    def object_id(self, path: str) -> str | None:
        obj = self._object(path)
        return None if obj is None else str(obj.id)

    def is_dir(self, path: str) -> bool:
        return isinstance(self._object(path), pygit2.Tree)

    def listdir(self, path: str) -> list[str]:
        """Names directly inside folder `path`; empty if it is absent or a file."""
        obj = self._object(path)
        return [e.name for e in obj if e.name] if isinstance(obj, pygit2.Tree) else []

    def files(self, path: str) -> Iterator[tuple[str, bytes]]:
        """(path, content) of every file under folder `path`, recursively."""
        obj = self._object(path)
        if not isinstance(obj, pygit2.Tree):
            return
        stack = [(path, obj)]
        while stack:
            prefix, tree = stack.pop()
            for entry in tree:
                child = f"{prefix}/{entry.name}" if prefix else str(entry.name)
                item = self._repo[entry.id]
                if isinstance(item, pygit2.Tree):
                    stack.append((child, item))
                elif isinstance(item, pygit2.Blob):
                    yield child, item.data

    def parent(self) -> Snapshot | None:
        """The snapshot of this commit's first parent (None at the root or for an empty main)."""
        if self.commit is None:
            return None
        parents = self._repo[self.commit].peel(pygit2.Commit).parent_ids
        return Snapshot(self._repo, str(parents[0])) if parents else None

    @property
    def message(self) -> str:
        return (
            "" if self.commit is None else str(self._repo[self.commit].peel(pygit2.Commit).message)
        )

    def changed_paths(self, other: Snapshot, path: str) -> list[str]:
        """Files under folder `path` that differ between `other` and this snapshot."""
        mine, theirs = self._object(path), other._object(path)
        if mine is not None and theirs is not None and mine.id == theirs.id:
            return []
        mine = mine if isinstance(mine, pygit2.Tree) else None
        theirs = theirs if isinstance(theirs, pygit2.Tree) else None
        if mine is None and theirs is None:
            return []
        if theirs is None:
            diff = mine.diff_to_tree(swap=True)  # type: ignore[union-attr]
        else:
            diff = theirs.diff_to_tree(mine) if mine is not None else theirs.diff_to_tree()
        deltas = list(diff.deltas)
        return sorted(
            {f"{path}/{d.new_file.path}" for d in deltas}
            | {f"{path}/{d.old_file.path}" for d in deltas}
        )

    def commit_info(self, commit: str) -> tuple[str, str, int]:
        """(author name, author email, author time) of `commit`."""
        obj = self._repo[commit].peel(pygit2.Commit)
        return obj.author.name, obj.author.email, obj.author.time


# --------------------------------------------------------------------------- writing


def _flatten(
    repo: pygit2.Repository, base: pygit2.Tree | None, edits: Sequence[Edit]
) -> dict[str, _Entry]:
    """Turn edits into path -> entry (None = remove), in order; later edits win."""
    changes: dict[str, _Entry] = {}

    def lookup(path: str) -> _Entry:
        if path in changes:
            return changes[path]
        if base is None:
            return None
        try:
            entry = base[path]
        except KeyError:
            return None
        return entry.id, entry.filemode

    def put(path: str, entry: _Entry) -> None:
        for key in [k for k in changes if k.startswith(path + "/")]:
            del changes[key]
        changes[path] = entry

    for edit in edits:
        if isinstance(edit, Write):
            oid = repo.create_blob(edit.data)
            put(edit.path, (oid, _EXEC if edit.executable else _BLOB))
        elif isinstance(edit, Remove):
            put(edit.path, None)
        elif isinstance(edit, Move):
            entry = lookup(edit.src)
            if entry is None:
                raise GitFailure(f"cannot move {edit.src}: it does not exist")
            put(edit.src, None)
            put(edit.dst, entry)
    return changes


def _build(
    repo: pygit2.Repository, tree: pygit2.Tree | None, changes: dict[str, _Entry]
) -> pygit2.Oid | None:
    """Write `tree` with `changes` applied; None if the result is empty."""
    direct: dict[str, _Entry] = {}
    nested: dict[str, dict[str, _Entry]] = {}
    for path, entry in changes.items():
        head, sep, rest = path.partition("/")
        if sep:
            nested.setdefault(head, {})[rest] = entry
        else:
            direct[head] = entry
    builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    for name, entry in direct.items():
        if name in nested:
            continue
        if builder.get(name) is not None:
            builder.remove(name)
        if entry is not None:
            builder.insert(name, entry[0], entry[1])
    for name, sub_changes in nested.items():
        if name in direct:
            start = direct[name]
            obj = repo[start[0]] if start is not None and start[1] == _TREE else None
            sub = obj if isinstance(obj, pygit2.Tree) else None
        else:
            existing = builder.get(name)
            obj = repo[existing.id] if existing is not None and existing.filemode == _TREE else None
            sub = obj if isinstance(obj, pygit2.Tree) else None
        sub_id = _build(repo, sub, sub_changes)
        if builder.get(name) is not None:
            builder.remove(name)
        if sub_id is not None:
            builder.insert(name, sub_id, _TREE)
    if len(builder) == 0:
        return None
    return builder.write()


def _signature(who: Identity, when: int | None) -> pygit2.Signature:
    if when is None:
        return pygit2.Signature(who.name, who.email)
    return pygit2.Signature(who.name, who.email, when, 0)


def _write_commit(repo: pygit2.Repository, base: str | None, change: Change) -> str:
    base_tree = repo[base].peel(pygit2.Tree) if base else None
    tree_id = _build(repo, base_tree, _flatten(repo, base_tree, change.edits))
    if tree_id is None:
        tree_id = repo.TreeBuilder().write()
    sig = _signature(change.author, None)
    parents = [pygit2.Oid(hex=base)] if base else []
    return str(repo.create_commit(None, sig, sig, change.message, tree_id, parents))


# --------------------------------------------------------------------------- hubs


class LocalHub:
    """A bare hub on this filesystem: build commits inside it, move main by compare-and-swap."""

    def __init__(self, path: Path, branch: str) -> None:
        with git_errors(f"opening hub {path}"):
            self.repo = pygit2.Repository(str(path))
        self.path = path
        self.branch = branch
        self.ref = f"refs/heads/{branch}"

    def tip(self) -> str | None:
        """The current commit of main on the hub (None if main does not exist yet)."""
        with git_errors("reading the hub's main"):
            ref = self.repo.references.get(self.ref)
            return str(ref.target) if ref is not None else None

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.repo, commit)

    def commit(self, base: str | None, change: Change) -> str:
        with git_errors("building a commit on the hub"):
            return _write_commit(self.repo, base, change)

    def publish(self, base: str | None, new: str) -> bool:
        """Move main from `base` to `new` atomically; False if main moved first (a lost race)."""
        try:
            if base is None:
                self.repo.references.create(self.ref, new, force=False)
                return True
            ref = self.repo.lookup_reference(self.ref)
            if str(ref.target) != base:
                return False
            # set_target is create_matching against the value loaded above: it fails if the
            # ref moved in between, so a success here is a real compare-and-swap.
            ref.set_target(new, "git-sessions")
            return True
        except pygit2.AlreadyExistsError:
            return False
        except (pygit2.GitError, OSError) as exc:
            if "does not match" in str(exc):
                return False
            if "lock" in str(exc).lower():
                _refuse_stale_lock(self.path / f"{self.ref}.lock")
                return False  # another writer holds the ref for a moment: a lost race
            raise GitFailure(f"updating the hub's main: {exc}") from exc

    def delete_ref(self, ref: str) -> None:
        with git_errors(f"deleting {ref} on the hub"):
            found = self.repo.references.get(ref)
            if found is not None:
                found.delete()

    def heads(self) -> dict[str, str]:
        with git_errors("listing the hub's branches"):
            return {
                r: str(self.repo.references[r].target)
                for r in self.repo.references
                if r.startswith("refs/heads/")
            }


STALE_LOCK_SECONDS = 10.0


def _lock_age(lock: Path) -> float | None:
    try:
        return time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return None


def _refuse_stale_lock(lock: Path) -> None:
    """A ref lock is held for microseconds; one this old was left by a killed writer.

    On the shared hub we do not remove it ourselves (a wrong guess could let two writers
    interleave); we stop retrying and say what to do, as git does.
    """
    age = _lock_age(lock)
    if age is not None and age > STALE_LOCK_SECONDS:
        raise GitFailure(
            f"{lock} has been locked for {age:.0f}s",
            hint="a git process was killed while updating it; if none is running, delete the file",
        )


def clear_stale_lock(lock: Path) -> None:
    """Remove a stale ref lock in our own repository (callers hold the workspace lock)."""
    age = _lock_age(lock)
    if age is not None and age > STALE_LOCK_SECONDS:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


class _Callbacks(pygit2.RemoteCallbacks):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, str | None] = {}

    def push_update_reference(self, refname: str, message: str | None) -> None:
        self.statuses[refname] = message

    def certificate_check(self, certificate: Any, valid: bool, host: bytes) -> bool:
        # Trust only what the TLS/SSH layer verified (CA store, known_hosts).
        return valid

    def credentials(self, url: str, username_from_url: str | None, allowed: int) -> Any:
        if allowed & pygit2.enums.CredentialType.SSH_KEY:
            return pygit2.KeypairFromAgent(username_from_url or "git")
        raise pygit2.GitError(f"no credentials available for {url}")


class RemoteHub:
    """A hub behind a network transport: fetch to read, push without force to write."""

    def __init__(self, workspace: Workspace, remote: str, branch: str) -> None:
        self.ws = workspace
        self.remote = remote
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.tracking = f"refs/remotes/{remote}/{branch}"

    def tip(self) -> str | None:
        """Fetch main and return its commit (None if the hub has no main yet)."""
        with self.ws.lock():
            return self.ws.fetch(self.remote, self.branch)

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.ws.repo, commit)

    def commit(self, base: str | None, change: Change) -> str:
        with git_errors("building a commit"):
            return _write_commit(self.ws.repo, base, change)

    def publish(self, base: str | None, new: str) -> bool:
        """Push `new` to main without force; False if the hub rejected it as not a fast-forward."""
        del base  # the hub's receive-pack compares against its own current value
        ok = self.ws.push(self.remote, new, self.ref)
        if ok:
            with self.ws.lock():
                self.ws.set_ref(self.tracking, new)
        return ok

    def heads(self) -> dict[str, str]:
        return self.ws.list_heads(self.remote)


Hub = LocalHub | RemoteHub


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
                [f"+refs/heads/{branch}:{tracking}"], callbacks=_Callbacks()
            )
            ref = self.repo.references.get(tracking)
            return str(ref.target) if ref is not None else None

    def list_heads(self, remote: str) -> dict[str, str]:
        """The hub's refs/heads/* -> commit, from one fresh connection (a cheap ref check)."""
        with git_errors(f"listing refs on {remote}"):
            fresh = self.repo.remotes[remote]  # a fresh object: reused ones return stale heads
            heads = fresh.list_heads(callbacks=_Callbacks())
            return {str(h.name): str(h.oid) for h in heads if str(h.name).startswith("refs/heads/")}

    def push(self, remote: str, commit: str, ref: str, *, force: bool = False) -> bool:
        """Push `commit` to `ref`; True only if the hub reported that ref as updated."""
        callbacks = _Callbacks()
        spec = f"{'+' if force else ''}{commit}:{ref}"
        try:
            self.repo.remotes[remote].push([spec], callbacks=callbacks)
        except pygit2.GitError as exc:
            if _LOST_RACE.search(str(exc)):
                return False
            raise GitFailure(f"pushing to {remote}: {exc}") from exc
        except OSError as exc:
            raise GitFailure(f"pushing to {remote}: {exc}") from exc
        return ref in callbacks.statuses and callbacks.statuses[ref] is None

    def delete_remote_branch(self, remote: str, ref: str) -> bool:
        callbacks = _Callbacks()
        with git_errors(f"deleting {ref} on {remote}"):
            self.repo.remotes[remote].push([f":{ref}"], callbacks=callbacks)
        return callbacks.statuses.get(ref, "missing") is None

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

    def status_dirty(self, path: Path) -> list[str]:
        """Tracked files with uncommitted changes in the worktree at `path`."""
        with git_errors(f"reading status of {path}"):
            repo = pygit2.Repository(str(path))
            return sorted(
                p
                for p, flags in repo.status().items()
                if flags not in (pygit2.enums.FileStatus.WT_NEW, pygit2.enums.FileStatus.IGNORED)
            )


def _make_writable(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), 0o644)


def open_hub(workspace: Workspace, remote: str, branch: str) -> Hub:
    """The hub behind `remote`: a LocalHub for paths and file://, a RemoteHub otherwise."""
    url = workspace.remote_url(remote)
    if url is None:
        raise BadInput(
            f"this repository has no remote {remote!r}",
            hint=f"add one with: git remote add {remote} URL  (or: git sessions init --hub PATH)",
        )
    if is_local_url(url):
        path = local_path(url, workspace.root)
        if not path.exists():
            raise BadInput(f"the hub {path} (remote {remote}) does not exist")
        return LocalHub(path, branch)
    return RemoteHub(workspace, remote, branch)


def hub_head_branch(workspace: Workspace, remote: str) -> str | None:
    """The branch the hub's HEAD names, if it can be told without a network round trip."""
    url = workspace.remote_url(remote)
    if url is not None and is_local_url(url):
        path = local_path(url, workspace.root)
        with contextlib.suppress(pygit2.GitError, OSError):
            target = pygit2.Repository(str(path)).references["HEAD"].target
            if isinstance(target, str):
                return target.removeprefix("refs/heads/")
    tracked = workspace.repo.references.get(f"refs/remotes/{remote}/HEAD")
    if tracked is not None and isinstance(tracked.target, str):
        return tracked.target.removeprefix(f"refs/remotes/{remote}/")
    return None
