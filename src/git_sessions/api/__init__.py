"""The Python API of git-sessions: the operations the CLI and the MCP server are built on.

    from git_sessions import api

    repo = api.open_repository("/path/to/clone", agent="bot-1", email="bot-1@example.com")
    claimed = repo.claim(capabilities=["python"])      # the best claimable session
    repo.log(claimed.slug, "read the code")
    repo.complete(claimed.slug)

See docs/api.md. Results are frozen dataclasses; failures raise `git_sessions.errors.Error`
subclasses (`BadInput`, `Conflict`, `GitFailure`), each with `code`, `exit_code` and `hint`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
from git_sessions.errors import BadInput, Conflict, Error, GitFailure

if TYPE_CHECKING:
    from git_sessions.abandoning import Abandonment
    from git_sessions.catalog import Session
    from git_sessions.check import Violation
    from git_sessions.claiming import Claim
    from git_sessions.endings import Completion
    from git_sessions.journal import Entry, Recorded
    from git_sessions.leases import Reaped, Renewal
    from git_sessions.queue import Candidate
    from git_sessions.releasing import Release
    from git_sessions.scaffold import InitResult
    from git_sessions.search import Hit
    from git_sessions.status import Status
    from git_sessions.tracing import Trace

# the core's result types, imported on first use so that `import git_sessions.api` stays cheap
_LAZY = {
    "Session": "git_sessions.catalog",
    "Violation": "git_sessions.check",
    "Claim": "git_sessions.claiming",
    "Release": "git_sessions.releasing",
    "Abandonment": "git_sessions.abandoning",
    "Completion": "git_sessions.endings",
    "Entry": "git_sessions.journal",
    "Recorded": "git_sessions.journal",
    "Renewal": "git_sessions.leases",
    "Candidate": "git_sessions.queue",
    "Hit": "git_sessions.search",
    "Status": "git_sessions.status",
    "Trace": "git_sessions.tracing",
    "Reaped": "git_sessions.leases",
    "InitResult": "git_sessions.scaffold",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    "InitResult",
    "Moved",
    "Queue",
    "Reaped",
    "Recorded",
    "Release",
    "Renewal",
    "Repository",
    "Session",
    "SessionDetail",
    "SessionList",
    "Status",
    "Trace",
    "Violation",
    "open_repository",
]
