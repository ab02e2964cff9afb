"""Git objects in memory: snapshots to read, commits built from tree edits, merges, patches."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import pygit2

from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.errors import BadInput, GitFailure

_BLOB = pygit2.GIT_FILEMODE_BLOB
_EXEC = pygit2.GIT_FILEMODE_BLOB_EXECUTABLE
_TREE = pygit2.GIT_FILEMODE_TREE
_Entry = tuple[pygit2.Oid, int] | None
_KINDS = {
    _BLOB: "file",
    _EXEC: "file",
    _TREE: "folder",
    pygit2.GIT_FILEMODE_LINK: "symlink",
    pygit2.GIT_FILEMODE_COMMIT: "gitlink",
}


@contextlib.contextmanager
def git_errors(action: str) -> Iterator[None]:
    """Translate pygit2's errors (GitError, and OSError for locks and mkdir) into GitFailure."""
    try:
        yield
    except (pygit2.GitError, OSError) as exc:
        raise GitFailure(f"{action}: {exc}") from exc


@contextlib.contextmanager
def _refused_paths() -> Iterator[None]:
    """libgit2 refuses trees holding `.git` or `..` entries: bad input on main, not a git
    failure (anyone can push one with plain git)."""
    try:
        yield
    except pygit2.GitError as exc:
        if "invalid path" not in str(exc):
            raise
        raise BadInput(
            f"main holds a path git refuses to use: {exc}",
            hint="remove it from main with plain git; see: git sessions check",
        ) from None


# --------------------------------------------------------------------------- reading


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

    def _object(self, path: str) -> pygit2.Object | None:
        if self._tree is None:
            return None
        try:
            return self._tree[path] if path else self._tree
        except KeyError:
            return None

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
        obj = self._repo[blob]
        return obj.data.decode("utf-8", errors="replace") if isinstance(obj, pygit2.Blob) else ""

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

    def at(self, commit: str) -> Snapshot:
        """The snapshot of another commit of this repository; GitFailure if there is none."""
        try:
            obj = self._repo.get(commit)
        except ValueError:
            obj = None
        if not isinstance(obj, pygit2.Commit):
            raise GitFailure(f"commit {commit} is not in the repository")
        return Snapshot(self._repo, commit)

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
        """The entry at `path` as the edits so far have left it."""
        entry: _Entry
        parts = path.split("/")
        for depth in range(len(parts), 0, -1):
            ancestor = "/".join(parts[:depth])
            if ancestor in changes:
                entry = changes[ancestor]
                if depth < len(parts):
                    entry = _child(repo, entry, "/".join(parts[depth:]))
                break
        else:
            entry = _child(repo, (base.id, _TREE) if base is not None else None, path)
        nested = {k[len(path) + 1 :]: v for k, v in changes.items() if k.startswith(path + "/")}
        if nested:
            sub = repo[entry[0]] if entry is not None and entry[1] == _TREE else None
            built = _build(repo, sub if isinstance(sub, pygit2.Tree) else None, nested)
            entry = (built, _TREE) if built is not None else None
        return entry

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


def _child(repo: pygit2.Repository, entry: _Entry, path: str) -> _Entry:
    """The entry at `path` inside tree `entry` (None if absent or `entry` is not a tree)."""
    if entry is None or entry[1] != _TREE:
        return None
    tree = repo[entry[0]]
    try:
        found = tree[path] if isinstance(tree, pygit2.Tree) else None
    except KeyError:
        return None
    return (found.id, found.filemode) if found is not None else None


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


def write_commit(repo: pygit2.Repository, base: str | None, change: Change) -> str:
    start = change.start_tree or base
    base_tree = repo[start].peel(pygit2.Tree) if start else None
    tree_id = _build(repo, base_tree, _flatten(repo, base_tree, change.edits))
    if tree_id is None:
        tree_id = repo.TreeBuilder().write()
    sig = _signature(change.author, None)
    parents = [pygit2.Oid(hex=c) for c in ([base] if base else []) + list(change.merged)]
    return str(repo.create_commit(None, sig, sig, change.message, tree_id, parents))


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parents: tuple[str, ...]
    author: Identity
    time: int
    offset: int  # minutes east of UTC
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class MergeResult:
    tree: str | None  # None when there are conflicts
    conflicts: tuple[str, ...]


