"""Comparing trees for reviewers and the merge queue: per-file diffs, ahead/behind, exports."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pygit2

from git_sessions.gitrepo.failures import git_errors
from git_sessions.gitrepo.objects import Objects
from git_sessions.gitrepo.trees import _build

Keep = Callable[[str], bool]


@dataclass(frozen=True)
class FileDiff:
    path: str
    old_path: str
    status: str  # one letter as in `git diff --name-status`: A, D, M, R, T, C
    added: int
    deleted: int
    binary: bool
    text: str  # the `diff --git` section of this file


def _tree(objects: Objects, commit_or_tree: str | None) -> pygit2.Tree | None:
    if commit_or_tree is None:
        return None
    return objects.repo[commit_or_tree].peel(pygit2.Tree)


def _diff(objects: Objects, old: str | None, new: str) -> pygit2.Diff:
    new_tree = _tree(objects, new)
    assert new_tree is not None
    flags = pygit2.enums.DiffOption.SHOW_BINARY
    old_tree = _tree(objects, old)
    if old_tree is None:
        diff = new_tree.diff_to_tree(swap=True, flags=flags)
    else:
        diff = old_tree.diff_to_tree(new_tree, flags=flags)
    diff.find_similar()
    return diff


def _wanted(delta: pygit2.DiffDelta, keep: Keep | None) -> bool:
    return keep is None or keep(delta.new_file.path) or keep(delta.old_file.path)


def file_diffs(
    objects: Objects, old: str | None, new: str, keep: Keep | None = None
) -> list[FileDiff]:
    """The diff between two commits or trees, one entry per file (only paths `keep` accepts)."""
    found = []
    with git_errors("computing a diff"):
        for patch in _diff(objects, old, new):
            if patch is None or not _wanted(patch.delta, keep):
                continue
            delta = patch.delta
            _, added, deleted = patch.line_stats
            found.append(
                FileDiff(
                    delta.new_file.path,
                    delta.old_file.path,
                    delta.status_char(),
                    added,
                    deleted,
                    bool(delta.is_binary),
                    str(patch.text or ""),
                )
            )
    return found


def diff_text(objects: Objects, old: str | None, new: str, keep: Keep | None = None) -> str:
    """A `git diff --binary --full-index -M` patch restricted to the files `keep` accepts."""
    return "".join(f.text for f in file_diffs(objects, old, new, keep))


def ahead_behind(objects: Objects, tip: str, main: str) -> tuple[int, int]:
    """(commits on `tip` not on `main`, commits on `main` not on `tip`)."""
    with git_errors("counting commits"):
        ahead, behind = objects.repo.ahead_behind(tip, main)
        return int(ahead), int(behind)


def tree_without(objects: Objects, tree: str, paths: Iterable[str]) -> str:
    """The id of `tree` with `paths` removed (written to the object store, not committed)."""
    with git_errors("writing a tree"):
        base = objects.repo[tree].peel(pygit2.Tree)
        built = _build(objects.repo, base, dict.fromkeys(paths))
        return str(built) if built is not None else str(objects.repo.TreeBuilder().write())


def tree_of(objects: Objects, commit: str) -> str:
    with git_errors(f"reading commit {commit[:10]}"):
        return str(objects.repo[commit].peel(pygit2.Tree).id)


def export_tree(objects: Objects, tree: str, directory: Path) -> None:
    """Write the files of `tree` into the empty folder `directory` (no .git, no index)."""
    strategy = pygit2.enums.CheckoutStrategy
    with git_errors(f"writing {tree[:10]} into {directory}"):
        objects.repo.checkout_tree(  # type: ignore[no-untyped-call]
            objects.repo[tree].peel(pygit2.Tree),
            strategy=strategy.FORCE | strategy.DONT_UPDATE_INDEX | strategy.RECREATE_MISSING,
            directory=str(directory),
        )


def merge_conflicts(
    objects: Objects, base: str | None, ours: str, theirs: str, union: Iterable[str] = ()
) -> tuple[str, ...]:
    """The paths a three-way merge of two commits would conflict in (no tree is written, which
    is most of a merge's cost); conflicts only in `union` paths (append-only logs) do not count."""
    if base is not None and not _overlap(
        objects.changed_files(base, ours), objects.changed_files(base, theirs)
    ):
        return ()  # the sides touch different paths: nothing can conflict, skip the merge
    with git_errors("merging"):
        repo = objects.repo
        ancestor = repo[base or repo.TreeBuilder().write()].peel(pygit2.Tree)
        index = repo.merge_trees(
            ancestor, repo[ours].peel(pygit2.Tree), repo[theirs].peel(pygit2.Tree)
        )
        if index.conflicts is None:
            return ()
        paths = {e.path for triple in index.conflicts for e in triple if e is not None}
        return () if paths <= set(union) else tuple(sorted(paths))


def _overlap(ours: Iterable[str], theirs: Iterable[str]) -> bool:
    """Whether two sets of changed paths meet: the same path, or a file where the other side
    has a folder."""

    def closure(paths: Iterable[str]) -> set[str]:
        found = set()
        for path in paths:
            parts = path.split("/")
            found |= {"/".join(parts[:n]) for n in range(1, len(parts) + 1)}
        return found

    mine = set(ours)
    return bool(closure(mine) & set(theirs)) or bool(mine & closure(theirs))
