"""Tree entries on main that no file operation may meet: what `claim` refuses, `check` reports.

A session folder is checked out into a worktree and its files are read, written and chmod-ed
there. A symlink would redirect those operations, a gitlink (submodule entry) or a `.git` entry
breaks or subverts the checkout, and names with control characters or `..` confuse every tool
that prints or joins them. None of them belongs inside `_AGENTS/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from git_sessions.protocol import AGENTS, KNOWLEDGE, LOCK_FILE, SESSIONS, STATES, TEMPLATES_DIR
from git_sessions.sessionenv import has_control


class Tree(Protocol):
    """What the scan needs from a snapshot (gitrepo.Snapshot provides it)."""

    def kinds(self, path: str) -> Iterator[tuple[str, str]]: ...


def name_problem(name: str) -> str | None:
    """Why `name` may not appear in `_AGENTS/`, or None."""
    folded = name.lower().rstrip(". ")
    if folded == ".git" or folded.startswith("git~"):  # also what NTFS/HFS+ treat as .git
        return "is a .git entry"
    if name in (".", "..") or "\\" in name or has_control(name):
        return "has a special name"
    return None


def kind_of(tree: Tree, path: str) -> str | None:
    """file, folder, symlink, gitlink, other; None if `path` is absent."""
    for _, kind in tree.kinds(path):
        return kind
    return None


def scan(tree: Tree, path: str) -> list[str]:
    """Every entry under `path` that is not a plain file or folder with a plain name."""
    found = []
    for where, kind in tree.kinds(path):
        problem = name_problem(where.rsplit("/", 1)[-1])
        if problem:
            found.append(f"{where!r} {problem}")
        elif kind not in ("file", "folder"):
            found.append(f"{where} is a {kind}")
    return found


def layout(tree: Tree) -> list[str]:
    """The protocol's own folders and lock file must be what they say they are."""
    found = []
    folders = (AGENTS, SESSIONS, TEMPLATES_DIR, KNOWLEDGE, *(f"{SESSIONS}/{s}" for s in STATES))
    for path in folders:
        kind = kind_of(tree, path)
        if kind not in (None, "folder"):
            found.append(f"{path} is a {kind}, not a folder")
    kind = kind_of(tree, LOCK_FILE)
    if kind not in (None, "file"):
        found.append(f"{LOCK_FILE} is a {kind}, not a file")
    return found


def for_claim(tree: Tree, state: str, slug: str) -> list[str]:
    """What would make claiming `slug` unsafe: checked before the claim is published."""
    return [
        *layout(tree),
        *scan(tree, f"{SESSIONS}/{state}/{slug}"),
        *scan(tree, TEMPLATES_DIR),
        *scan(tree, f"{KNOWLEDGE}/sessions/{slug}"),
    ]


def everywhere(tree: Tree) -> list[str]:
    """Every hazard in `_AGENTS/` (for `check`)."""
    return [*layout(tree), *scan(tree, AGENTS)]
