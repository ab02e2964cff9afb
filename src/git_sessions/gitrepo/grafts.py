"""Grafting one path of a tree onto another: how the coordination layout (docs/protocol.md,
"Layouts") joins main's code with the protocol folder of the coordination ref, and splits a
combined tree back into the two."""

from __future__ import annotations

import pygit2

from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.trees import _build


def _tree(repo: pygit2.Repository, rev: str | None) -> pygit2.Tree | None:
    """The tree of a commit or tree id (None: the empty tree)."""
    return repo[rev].peel(pygit2.Tree) if rev else None


def graft(repo: pygit2.Repository, into: str | None, path: str, source: str | None) -> str:
    """The tree of `into` (commit or tree id; None: empty) whose entry at `path` is replaced by
    the entry of `source` at `path` (removed when `source` has none there); its id."""
    with git_errors(f"grafting {path}"):
        found: tuple[pygit2.Oid, int] | None = None
        tree = _tree(repo, source)
        if tree is not None:
            try:
                entry = tree[path]
                found = (entry.id, entry.filemode)
            except KeyError:
                found = None
        built = _build(repo, _tree(repo, into), {path: found})
        return str(built if built is not None else repo.TreeBuilder().write())


def tree_id(repo: pygit2.Repository, rev: str) -> str:
    """The tree id of a commit (or of a tree)."""
    with git_errors("reading a tree"):
        return str(repo[rev].peel(pygit2.Tree).id)
