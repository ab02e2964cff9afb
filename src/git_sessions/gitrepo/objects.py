"""Git objects of one repository: commit info, history walks, in-memory merges, patches."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pygit2

from git_sessions.edits import Change, Identity
from git_sessions.gitrepo.failures import git_errors, refused_paths
from git_sessions.gitrepo.grafts import graft, tree_id
from git_sessions.gitrepo.snapshots import Snapshot
from git_sessions.gitrepo.trees import write_commit


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

    def committer(self, commit: str) -> Identity:
        """The committer of `commit` (the author is in `info`)."""
        with git_errors(f"reading commit {commit[:10]}"):
            c = self.repo[commit].peel(pygit2.Commit)
            return Identity(c.committer.name, c.committer.email)

    def steps(self, old: str, new: str, *, limit: int) -> list[str] | None:
        """The commits by which a ref moved from `old` to `new`, oldest first: `new`'s first
        parents down to `old`, stopping early at the first one that does not contain `old`
        (a merge brought `old` in through another parent). None past `limit` commits."""
        found: list[str] = []
        with git_errors("walking history"):
            current = self.repo[new].peel(pygit2.Commit)
            while str(current.id) != old:
                if not self.repo.descendant_of(current.id, old):
                    break
                if len(found) == limit:
                    return None
                found.append(str(current.id))
                if not current.parent_ids:
                    break
                current = current.parents[0]
        return found[::-1]

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
        with git_errors("merging"), refused_paths():
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

    def graft(self, into: str | None, path: str, source: str | None) -> str:
        """`into`'s tree with its `path` taken from `source` (see grafts); a tree id."""
        return graft(self.repo, into, path, source)

    def tree(self, rev: str) -> str:
        """The tree id of a commit."""
        return tree_id(self.repo, rev)

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

    def patch_id(self, old: str | None, new: str) -> str:
        """The patch id of the change from commit `old` to `new` (as `git patch-id`: line
        numbers do not count), to recognise a change re-applied elsewhere."""
        with git_errors("computing a patch id"):
            new_tree = self.repo[new].peel(pygit2.Tree)
            if old is None:
                diff = new_tree.diff_to_tree(swap=True)
            else:
                diff = self.repo[old].peel(pygit2.Tree).diff_to_tree(new_tree)
            return str(diff.patchid)

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
