"""Which planned sessions an agent may claim, best first (pure over a snapshot)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from git_sessions import catalog
from git_sessions.catalog import Session, Tree


@dataclass(frozen=True)
class Candidate:
    session: Session
    reason: str | None  # None: claimable; otherwise why not


def order_key(session: Session) -> tuple[int, str, str]:
    """Highest priority first, then oldest (created date, then slug)."""
    return (-session.priority, session.created or session.slug[-10:], session.slug)


def candidates(
    tree: Tree, capabilities: Iterable[str], cache: dict[str, Any] | None = None
) -> list[Candidate]:
    """Every planned session in claim order, with the reason it is not claimable, if any."""
    have = set(capabilities)
    completed = set(catalog.session_names(tree, "completed"))
    result: list[Candidate] = []
    for session in sorted(catalog.all_sessions(tree, ("planned",), cache), key=order_key):
        reason = None
        blocked = [d for d in session.depends_on if d not in completed]
        missing = [c for c in session.capabilities if c not in have]
        if blocked:
            reason = f"blocked by {', '.join(blocked)}"
        elif missing:
            reason = f"needs capability {', '.join(missing)}"
        elif session.problems:
            reason = session.problems[0]
        result.append(Candidate(session, reason))
    return result


def claimable(
    tree: Tree, capabilities: Iterable[str], cache: dict[str, Any] | None = None
) -> list[Session]:
    return [c.session for c in candidates(tree, capabilities, cache) if c.reason is None]
