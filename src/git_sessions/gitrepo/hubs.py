"""Two kinds of hub hold the shared main (DESIGN.md section 2):
- `LocalHub`, a bare repository on this filesystem. Commits are built inside it and main is moved
  with a compare-and-swap ref update (libgit2's `create_matching`). We never push to it with
  libgit2: its local transport force-writes the ref and loses racing updates.
- `RemoteHub` (in `serverhub`), anything on a server (git://, http(s)://, ssh://, host:path).
  Commits are built in the local repository and pushed with git's own transport.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pygit2

from git_sessions import faults
from git_sessions.edits import Change
from git_sessions.errors import BadInput, GitFailure
from git_sessions.gitrepo import reflocks
from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.network import is_local_url
from git_sessions.gitrepo.objects import Objects
from git_sessions.gitrepo.refs import REF_RETRIES, pause
from git_sessions.gitrepo.serverhub import RemoteHub as RemoteHub
from git_sessions.gitrepo.snapshots import Snapshot
from git_sessions.gitrepo.trees import write_commit
from git_sessions.gitrepo.workspace import Workspace

_GITLINK = pygit2.GIT_FILEMODE_COMMIT


def local_path(url: str, base: Path) -> Path:
    path = url.removeprefix("file://")
    return (base / path).resolve() if not os.path.isabs(path) else Path(path)


def init_bare(path: Path, branch: str) -> None:
    """Create a bare hub repository whose HEAD names `branch` (or open an existing one), and
    make it refuse pushes that rewind a branch (receive.denyNonFastForwards): main only ever
    moves forward, whoever pushes."""
    if path.exists() and any(path.iterdir()):
        with git_errors(f"opening hub {path}"):
            repo = pygit2.Repository(str(path))
    else:
        with git_errors(f"creating hub {path}"):
            repo = pygit2.init_repository(str(path), bare=True, initial_head=branch)
    with git_errors(f"configuring hub {path}"):
        repo.config["receive.denyNonFastForwards"] = True


# The pre-receive hook `git sessions guard install` writes runs this; its presence is how a hub
# on this filesystem says it wants the guard (in-process writes never run the hub's hooks).
# Where push_branch stages objects on a local hub: one ref per push, deleted right after.
INCOMING = "refs/git-sessions/incoming/"
GUARD_HOOK = re.compile(r"^exec .*git-sessions\S* guard\s*$", re.MULTILINE)


def guard_hook_installed(path: Path) -> bool:
    """Whether the bare repository at `path` has the guard as its pre-receive hook."""
    try:
        text = (path / "hooks" / "pre-receive").read_text(errors="replace")
    except OSError:
        return False
    return GUARD_HOOK.search(text) is not None


# --------------------------------------------------------------------------- hubs


class LocalHub:
    """A bare hub on this filesystem: build commits inside it, move main by compare-and-swap.

    `guard`, the rule of `git sessions guard` (ref, old, new -> why it is refused, or None),
    judges every ref update made here before it happens, when the hub has the guard hook
    installed: writes made in-process never run the hub's hooks."""

    def __init__(
        self,
        path: Path,
        branch: str,
        workspace: Workspace | None = None,
        guard: Guard | None = None,
    ) -> None:
        with git_errors(f"opening hub {path}"):
            self.repo = pygit2.Repository(str(path))
        self.path = path
        self.ws = workspace
        self.branch = branch
        self.ref = f"refs/heads/{branch}"
        self.objects = Objects(self.repo)
        self.guard = guard if guard is not None and guard_hook_installed(path) else None

    def add_objects(self, folders: list[str]) -> None:
        """Read objects from these folders too (a pre-receive hook's quarantine)."""
        with git_errors("opening the incoming objects"):
            for folder in folders:
                self.repo.odb.add_disk_alternate(folder)

    def copy_commit(self, commit: str, *, limit: int = 64) -> bool:
        """Copy `commit` and what it names that the workspace lacks from the hub's objects
        into the workspace's: the few objects a claim adds, where a libgit2 fetch from the
        hub walked the whole tree of what both have (7 ms at 3,000 files, 29 ms at 20,000).

        Children are written before what names them, so, as after a fetch, an object the
        workspace has implies everything it names (which is why the walk stops at one). False,
        having written nothing, over `limit` objects or in a shallow clone: then fetch."""
        if self.ws is None or (self.ws.common_dir / "shallow").exists():
            return False
        into, source = self.ws.repo.odb, self.repo.odb
        found: dict[pygit2.Oid, tuple[int, bytes]] = {}
        order: list[pygit2.Oid] = []
        stack: list[tuple[pygit2.Oid, bool]] = [(pygit2.Oid(hex=commit), False)]
        with git_errors(f"copying {commit} from the hub"):
            while stack:
                oid, named = stack.pop()
                if named:
                    order.append(oid)
                    continue
                if oid in found or into.exists(oid):
                    continue
                if len(found) >= limit:
                    return False
                kind, data = source.read(oid)
                found[oid] = (kind, data)
                stack.append((oid, True))
                obj = self.repo[oid]
                if isinstance(obj, pygit2.Commit):
                    stack += [(obj.tree_id, False), *((p, False) for p in obj.parent_ids)]
                elif isinstance(obj, pygit2.Tree):
                    stack += [(e.id, False) for e in obj if e.filemode != _GITLINK]
            for oid in order:
                into.write(*found[oid])
        return True

    def head_branch(self) -> str | None:
        """The branch the hub's HEAD names."""
        with git_errors("reading the hub's HEAD"):
            target = self.repo.references["HEAD"].target
        return target.removeprefix("refs/heads/") if isinstance(target, str) else None

    def _judge(self, ref: str, old: str | None, new: str | None) -> None:
        if self.guard is None:
            return
        reason = self.guard(self, ref, old, new)
        if reason is not None:
            raise GitFailure(
                f"the hub refused the update of {ref}: {reason}",
                hint="the hub's guard (git sessions guard) holds every writer to the protocol",
            )

    def stale_locks(self) -> list[reflocks.StaleLock]:
        """Ref locks in the hub that a killed writer left behind."""
        return reflocks.find_stale(self.path / "refs")

    def tip(self) -> str | None:
        """The current commit of main on the hub (None if main does not exist yet)."""
        with git_errors("reading the hub's main"):
            ref = self.repo.references.get(self.ref)
            return str(ref.target) if ref is not None else None

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.repo, commit)

    def commit(self, base: str | None, change: Change) -> str:
        with git_errors("building a commit on the hub"):
            return write_commit(self.repo, base, change)

    def publish(self, base: str | None, new: str) -> bool:
        """Move main from `base` to `new` atomically; False if main moved first (a lost race)."""
        self._judge(self.ref, base, new)
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
                # another writer holds the ref for a moment (a lost race), or a killed one
                # left its lock: recovered safely, then retried like a lost race
                reflocks.recover(self.path / f"{self.ref}.lock")
                return False
            raise GitFailure(f"updating the hub's main: {exc}") from exc

    def publish_refs(self, updates: list[tuple[str, str | None, str]]) -> bool:
        """Move each `ref` from `old` (None: absent) to `new`, by compare-and-swap, one by one
        in the order given: libgit2 has no transaction across refs. Every old value is checked
        first; a ref that moved after an earlier one was published returns False with the
        earlier ones moved, so callers give the refs in an order whose partial result they
        repair by content on their next attempt (docs/protocol.md, "Layouts")."""
        with git_errors("reading the hub's refs"):
            for ref, old, _new in updates:
                found = self.repo.references.get(ref)
                if (str(found.target) if found is not None else None) != old:
                    return False
        for ref, old, new in updates:  # every update judged before any moves
            self._judge(ref, old, new)
        for number, (ref, old, new) in enumerate(updates):
            if number:
                faults.point("publish:between-refs")
            if not self._move(ref, old, new):
                return False
        return True

    def _move(self, ref: str, old: str | None, new: str) -> bool:
        try:
            if old is None:
                self.repo.references.create(ref, new, force=False)
                return True
            found = self.repo.lookup_reference(ref)
            if str(found.target) != old:
                return False
            found.set_target(new, "git-sessions")  # create_matching: a compare-and-swap
            return True
        except (pygit2.AlreadyExistsError, KeyError):
            return False
        except (pygit2.GitError, OSError) as exc:
            if "does not match" in str(exc):
                return False
            if "lock" in str(exc).lower():
                reflocks.recover(self.path / f"{ref}.lock")  # as in publish
                return False
            raise GitFailure(f"updating {ref} on the hub: {exc}") from exc

    def delete_ref(self, ref: str, expected: str | None = None) -> bool:
        """Delete `ref` on the hub (only while it points at `expected`, when given)."""
        with git_errors(f"deleting {ref} on the hub"):
            found = self.repo.references.get(ref)
            if found is None or (expected is not None and str(found.target) != expected):
                return False
            self._judge(ref, str(found.target), None)
            found.delete()  # libgit2 checks the loaded value under the ref's lock
            return True

    def push_branch(self, remote: str, ref: str, tip: str) -> bool:
        """Move the hub's `ref` to `tip` if that is a fast-forward; False if the hub's ref has
        commits `tip` lacks. The objects travel to a private staging ref first, because
        libgit2's push to a local path force-writes the target ref (DESIGN.md section 2)."""
        if not self.objects.has(tip):
            assert self.ws is not None, "pushing needs the workspace"
            staging = f"{INCOMING}{uuid.uuid4().hex}"
            for attempt in range(REF_RETRIES):
                try:
                    self.ws.push(remote, tip, staging, force=True)  # a ref no one else writes
                    break
                except GitFailure as exc:
                    # libgit2's local push lists every hub ref, then reads each: another
                    # writer's staging ref deleted in between fails the listing, not our push
                    if INCOMING not in str(exc) or attempt == REF_RETRIES - 1:
                        raise
                    pause(attempt + 1)
            self.delete_ref(staging)
        with git_errors(f"updating {ref} on the hub"):
            for _ in range(20):
                found = self.repo.references.get(ref)
                if found is None:
                    self._judge(ref, None, tip)
                    with contextlib.suppress(pygit2.AlreadyExistsError):
                        self.repo.references.create(ref, tip, force=False)
                        return True
                    continue
                old = str(found.target)
                if old == tip:
                    return True
                if not self.objects.is_ancestor(old, tip):
                    return False
                self._judge(ref, old, tip)
                try:
                    found.set_target(tip, "git-sessions: push")  # create_matching
                    return True
                except (pygit2.GitError, OSError) as exc:
                    if "does not match" not in str(exc) and "lock" not in str(exc).lower():
                        raise
                    reflocks.recover(self.path / f"{ref}.lock")  # if a killed writer left it
        return False

    def peek(self) -> str | None:
        """main's commit by the cheapest look (for a local hub, the same as tip)."""
        return self.tip()

    def branch_times(self, prefix: str) -> dict[str, int]:
        """Commit time of every hub branch under refs/heads/<prefix>."""
        with git_errors("reading the hub's branches"):
            return {
                ref: self.objects.info(oid).time
                for ref, oid in self.heads().items()
                if ref.startswith(f"refs/heads/{prefix}")
            }

    def heads(self) -> dict[str, str]:
        with git_errors("listing the hub's branches"):
            return {
                r: str(self.repo.references[r].target)
                for r in self.repo.references
                if r.startswith("refs/heads/")
            }


Hub = LocalHub | RemoteHub
Guard = Callable[[LocalHub, str, str | None, str | None], str | None]


def open_hub(workspace: Workspace, remote: str, branch: str, guard: Guard | None = None) -> Hub:
    """The hub behind `remote`: a LocalHub for paths and file:// (held to `guard` if it has
    the guard hook installed), a RemoteHub otherwise (its server runs its own hooks)."""
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
        return LocalHub(path, branch, workspace, guard)
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
