"""Snapshots: read-only views of one commit's (or one bare) tree."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pygit2

from git_sessions.errors import GitFailure
from git_sessions.gitrepo.trees import _BLOB, _EXEC, _KINDS, _TREE

_BLOB_TYPE = int(pygit2.enums.ObjectType.BLOB)


class Snapshot:
    """A read-only view of one commit's tree (or of nothing, when main does not exist yet)."""

    def __init__(
        self, repo: pygit2.Repository, commit: str | None, tree: str | None = None
    ) -> None:
        self._repo = repo
        self.commit = commit
        try:
            start = tree or commit
            self._tree = repo[start].peel(pygit2.Tree) if start else None
        except KeyError:
            raise GitFailure(f"object {tree or commit} is not in the repository") from None
        self._folders: dict[str, pygit2.Tree | None] = {}

    def _object(self, path: str) -> pygit2.Object | None:
        if self._tree is None:
            return None
        head, _, name = path.rpartition("/")
        if not path or not name or "//" in path or path.startswith("/"):
            try:  # libgit2's own reading of odd paths ("a/" is a)
                return self._tree[path] if path else self._tree
            except KeyError:
                return None
        folder = self._folder(head) if head else self._tree
        if folder is None:
            return None
        try:
            return folder[name]
        except KeyError:
            return None

    def _folder(self, path: str) -> pygit2.Tree | None:
        """Folder `path` (None if absent or not a folder), parsed once per snapshot: libgit2
        does not cache trees over 4 KB, so a lookup from the root re-read every folder on
        the way, and a claim looks about 50 paths up, four of them through `completed/`
        (0.5 ms each at 5,000 archived sessions)."""
        if path in self._folders:
            return self._folders[path]
        head, _, name = path.rpartition("/")
        parent = self._folder(head) if head else self._tree
        found = None
        if parent is not None:
            try:
                obj = parent[name]
            except KeyError:
                obj = None
            found = obj if isinstance(obj, pygit2.Tree) else None
        self._folders[path] = found
        return found

    def read(self, path: str) -> bytes | None:
        """The content of regular file `path`; None if absent, a folder, a symlink or a gitlink
        (a symlink's blob is its target path, never content to use)."""
        obj = self._object(path)
        if not isinstance(obj, pygit2.Blob) or obj.filemode not in (_BLOB, _EXEC):
            return None
        return obj.data

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

    def folder_files(self, path: str, filename: str) -> dict[str, str]:
        """For each folder directly under `path`, the blob id of its `filename`, if any.

        One pass over the (possibly huge) folder: looking each path up from the root would
        parse that folder's tree again for every entry.
        """
        obj = self._object(path)
        if not isinstance(obj, pygit2.Tree):
            return {}
        found: dict[str, str] = {}
        for entry in obj:
            if isinstance(entry, pygit2.Tree) and entry.name:
                try:
                    plan = entry[filename]
                except KeyError:
                    continue
                if plan.filemode in (_BLOB, _EXEC):
                    found[entry.name] = str(plan.id)
        return found

    def folder_blobs(
        self, path: str, names: Sequence[str] | None = None
    ) -> dict[str, dict[str, str]]:
        """For each folder directly under `path`: its regular files' names -> blob ids (only
        those of `names`, if given), in one pass over `path` (search, check, list)."""
        obj = self._object(path)
        if not isinstance(obj, pygit2.Tree):
            return {}
        found: dict[str, dict[str, str]] = {}
        for entry in obj:
            if not (isinstance(entry, pygit2.Tree) and entry.name):
                continue
            if names is None:
                items = [e for e in entry if e.name]
            else:
                items = []
                for name in names:
                    try:
                        items.append(entry[name])
                    except KeyError:
                        continue
            found[str(entry.name)] = {
                str(e.name): str(e.id) for e in items if e.filemode in (_BLOB, _EXEC)
            }
        return found

    def blob_text(self, blob: str) -> str:
        # the object database directly: a third faster than repo[blob] (no object wrapper,
        # no prefix lookup), which a cold listing of 10,000 plans does 10,000 times
        kind, data = self._repo.odb.read(blob)
        return data.decode("utf-8", errors="replace") if kind == _BLOB_TYPE else ""

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
                if entry.filemode not in (_TREE, _BLOB, _EXEC):
                    continue  # symlinks and gitlinks are not files (a gitlink's commit is absent)
                item = self._repo[entry.id]
                if isinstance(item, pygit2.Tree):
                    stack.append((child, item))
                elif isinstance(item, pygit2.Blob):
                    yield child, item.data

    def kinds(self, path: str) -> Iterator[tuple[str, str]]:
        """(path, kind) of `path` and of everything under it, recursively; kind is one of
        file, folder, symlink, gitlink, other (nothing if `path` is absent)."""
        obj = self._object(path)
        if obj is None:
            return
        stack: list[tuple[str, int, pygit2.Oid]] = [(path, obj.filemode or _TREE, obj.id)]
        while stack:
            where, mode, oid = stack.pop()
            kind = _KINDS.get(mode, "other")
            yield where, kind
            if kind == "folder":
                tree = self._repo[oid]
                if isinstance(tree, pygit2.Tree):
                    prefix = f"{where}/" if where else ""
                    stack += [(f"{prefix}{e.name}", e.filemode, e.id) for e in tree if e.name]

    def paths_since(self, tree: str) -> list[str] | None:
        """Paths of the entries (folders too) that are new or changed since tree `tree`: the
        ones whose name and id were not both in `tree` at that place; None if `tree` is not a
        tree of this repository.

        A folder whose id did not change is skipped whole, so this costs the size of the
        folders that changed (a claim: the state folders it touches), not of the tree. (A
        libgit2 tree diff would read every folder on both sides, and lists no folders.)"""
        if self._tree is None:
            return None
        try:
            old = self._repo.get(tree)
        except ValueError:
            return None
        if not isinstance(old, pygit2.Tree):
            return None
        found: list[str] = []
        stack: list[tuple[str, pygit2.Tree | None, pygit2.Tree]] = [("", old, self._tree)]
        while stack:
            prefix, before, after = stack.pop()
            known = {e.name: e for e in before} if before is not None else {}
            for entry in after:
                name = entry.name
                was = known.get(name)
                if name is None or (was is not None and was.id == entry.id):
                    continue
                found.append(f"{prefix}{name}")
                if entry.filemode == _TREE:
                    sub = self._repo[entry.id]
                    prev = self._repo[was.id] if was is not None and was.filemode == _TREE else None
                    if isinstance(sub, pygit2.Tree):
                        stack.append((f"{prefix}{name}/", _tree_or_none(prev), sub))
        return found

    def at(self, commit: str) -> Snapshot:
        """The snapshot of another commit of this repository; GitFailure if there is none."""
        try:
            obj = self._repo.get(commit)
        except ValueError:
            obj = None
        if not isinstance(obj, pygit2.Commit):
            raise GitFailure(f"commit {commit} is not in the repository")
        return Snapshot(self._repo, commit)

    def holding_run(self, folder: str, name: str) -> tuple[str, str | None]:
        """Walking first parents from this commit, which has folder `folder/name`: (the oldest
        commit of the unbroken run that has it, that commit's parent; None at the root).

        One revwalk: about a third of the cost per commit of stepping with `parent()`, and
        `folder` is looked into only when its tree id changed (most commits leave it alone)."""
        assert self.commit is not None, "a run starts at a commit"
        walker = self._repo.walk(self.commit, pygit2.enums.SortMode.NONE)
        walker.simplify_first_parent()
        seen: dict[object, bool] = {}
        end = self.commit
        for n, commit in enumerate(walker):
            if n == 0:
                continue  # this commit: it holds the folder
            try:
                holder = commit.tree[folder]
            except KeyError:
                holder = None
            key = holder.id if holder is not None else None
            if key not in seen:
                seen[key] = isinstance(holder, pygit2.Tree) and _is_tree(holder, name)
            if not seen[key]:
                return end, str(commit.id)
            end = str(commit.id)
        return end, None

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


def _tree_or_none(obj: pygit2.Object | None) -> pygit2.Tree | None:
    return obj if isinstance(obj, pygit2.Tree) else None


def _is_tree(tree: pygit2.Tree, name: str) -> bool:
    try:
        return isinstance(tree[name], pygit2.Tree)
    except KeyError:
        return False
