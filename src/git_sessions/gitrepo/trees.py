"""Trees written in memory: tree edits flattened, trees rebuilt, commits created."""

from __future__ import annotations

from collections.abc import Sequence

import pygit2

from git_sessions.edits import Change, Edit, Identity, Move, Remove, Write
from git_sessions.errors import GitFailure

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
