"""What the API returns beyond the core's own result types: small frozen values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only: importing the API stays cheap (see the CLI's start-up)
    from git_sessions.catalog import Session
    from git_sessions.check import Violation
    from git_sessions.claiming import Claim
    from git_sessions.drift import Drift
    from git_sessions.queue import Candidate


@dataclass(frozen=True)
class SessionList:
    """Sessions read from the hub's main at commit `main`."""

    main: str | None
    sessions: tuple[Session, ...]


@dataclass(frozen=True)
class SessionDetail:
    """One session with the text of its plan files (None: the file is missing)."""

    session: Session
    files: Mapping[str, str | None]
    main: str | None


@dataclass(frozen=True)
class Queue:
    """Planned sessions in claim order; `Candidate.reason` is None for claimable ones."""

    main: str | None
    entries: tuple[Candidate, ...]

    @property
    def claimable(self) -> tuple[Session, ...]:
        return tuple(c.session for c in self.entries if c.reason is None)


@dataclass(frozen=True)
class Moved:
    """A session created or moved between drafting and planned by one commit on main."""

    slug: str
    state: str
    commit: str
    parent: str | None = None


@dataclass(frozen=True)
class Claimed:
    """A claim, with the session's environment (the exports of its .session-env)."""

    claim: Claim
    environment: Mapping[str, str]

    @property
    def slug(self) -> str:
        return self.claim.slug

    @property
    def port(self) -> int | None:
        text = self.environment.get("SESSION_PORT", "")
        return int(text) if text.isdigit() and len(text) < 7 else None


@dataclass(frozen=True)
class DriftReport:
    """Plan against work: computed now for an active session (`drift` set), else the report
    stored when the session ended (`drift` None, `data` parsed from drift.md)."""

    slug: str
    drift: Drift | None
    data: Mapping[str, Any]
    text: str = ""  # a stored report's body, for humans


@dataclass(frozen=True)
class CheckReport:
    main: str | None
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        return not self.violations
