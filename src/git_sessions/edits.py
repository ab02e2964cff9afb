"""Tree edits as plain values: what a protocol commit changes, before git sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Write:
    """Create or replace the file at `path`."""

    path: str
    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class Remove:
    """Remove the file or folder at `path` (nothing if it is absent)."""

    path: str


@dataclass(frozen=True)
class Move:
    """Move the file or folder at `src` to `dst`, unchanged."""

    src: str
    dst: str


Edit = Write | Remove | Move


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True)
class Change:
    """One protocol commit: its edits, message and author."""

    edits: tuple[Edit, ...]
    message: str
    author: Identity
    start_tree: str | None = None  # build on this tree instead of the base commit's
    merged: tuple[str, ...] = ()  # extra parents after the base (a merge commit)
