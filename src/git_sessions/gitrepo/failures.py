"""Where pygit2's failures become ours: GitFailure, or BadInput for paths git refuses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pygit2

from git_sessions.errors import BadInput, GitFailure


@contextlib.contextmanager
def git_errors(action: str) -> Iterator[None]:
    """Translate pygit2's errors (GitError, and OSError for locks and mkdir) into GitFailure."""
    try:
        yield
    except (pygit2.GitError, OSError) as exc:
        raise GitFailure(f"{action}: {exc}") from exc


@contextlib.contextmanager
def refused_paths() -> Iterator[None]:
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