class Objects:
    """Read and write git objects of one repository (a hub or the user's clone)."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo

    def snapshot(self, commit: str | None) -> Snapshot:
        return Snapshot(self.repo, commit)

    def snapshot_tree(self, tree: str) -> Snapshot:
        """A snapshot of a bare tree (a merge result not yet committed)."""
        return Snapshot(self.repo, None, tree)

    def has(self, commit: str) -> bool:
        return pygit2.Oid(hex=commit) in self.repo

    def linear_since(self, base: str, tip: str, *, limit: int = 10_000) -> bool:
        """Whether `tip` reaches `base` by first parents alone, through no merge commit
        (within `limit` steps): then nothing from elsewhere can be reachable in between."""
        with git_errors("walking history"):
            current = self.repo[tip].peel(pygit2.Commit)
            for _ in range(limit):
                if str(current.id) == base:
                    return True
                if len(current.parent_ids) != 1:
                    return False
                current = current.parents[0]
        return False

    def info(self, commit: str) -> CommitInfo:
        with git_errors(f"reading commit {commit[:10]}"):
            c = self.repo[commit].peel(pygit2.Commit)
            return CommitInfo(
                str(c.id),
                tuple(str(p) for p in c.parent_ids),
                Identity(c.author.name, c.author.email),
                c.author.time,
                c.author.offset,
                c.message,
            )

    def log(self, base: str | None, tip: str, *also_hide: str) -> list[CommitInfo]:
        """Commits reachable from `tip` but not from `base` (nor `also_hide`), oldest first."""
        with git_errors("walking history"):
            sort = pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE
            walker = self.repo.walk(tip, sort)
            for hidden in (base, *also_hide):
                if hidden is not None:
                    walker.hide(hidden)
            return [self.info(str(c.id)) for c in walker]

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        with git_errors("comparing history"):
            return ancestor == commit or bool(self.repo.descendant_of(commit, ancestor))

    def merge_base(self, a: str, b: str) -> str | None:
        with git_errors("finding a merge base"):
            found = self.repo.merge_base(a, b)
            return str(found) if found is not None else None

    def merge(
        self, base: str | None, ours: str, theirs: str, union: Collection[str] = ()
    ) -> MergeResult:
        """Three-way merge of commit trees in memory; the tree, or the conflicting paths.

        If every conflict is in `union` (append-only logs), both sides' lines are kept.
        """
        result = self._merge(base, ours, theirs, pygit2.enums.MergeFavor.NORMAL)
        if result.conflicts and set(result.conflicts) <= set(union):
            return self._merge(base, ours, theirs, pygit2.enums.MergeFavor.UNION)
        return result

    def _merge(
        self, base: str | None, ours: str, theirs: str, favor: pygit2.enums.MergeFavor
    ) -> MergeResult:
        with git_errors("merging"), _refused_paths():
            empty = self.repo.TreeBuilder().write()
            ancestor = self.repo[base].peel(pygit2.Tree) if base else empty
            index = self.repo.merge_trees(
                ancestor,
                self.repo[ours].peel(pygit2.Tree),
                self.repo[theirs].peel(pygit2.Tree),
                favor=favor,
            )
            if index.conflicts is not None:
                paths = {
                    entry.path
                    for triple in index.conflicts
                    for entry in triple
                    if entry is not None
                }
                return MergeResult(None, tuple(sorted(paths)))
            return MergeResult(str(index.write_tree(self.repo)), ())

    def write(self, base: str | None, change: Change) -> str:
        with git_errors("writing a commit"):
            return write_commit(self.repo, base, change)

    def diff_text(self, old: str | None, new: str) -> str:
        """A `git diff --binary --full-index -M` style patch between two commits' trees."""
        with git_errors("computing a diff"):
            new_tree = self.repo[new].peel(pygit2.Tree)
            flags = pygit2.enums.DiffOption.SHOW_BINARY
            if old is None:
                diff = new_tree.diff_to_tree(swap=True, flags=flags)
            else:
                diff = self.repo[old].peel(pygit2.Tree).diff_to_tree(new_tree, flags=flags)
            diff.find_similar()
            return str(diff.patch or "")

    def changed_files(self, old: str | None, new: str) -> list[str]:
        """Paths that differ between two commits (renames count as both paths)."""
        with git_errors("computing a diff"):
            new_tree = self.repo[new].peel(pygit2.Tree)
            if old is None:
                diff = new_tree.diff_to_tree(swap=True)
            else:
                diff = self.repo[old].peel(pygit2.Tree).diff_to_tree(new_tree)
            paths = {d.new_file.path for d in diff.deltas} | {d.old_file.path for d in diff.deltas}
            return sorted(paths)
