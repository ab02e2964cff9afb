"""The Python API of git-sessions: the operations the CLI and the MCP server are built on.

    from git_sessions import api

    repo = api.open_repository("/path/to/clone", agent="bot-1", email="bot-1@example.com")
    claimed = repo.claim(capabilities=["python"])      # the best claimable session
    repo.log(claimed.slug, "read the code")
    repo.complete(claimed.slug)

See docs/api.md. Results are frozen dataclasses; failures raise `git_sessions.errors.Error`
subclasses (`BadInput`, `Conflict`, `GitFailure`), each with `code`, `exit_code` and `hint`.
"""

from git_sessions.api.repository import Repository, open_repository
from git_sessions.api.results import (
    CheckReport,
    Claimed,
    DriftReport,
    Moved,
    Queue,
    SessionDetail,
    SessionList,
)
from git_sessions.catalog import Session
from git_sessions.check import Violation
from git_sessions.claiming import Claim, Release
from git_sessions.completing import Abandonment, Completion
from git_sessions.errors import BadInput, Conflict, Error, GitFailure
from git_sessions.journal import Entry, Recorded
from git_sessions.leases import Renewal
from git_sessions.queue import Candidate
from git_sessions.tracing import Hit

__all__ = [
    "Abandonment",
    "BadInput",
    "Candidate",
    "CheckReport",
    "Claim",
    "Claimed",
    "Completion",
    "Conflict",
    "DriftReport",
    "Entry",
    "Error",
    "GitFailure",
    "Hit",
    "Moved",
    "Queue",
    "Recorded",
    "Release",
    "Renewal",
    "Repository",
    "Session",
    "SessionDetail",
    "SessionList",
    "Violation",
    "open_repository",
]
