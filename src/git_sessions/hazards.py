"""Tree entries on main that no file operation may meet: what `claim` refuses, `check` reports.

A session folder is checked out into a worktree and its files are read, written and chmod-ed
there. A symlink would redirect those operations, a gitlink (submodule entry) or a `.git` entry
breaks or subverts the checkout, and names with control characters or `..` confuse every tool
that prints or joins them. None of them belongs inside `_AGENTS/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from git_sessions.protocol import AGENTS, KNOWLEDGE, LOCK_FILE, SESSIONS, STATES, TEMPLATES_DIR
from git_sessions.sessionenv import has_control


class Tree(Protocol):
    """What the scan needs from a snapshot (gitrepo.Snapshot provides it)."""

    def kinds(self, path: str) -> Iterator[tuple[str, str]]: ...

    def paths_since(self, tree: str) -> list[str] | None: ...


def name_problem(name: str) -> str | None:
    """Why `name` may not appear in `_AGENTS/`, or None."""
    problem = checkout_problem(name)  # also what NTFS/HFS+ would treat as .git
    if problem is None and has_control(name):
        return "has a control character in its name"
    return problem


def checkout_problem(name: str) -> str | None:
    """Why git would refuse to check out an entry called `name` anywhere in the tree."""
    folded = name.lower().rstrip(". ")
    if folded == ".git" or folded.startswith("git~"):
        return "is a .git entry"
    if name in (".", "..") or "\\" in name:
        return "has a name git refuses to check out"
    if len(name.encode("utf-8", "surrogateescape")) > 255:
        return "has a name too long for any filesystem to check out"
    return None


@dataclass(frozen=True)
class Scan:
    problems: list[str]
    looked_at: int  # entries whose names were checked


def checkout(tree: Tree, *, clean: str | None = None) -> list[str]:
    """Entries anywhere in the tree that would make every worktree checkout and every merge
    of main fail (a whole-tree scan: about 30 ms for 20,000 files).

    `clean`: the id of a tree of the same repository already found free of them (the main a
    previous claim checked); then only the entries new since then are looked at (a folder
    whose id is unchanged holds the same names), which costs what changed, and finds the same."""
    return checkout_scan(tree, clean=clean).problems


def checkout_scan(tree: Tree, *, clean: str | None = None) -> Scan:
    """`checkout`, and how many entries it looked at."""
    changed = tree.paths_since(clean) if clean is not None else None
    if changed is None:
        changed = [where for where, _ in tree.kinds("") if where]
    found = []
    for where in changed:
        problem = checkout_problem(where.rsplit("/", 1)[-1])
        if problem:
            found.append(f"{where!r} {problem}")
    return Scan(found, len(changed))


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


def in_session(tree: Tree, state: str, slug: str) -> list[str]:
    """Hazards in the session's own folder and its learnings folder."""
    return [*scan(tree, f"{SESSIONS}/{state}/{slug}"), *scan(tree, f"{KNOWLEDGE}/sessions/{slug}")]


def for_claim(tree: Tree, state: str, slug: str, *, clean: str | None = None) -> Scan:
    """What would make claiming `slug` unsafe: checked before the claim is published
    (`clean`: as for `checkout`; `looked_at` counts the entries of the checkout scan)."""
    whole = checkout_scan(tree, clean=clean)
    found = [*layout(tree), *in_session(tree, state, slug), *scan(tree, TEMPLATES_DIR)]
    return Scan([*found, *whole.problems], whole.looked_at)


def everywhere(tree: Tree) -> list[str]:
    """Every hazard in `_AGENTS/` (for `check`)."""
    inside = scan(tree, AGENTS)
    return [*layout(tree), *inside, *(p for p in checkout(tree) if p not in inside)]
