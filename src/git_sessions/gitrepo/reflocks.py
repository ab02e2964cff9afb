"""Ref locks a killed writer left in a hub on this filesystem (`refs/heads/<b>.lock`).

git (and libgit2) update a ref by creating `<ref>.lock`, writing the new value into it and
renaming it over the ref: the lock lives for microseconds. A writer killed in between leaves
the file behind and git never removes it, so every later writer fails on it forever. A lock
older than STALE_SECONDS was left by a dead writer (a live one would have to stall that long
between two system calls).

Recovery must stay safe when several writers find the same stale lock at once, and when a
live writer takes the lock again the moment it is gone. So the lock is never unlinked by
name: it is renamed aside (atomic; of two recoverers only one succeeds), and the file that
was moved is checked to be the one judged stale (same inode, still old). If a fresh lock was
moved instead (a live writer re-created it between our look and the rename), it is put back
where it was, unless its writer has already re-created it.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

STALE_SECONDS = 10.0


@dataclass(frozen=True)
class StaleLock:
    path: Path
    age: float


def stale(lock: Path, *, now: float | None = None) -> StaleLock | None:
    """The lock, if it exists and is older than STALE_SECONDS."""
    try:
        info = lock.lstat()
    except FileNotFoundError:
        return None
    age = (time.time() if now is None else now) - info.st_mtime
    return StaleLock(lock, age) if age > STALE_SECONDS else None


def recover(lock: Path, *, now: float | None = None) -> bool:
    """Remove `lock` if it is stale; True if this call removed it."""
    clock = time.time() if now is None else now
    try:
        before = lock.lstat()
    except FileNotFoundError:
        return False
    if clock - before.st_mtime <= STALE_SECONDS:
        return False
    aside = lock.with_name(f"{lock.name}.stale-{uuid.uuid4().hex}")
    try:
        os.rename(lock, aside)
    except FileNotFoundError:
        return False  # another recoverer (or the writer itself) was first
    moved = aside.lstat()
    if moved.st_ino == before.st_ino and clock - moved.st_mtime > STALE_SECONDS:
        aside.unlink()
        return True
    # a live writer's fresh lock replaced the stale one under us: give it back
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.link(aside, lock)
    with contextlib.suppress(FileNotFoundError):
        aside.unlink()
    return False


def find_stale(refs: Path, *, now: float | None = None) -> list[StaleLock]:
    """Every stale `*.lock` under a hub's refs/ folder (and packed-refs.lock beside it)."""
    found = [s for s in [stale(refs.parent / "packed-refs.lock", now=now)] if s]
    for folder, _, names in os.walk(refs):
        for name in sorted(names):
            if name.endswith(".lock"):
                hit = stale(Path(folder) / name, now=now)
                if hit is not None:
                    found.append(hit)
    return found
