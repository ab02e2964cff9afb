"""Typed errors. Only the CLI catches them; each carries its exit code and an optional hint."""

from __future__ import annotations


class Error(Exception):
    exit_code = 70
    code = "bug"  # stable, machine-readable kind: JSON errors and the MCP server carry it

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInput(Error):
    """Bad input or an unmet precondition: unknown session, bad slug, dirty worktree."""

    exit_code = 1
    code = "bad_input"


class Conflict(Error):
    """Already claimed, illegal transition, merge conflict, race lost after retries."""

    exit_code = 3
    code = "conflict"


class GitFailure(Error):
    """Git or the remote failed."""

    exit_code = 4
    code = "git_failure"
