"""Talking to remotes: callbacks that verify every ref's verdict, and stale ref locks."""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Any

import pygit2

from git_sessions.errors import GitFailure

LOST_RACE = re.compile(r"non-fast-?forward|not present locally|fetch first", re.IGNORECASE)

STALE_LOCK_SECONDS = 10.0


def _lock_age(lock: Path) -> float | None:
    try:
        return time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return None


def refuse_stale_lock(lock: Path) -> None:
    """A ref lock is held for microseconds; one this old was left by a killed writer.

    On the shared hub we do not remove it ourselves (a wrong guess could let two writers
    interleave); we stop retrying and say what to do, as git does.
    """
    age = _lock_age(lock)
    if age is not None and age > STALE_LOCK_SECONDS:
        raise GitFailure(
            f"{lock} has been locked for {age:.0f}s",
            hint="a git process was killed while updating it; if none is running, delete the file",
        )


def clear_stale_lock(lock: Path) -> None:
    """Remove a stale ref lock in our own repository (callers hold the workspace lock)."""
    age = _lock_age(lock)
    if age is not None and age > STALE_LOCK_SECONDS:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


class Callbacks(pygit2.RemoteCallbacks):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, str | None] = {}

    def push_update_reference(self, refname: str, message: str | None) -> None:
        self.statuses[refname] = message

    def certificate_check(self, certificate: Any, valid: bool, host: bytes) -> bool:
        # Trust only what the TLS/SSH layer verified (CA store, known_hosts).
        return valid

    def credentials(self, url: str, username_from_url: str | None, allowed: int) -> Any:
        if allowed & pygit2.enums.CredentialType.SSH_KEY:
            return pygit2.KeypairFromAgent(username_from_url or "git")
        raise pygit2.GitError(f"no credentials available for {url}")
